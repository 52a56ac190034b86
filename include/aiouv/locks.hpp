#ifndef AIOUV_LOCKS_HPP_INCLUDED
#define AIOUV_LOCKS_HPP_INCLUDED

/// \file
/// asyncio's synchronisation primitives: Lock, Event, Condition, Semaphore,
/// BoundedSemaphore, Barrier. Not thread-safe: for tasks of one loop, as
/// asyncio's.
///
/// Each primitive binds to the running loop the first time a task has to
/// wait on it; using it from another loop afterwards is a RuntimeError.
/// Waiters are woken in FIFO order, and a waiter cancelled while waiting
/// leaves the queue without taking the resource or losing a wake-up meant
/// for someone else.

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>

#include <aiouv/events.hpp>
#include <aiouv/tasks.hpp>

namespace aiouv {

namespace detail {

/// The FIFO of futures tasks wait on, and the loop it is bound to.
class WaiterQueue {
 public:
  /// A new pending future at the back of the queue.
  Future<void> enqueue(const char* owner);
  /// Awaits `waiter` (from enqueue()), removes it from the queue whatever
  /// happens, and returns the CancelledError it got instead of throwing it,
  /// so that the primitive can fix its state before rethrowing.
  Coro<std::exception_ptr> wait(Future<void> waiter);
  /// Removes `waiter` (it finished or was cancelled); absent is fine.
  void remove(const Future<void>& waiter) noexcept;
  /// asyncio's _wakeup_next: pops waiters until one is still pending and
  /// wakes it; false if there was none.
  bool wake_next();
  /// Pops and wakes every waiter.
  void wake_all();
  /// True when nobody waits.
  bool empty() const noexcept { return waiters_.empty(); }
  std::deque<Future<void>>& futures() noexcept { return waiters_; }
  const std::deque<Future<void>>& futures() const noexcept { return waiters_; }

 private:
  EventLoop* loop_ = nullptr;
  std::deque<Future<void>> waiters_;
};

}  // namespace detail

namespace detail {

/// Releases what it holds (a Lock or a Semaphore slot) when destroyed.
template <class Resource>
class [[nodiscard]] ReleaseGuard {
 public:
  explicit ReleaseGuard(Resource* resource) noexcept : resource_(resource) {}
  ReleaseGuard(ReleaseGuard&& other) noexcept : resource_(std::exchange(other.resource_, nullptr)) {}
  ReleaseGuard& operator=(ReleaseGuard&&) = delete;
  ~ReleaseGuard() { release(); }
  /// Releases early; the destructor then does nothing.
  void release() {
    if (resource_) std::exchange(resource_, nullptr)->release();
  }
  /// Same as release(), the name a lock guard is expected to have.
  void unlock() { release(); }

 private:
  Resource* resource_;
};

}  // namespace detail

/// asyncio.Lock: a mutex for tasks. An uncontended acquire() completes
/// without a trip through the loop.
class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  /// Waits until the lock is free and takes it; returns true.
  Coro<bool> acquire();
  /// Frees the lock and wakes the first waiter. RuntimeError("Lock is not
  /// acquired.") if it is not held.
  void release();
  /// True while held.
  bool locked() const noexcept { return locked_; }

  /// Releases the lock when destroyed (`auto g = co_await lock.scoped();`).
  using Guard = detail::ReleaseGuard<Lock>;
  /// acquire(), then a Guard that releases.
  Coro<Guard> scoped();

 private:
  void wake_up_first();
  bool locked_ = false;
  detail::WaiterQueue waiters_;
};

/// asyncio.Event: a flag tasks can wait for.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /// Returns (true) once the flag is set; at once if it already is.
  Coro<bool> wait();
  /// Sets the flag and wakes every waiter.
  void set();
  /// Clears the flag; later wait() calls block again.
  void clear() noexcept { value_ = false; }
  /// The flag.
  bool is_set() const noexcept { return value_; }

 private:
  bool value_ = false;
  detail::WaiterQueue waiters_;
};

