// asyncio's locks, following CPython's locks.py step by step.
#include <aiouv/locks.hpp>

#include <algorithm>
#include <string>

namespace aiouv {
namespace detail {

Future<void> WaiterQueue::enqueue(const char* owner) {
  // asyncio's _LoopBoundMixin: bind to the first loop that waits.
  EventLoop& running = get_running_loop();
  if (!loop_) loop_ = &running;
  if (loop_ != &running) throw RuntimeError(std::string("<") + owner + "> is bound to a different event loop");
  Future<void> waiter = loop_->create_future<void>();
  waiters_.push_back(waiter);
  return waiter;
}

void WaiterQueue::remove(const Future<void>& waiter) noexcept {
  auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
  if (it != waiters_.end()) waiters_.erase(it);
}

}  // namespace detail

// ---- Lock ----

Coro<bool> Lock::acquire() {
  auto& queue = waiters_.futures();
  if (!locked_ && std::all_of(queue.begin(), queue.end(), [](const Future<void>& w) { return w.cancelled(); })) {
    locked_ = true;
    co_return true;
  }
  Future<void> waiter = waiters_.enqueue("asyncio.locks.Lock");
  std::exception_ptr cancelled;
  try {
    co_await waiter;
  } catch (const CancelledError&) {
    cancelled = std::current_exception();
  }
  waiters_.remove(waiter);
  if (cancelled) {
    // Keep the invariant: if the lock is free and tasks wait, the first of
    // them runs (we may have been woken for it and then cancelled).
    if (!locked_) wake_up_first();
    std::rethrow_exception(cancelled);
  }
  locked_ = true;
  co_return true;
}

void Lock::release() {
  if (!locked_) throw RuntimeError("Lock is not acquired.");
  locked_ = false;
  wake_up_first();
}

void Lock::wake_up_first() {
  auto& queue = waiters_.futures();
  if (queue.empty()) return;
  Future<void>& first = queue.front();
  if (!first.done()) first.set_result();
}

Coro<Lock::Guard> Lock::scoped() {
  co_await acquire();
  co_return Guard(this);
}

// ---- Event ----

Coro<bool> Event::wait() {
  if (value_) co_return true;
  Future<void> waiter = waiters_.enqueue("asyncio.locks.Event");
  std::exception_ptr error;
  try {
    co_await waiter;
  } catch (...) {
    error = std::current_exception();
  }
  waiters_.remove(waiter);
  if (error) std::rethrow_exception(error);
  co_return true;
}

void Event::set() {
  if (value_) return;
  value_ = true;
  for (Future<void>& waiter : waiters_.futures()) {
    if (!waiter.done()) waiter.set_result();
  }
}

// ---- Semaphore ----

Semaphore::Semaphore(long value) : value_(value) {
  if (value < 0) throw std::invalid_argument("Semaphore initial value must be >= 0");
}

bool Semaphore::locked() const noexcept {
  const auto& queue = waiters_.futures();
  return value_ == 0 || std::any_of(queue.begin(), queue.end(), [](const Future<void>& w) { return !w.cancelled(); });
}

Coro<bool> Semaphore::acquire() {
  if (!locked()) {
    --value_;
    co_return true;
  }
  Future<void> waiter = waiters_.enqueue("asyncio.locks.Semaphore");
  std::exception_ptr cancelled;
  try {
    co_await waiter;
  } catch (const CancelledError&) {
    cancelled = std::current_exception();
  }
  waiters_.remove(waiter);
  if (cancelled && waiter.done() && !waiter.cancelled()) {
    // We were handed a slot but will not take it: give it back.
    ++value_;
  }
  // New waiters may have queued behind us (FIFO): wake as many as fit.
  while (value_ > 0) {
    if (!wake_up_next()) break;
  }
  if (cancelled) std::rethrow_exception(cancelled);
  co_return true;
}

void Semaphore::release() {
  ++value_;
  wake_up_next();
}

bool Semaphore::wake_up_next() {
  for (Future<void>& waiter : waiters_.futures()) {
    if (!waiter.done()) {
      --value_;
      waiter.set_result();
      return true;
    }
  }
  return false;
}

void BoundedSemaphore::release() {
  if (value_ >= bound_) throw std::invalid_argument("BoundedSemaphore released too many times");
  Semaphore::release();
}

}  // namespace aiouv
