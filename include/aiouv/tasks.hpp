#ifndef AIOUV_TASKS_HPP_INCLUDED
#define AIOUV_TASKS_HPP_INCLUDED

/// \file
/// asyncio.Task, create_task, current_task, all_tasks and sleep.

#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <aiouv/coro.hpp>
#include <aiouv/events.hpp>
#include <aiouv/futures.hpp>

namespace aiouv {

namespace detail {

/// The methods Task adds to Future, shared by Task<T> and AnyTask.
template <class Derived>
class TaskMethods {
 public:
  /// The task's name: "Task-N" unless set.
  std::string get_name() const { return task_state().name(); }
  /// Renames the task.
  void set_name(std::string name) { task_state().set_name(std::move(name)); }
  /// The number of pending cancellation requests (asyncio 3.11+).
  std::uint32_t cancelling() const noexcept { return task_state().cancelling(); }
  /// Decrements the pending cancellation requests; returns the new count.
  std::uint32_t uncancel() noexcept { return task_state().uncancel(); }

 protected:
  TaskStateBase& task_state() const noexcept {
    return *static_cast<TaskStateBase*>(static_cast<const Derived*>(this)->state());
  }
};

}  // namespace detail

/// A type-erased Task: what current_task(), all_tasks() and task factories
/// hand out. Empty (false) where Python would give None.
///
/// `cancel(msg)` (from AnyFuture) requests that CancelledError be thrown into
/// the coroutine at its current `co_await`; a task cancelled before its first
/// step never runs its body. The coroutine may catch the error.
class AnyTask : public AnyFuture, public detail::TaskMethods<AnyTask> {
 public:
  AnyTask() noexcept = default;
  /// Adopts a task state (internal).
  explicit AnyTask(detail::TaskStateBase* state) noexcept : AnyFuture(state) {}
};

/// asyncio.Task: a Future<T> driven by a Coro<T>. Copyable handle; the task
/// stays alive until it finishes even if every handle is dropped, so
/// discarding one (fire and forget, or a TaskGroup child) is fine.
template <class T>
class Task : public Future<T>, public detail::TaskMethods<Task<T>> {
 public:
  Task() noexcept = default;
  /// Adopts a task state (internal); create tasks with create_task().
  explicit Task(detail::TaskStateBase* state) noexcept : Future<T>(state) {}

  /// The type-erased view of this task.
  operator AnyTask() const noexcept {  // NOLINT(google-explicit-constructor)
    return AnyTask(static_cast<detail::TaskStateBase*>(this->state()));
  }
};

/// The task running on `loop` (default: the running loop), or an empty
/// AnyTask. RuntimeError("no running event loop") without a loop.
AnyTask current_task(EventLoop* loop = nullptr);
/// The loop's tasks that are not done yet, oldest first (asyncio gives a set).
std::vector<AnyTask> all_tasks(EventLoop* loop = nullptr);

/// Schedules `coro` as a task on the running loop.
template <class T>
Task<T> create_task(Coro<T> coro) {
  return get_running_loop().create_task(std::move(coro));
}
/// As create_task(coro), named `name` ("Task-N" if empty).
template <class T>
Task<T> create_task(Coro<T> coro, std::string name) {
  return get_running_loop().create_task(std::move(coro), std::move(name));
}

namespace detail {

/// Converts any duration to Clock::duration, rounding up, saturating at
/// Clock::duration::max() and clamping negatives to zero.
template <class Rep, class Period>
Clock::duration saturating_delay(std::chrono::duration<Rep, Period> delay) noexcept {
  if (delay <= delay.zero()) return Clock::duration::zero();
  if (delay >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(Clock::duration::max())) {
    return Clock::duration::max();
  }
  return std::chrono::ceil<Clock::duration>(delay);
}

/// The awaitable behind sleep(): a timer that completes a future the task
/// waits on (asyncio's implementation), or one yield for a zero delay.
class SleepAwaiter {
 public:
  explicit SleepAwaiter(Clock::duration delay) noexcept : delay_(delay) {}
  SleepAwaiter(SleepAwaiter&& other) noexcept : delay_(other.delay_) {}  // only before suspending
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> awaiting) {
    suspend(*awaiting.promise().task, awaiting);
  }
  void await_resume();