/// asyncio.Condition (3.13 semantics): tasks wait, with a lock held, until
/// notified. A waiter cancelled after it was notified passes the
/// notification on, so no wake-up is lost.
class Condition {
 public:
  /// Uses `lock` (not owned, must outlive the condition) or a lock of its own.
  explicit Condition(Lock* lock = nullptr);
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  /// The underlying lock's operations.
  Coro<bool> acquire() { return lock_->acquire(); }
  void release() { lock_->release(); }
  bool locked() const noexcept { return lock_->locked(); }
  /// acquire(), then a guard that releases (`async with cond:`).
  Coro<Lock::Guard> scoped() { return lock_->scoped(); }

  /// Releases the lock, waits for a notification, re-acquires the lock
  /// (even when cancelled) and returns true. RuntimeError("cannot wait on
  /// un-acquired lock") without the lock.
  Coro<bool> wait();
  /// Waits until `predicate()` is true and returns its value.
  template <class Predicate>
  Coro<bool> wait_for(Predicate predicate) {
    bool result = static_cast<bool>(predicate());
    while (!result) {
      co_await wait();
      result = static_cast<bool>(predicate());
    }
    co_return result;
  }
  /// Wakes up to `n` waiters (FIFO). RuntimeError("cannot notify on
  /// un-acquired lock") without the lock.
  void notify(std::size_t n = 1);
  /// Wakes every waiter.
  void notify_all() { notify(waiters_.futures().size()); }

 private:
  void wake(std::size_t n);
  std::unique_ptr<Lock> own_lock_;
  Lock* lock_;
  detail::WaiterQueue waiters_;
};

/// asyncio.Semaphore: a counter of available slots.
class Semaphore {
 public:
  /// std::invalid_argument("Semaphore initial value must be >= 0") if
  /// `value` is negative.
  explicit Semaphore(long value = 1);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  virtual ~Semaphore() = default;

  /// Takes a slot, waiting (FIFO) while none is free; returns true.
  Coro<bool> acquire();
  /// Gives a slot back and wakes the next waiter.
  virtual void release();
  /// True if acquire() would have to wait.
  bool locked() const noexcept;

  /// Gives the slot back when destroyed (`auto slot = co_await sem.scoped();`).
  using Guard = detail::ReleaseGuard<Semaphore>;
  /// acquire(), then a Guard that releases.
  Coro<Guard> scoped();

 protected:
  long value_;

 private:
  bool wake_up_next();
  detail::WaiterQueue waiters_;
};

/// asyncio.BoundedSemaphore: release() beyond the initial value is an
/// error (std::invalid_argument "BoundedSemaphore released too many times").
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(long value = 1) : Semaphore(value), bound_(value) {}
  void release() override;

 private:
  long bound_;
};

/// asyncio.Barrier: `parties` tasks wait until all have arrived, then all
/// go on; reusable. reset() and abort() break the waiters with
/// BrokenBarrierError.
class Barrier {
 public:
  /// std::invalid_argument("parties must be > 0") if parties < 1.
  explicit Barrier(std::size_t parties);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  /// Waits for the other parties; returns this task's arrival index
  /// (0 ... parties-1). BrokenBarrierError if the barrier is or becomes
  /// broken or reset.
  Coro<std::size_t> wait();
  /// Back to the empty state; tasks waiting now get BrokenBarrierError.
  Coro<void> reset();
  /// Breaks the barrier: current and future wait() calls fail.
  Coro<void> abort();

  /// The number of tasks that must arrive.
  std::size_t parties() const noexcept { return parties_; }
  /// Tasks waiting in the filling phase.
  std::size_t n_waiting() const noexcept { return state_ == State::filling ? count_ : 0; }
  /// True after abort().
  bool broken() const noexcept { return state_ == State::broken; }

 private:
  enum class State { filling, draining, resetting, broken };
  Coro<void> block();
  Coro<void> wait_for_release();
  void exit();

  Condition cond_;
  std::size_t parties_;
  std::size_t count_ = 0;
  State state_ = State::filling;
};

}  // namespace aiouv

#endif
