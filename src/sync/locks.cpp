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

Coro<std::exception_ptr> WaiterQueue::wait(Future<void> waiter) {
  std::exception_ptr cancelled;
  try {
    co_await waiter;
  } catch (const CancelledError&) {
    cancelled = std::current_exception();
  }
  remove(waiter);
  co_return cancelled;
}

void WaiterQueue::remove(const Future<void>& waiter) noexcept {
  auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
  if (it != waiters_.end()) waiters_.erase(it);
}

bool WaiterQueue::wake_next() {
  while (!waiters_.empty()) {
    Future<void> waiter = std::move(waiters_.front());
    waiters_.pop_front();
    if (!waiter.done()) {
      waiter.set_result();
      return true;
    }
  }
  return false;
}

void WaiterQueue::wake_all() {
  while (!waiters_.empty()) {
    Future<void> waiter = std::move(waiters_.front());
    waiters_.pop_front();
    if (!waiter.done()) waiter.set_result();
  }
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
  if (std::exception_ptr cancelled = co_await waiters_.wait(waiter)) {
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
  if (std::exception_ptr cancelled = co_await waiters_.wait(waiters_.enqueue("asyncio.locks.Event"))) {
    std::rethrow_exception(cancelled);
  }
  co_return true;
}

void Event::set() {
  if (value_) return;
  value_ = true;
  for (Future<void>& waiter : waiters_.futures()) {
    if (!waiter.done()) waiter.set_result();
  }
}

// ---- Condition ----

Condition::Condition(Lock* lock) {
  if (!lock) {
    own_lock_ = std::make_unique<Lock>();
    lock = own_lock_.get();
  }
  lock_ = lock;
}

Coro<bool> Condition::wait() {
  if (!locked()) throw RuntimeError("cannot wait on un-acquired lock");
  release();
  std::exception_ptr error;
  Future<void> waiter;
  try {
    waiter = waiters_.enqueue("asyncio.locks.Condition");
    co_await waiter;
  } catch (...) {
    error = std::current_exception();
  }
  if (waiter) waiters_.remove(waiter);
  // The lock must be held again on the way out, even when cancelled; the
  // most recent cancellation is the one re-raised.
  for (;;) {
    try {
      co_await acquire();
      break;
    } catch (const CancelledError&) {
      error = std::current_exception();
    }
  }
  if (error) {
    // We may have been notified before the error: hand the notification to
    // another waiter (a spurious wake-up is allowed, a lost one is not).
    wake(1);
    std::rethrow_exception(error);
  }
  co_return true;
}

void Condition::notify(std::size_t n) {
  if (!locked()) throw RuntimeError("cannot notify on un-acquired lock");
  wake(n);
}

void Condition::wake(std::size_t n) {
  std::size_t woken = 0;
  for (Future<void>& waiter : waiters_.futures()) {
    if (woken >= n) break;
    if (!waiter.done()) {
      ++woken;
      waiter.set_result();
    }
  }
}

// ---- Barrier ----

Barrier::Barrier(std::size_t parties) : parties_(parties) {
  if (parties < 1) throw std::invalid_argument("parties must be > 0");
}

Coro<std::size_t> Barrier::wait() {
  auto guard = co_await cond_.scoped();
  co_await block();
  const std::size_t index = count_++;
  std::exception_ptr error;
  try {
    if (index + 1 == parties_) {
      state_ = State::draining;  // the last arrival releases everyone
      cond_.notify_all();
    } else {
      co_await wait_for_release();
    }
  } catch (...) {
    error = std::current_exception();
  }
  --count_;
  exit();
  if (error) std::rethrow_exception(error);
  co_return index;
}

Coro<void> Barrier::block() {
  // Wait while the barrier drains or resets.
  co_await cond_.wait_for([this] { return state_ != State::draining && state_ != State::resetting; });
  if (state_ == State::broken) throw BrokenBarrierError("Barrier aborted");
}

Coro<void> Barrier::wait_for_release() {
  co_await cond_.wait_for([this] { return state_ != State::filling; });
  if (state_ == State::broken || state_ == State::resetting) {
    throw BrokenBarrierError("Abort or reset of barrier");
  }
}

void Barrier::exit() {
  if (count_ == 0) {
    if (state_ == State::resetting || state_ == State::draining) state_ = State::filling;
    cond_.notify_all();
  }
}

Coro<void> Barrier::reset() {
  auto guard = co_await cond_.scoped();
  if (count_ > 0) {
    state_ = State::resetting;
  } else {
    state_ = State::filling;
  }
  cond_.notify_all();
}

Coro<void> Barrier::abort() {
  auto guard = co_await cond_.scoped();
  state_ = State::broken;
  cond_.notify_all();
}

// ---- Semaphore ----

Semaphore::Semaphore(long value) : value_(value) {
  if (value < 0) throw std::invalid_argument("Semaphore initial value must be >= 0");
}

bool Semaphore::locked() const noexcept {
  const auto& queue = waiters_.futures();
  return value_ == 0 || std::any_of(queue.begin(), queue.end(), [](const Future<void>& w) { return !w.cancelled(); });
}

Coro<Semaphore::Guard> Semaphore::scoped() {
  co_await acquire();
  co_return Guard(this);
}

Coro<bool> Semaphore::acquire() {
  if (!locked()) {
    --value_;
    co_return true;
  }
  Future<void> waiter = waiters_.enqueue("asyncio.locks.Semaphore");
  std::exception_ptr cancelled = co_await waiters_.wait(waiter);
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