 private:
  void suspend(TaskStateBase& task, std::coroutine_handle<> awaiting);

  Clock::duration delay_;
  TaskStateBase* task_ = nullptr;  // also set for a zero delay, which has no waiter
  Ref<FutureStateBase> future_;
  TimerHandle timer_;
  ScopedWaiter waiter_;
};

}  // namespace detail

/// Suspends the current task for `delay`. `sleep(0s)` yields exactly one
/// loop iteration; negative delays count as zero.
template <class Rep, class Period>
Coro<void> sleep(std::chrono::duration<Rep, Period> delay) {
  co_await detail::SleepAwaiter(detail::saturating_delay(delay));
}

/// As sleep(delay), then returns `value`.
template <class Rep, class Period, class T>
Coro<std::decay_t<T>> sleep(std::chrono::duration<Rep, Period> delay, T value) {
  co_await detail::SleepAwaiter(detail::saturating_delay(delay));
  co_return std::move(value);
}

// ---- EventLoop members that need Task and Coro ----

// The unnamed form is the hot one (fire-and-forget tasks, gather's
// children): with no name and no factory nothing else runs, so the common
// case neither builds a std::string nor spills the registers the other
// paths need.
template <class T>
Task<T> EventLoop::create_task(Coro<T> coro) {
  if (create_task_slow_ || !coro.has_frame()) [[unlikely]] return create_task_unusual(std::move(coro));
  auto* state = new detail::TaskState<T, typename Coro<T>::promise_type>(*this, coro.release_frame());
  // The handle before the queue's slow paths: the compiler folds its
  // reference into the constructor's stores.
  Task<T> task(state);
  state->start_soon();
  return task;
}

template <class T>
Task<T> EventLoop::create_task_unusual(Coro<T> coro) {
  return create_task(std::move(coro), std::string());
}

template <class T>
Task<T> EventLoop::create_task(Coro<T> coro, std::string name) {
  check_open();
  using Promise = typename Coro<T>::promise_type;
  if (!coro) throw RuntimeError("cannot reuse already awaited coroutine");
  auto* state = new detail::TaskState<T, Promise>(*this, coro.release());
  Task<T> task(state);
  try {
    if (!name.empty()) state->set_name(std::move(name));
    if (task_factory_) {
      AnyTask any = task;
      start_task(any);
    } else {
      state->start_soon();
    }
  } catch (...) {
    state->abandon();  // never started: our handle is the last reference
    throw;
  }
  return task;
}

template <class T>
T EventLoop::run_until_complete(Coro<T> coro) {
  check_open();
  if (running_) throw RuntimeError("This event loop is already running");
  Future<T> task = create_task(std::move(coro));
  return run_until_done(task, true);
}

template <class T>
T EventLoop::run_until_complete(Future<T> future) {
  check_open();
  if (&future.get_loop() != this) {
    throw std::invalid_argument("The future belongs to a different loop than the one specified as the loop argument");
  }
  return run_until_done(future, false);
}

template <class T>
T EventLoop::run_until_done(Future<T>& future, bool move_result) {
  if (running_) throw RuntimeError("This event loop is already running");
  const std::uint64_t stop_id = future.add_done_callback([this] { stop(); });
  struct RemoveCallback {
    Future<T>& future;
    std::uint64_t id;
    ~RemoveCallback() { future.remove_done_callback(id); }
  } remove_callback{future, stop_id};
  run_forever();
  if (!future.done()) throw RuntimeError("Event loop stopped before Future completed.");
  if constexpr (std::is_void_v<T>) {
    (void)move_result;
    future.result();
  } else if constexpr (std::is_copy_constructible_v<T>) {
    if (move_result) return std::move(future).result();
    return T(future.result());
  } else {
    (void)move_result;
    return std::move(future).result();
  }
}

}  // namespace aiouv

#include <aiouv/detail/gather_impl.hpp>
#include <aiouv/detail/outcome.hpp>
#include <aiouv/timeouts.hpp>
#include <aiouv/detail/wait_impl.hpp>
#include <aiouv/detail/loop_net_impl.hpp>
#include <aiouv/threads.hpp>
#include <aiouv/subprocess.hpp>

#endif
