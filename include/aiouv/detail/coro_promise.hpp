#ifndef AIOUV_DETAIL_CORO_PROMISE_HPP_INCLUDED
#define AIOUV_DETAIL_CORO_PROMISE_HPP_INCLUDED

#include <coroutine>
#include <exception>
#include <utility>
#include <variant>

#include <aiouv/detail/frame_pool.hpp>

namespace aiouv::detail {

class TaskStateBase;

/// Called by final_suspend(): true for the root of a task whose end nobody
/// can observe, which the task has then freed (the frame destroys itself
/// next). Defined in detail/task_state.hpp, which has the TaskState.
template <class Promise>
bool end_unobserved_root(Promise& promise) noexcept;

/// The final suspension of an aiouv coroutine frame with promise type
/// Promise: resumes the awaiting coroutine by symmetric transfer. It holds
/// one bool, which fits in the frame's padding (a pointer to the promise
/// would make the frame of a trivial Coro<void> 56 bytes, not 48).
template <class Promise>
struct FinalAwaiter {
  bool frame_ends_here;  // see end_unobserved_root()
  bool await_ready() const noexcept { return frame_ends_here; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
    // A task's root has no continuation: its task notices the end when the
    // resume() that drove it returns, publishes the result and only then
    // destroys the frame.
    std::coroutine_handle<> next = self.promise().continuation;
    return next ? next : std::noop_coroutine();
  }
  void await_resume() noexcept {}
};

/// What every aiouv coroutine frame knows: the task that drives it (so an
/// awaiter finds its task from the promise, without a thread_local) and the
/// coroutine awaiting it inline, resumed by symmetric transfer when it ends.
struct CoroPromiseBase : PoolAllocated {
  TaskStateBase* task = nullptr;
  std::coroutine_handle<> continuation;

  std::suspend_always initial_suspend() noexcept { return {}; }

 protected:
  /// Called by unhandled_exception(): a task's root that failed forgets its
  /// task, so that its final suspension leaves the exception to the task's
  /// step (end_unobserved_root() only frees a task with nothing to report).
  /// Nothing reads `task` after that: the frame awaits nothing more.
  void forget_task_if_root() noexcept {
    if (!continuation) task = nullptr;
  }
  // final_suspend() is the most derived promise's: a FinalAwaiter that
  // knows its type.
};

/// Promise storage for Coro<T>: nothing yet, a value, or an exception.
template <class T>
struct CoroPromise : CoroPromiseBase {
  using value_type = T;
  std::variant<std::monostate, T, std::exception_ptr> result;

  template <class U = T>
  void return_value(U&& value) {
    result.template emplace<1>(std::forward<U>(value));
  }
  void unhandled_exception() noexcept {
    result.template emplace<2>(std::current_exception());
    forget_task_if_root();
  }

  bool failed() const noexcept { return result.index() == 2; }
  /// Moves the exception out (null if the coroutine did not fail).
  std::exception_ptr take_error() noexcept {
    return result.index() == 2 ? std::move(std::get<2>(result)) : std::exception_ptr();
  }
  T take() {
    if (result.index() == 2) std::rethrow_exception(std::get<2>(result));
    return std::move(std::get<1>(result));
  }
};

/// True from a Coro<void>'s unhandled_exception() until whoever reads how
/// it ended takes the exception: its awaiter's await_resume(), resumed at
/// once by symmetric transfer, or its task's step, which the root's final
/// suspension returns to. Nothing else runs in between, so one slot per
/// thread serves every frame, and a Coro<void> frame is 8 bytes smaller.
extern thread_local constinit bool coro_failure_pending;
void stash_coro_failure(std::exception_ptr error) noexcept;
std::exception_ptr take_coro_failure() noexcept;

/// Coro<void>'s promise: the exception waits in the thread's slot (see
/// coro_failure_pending), so failed(), take_error() and take() are only
/// meaningful right after the coroutine ended, as their callers use them.
template <>
struct CoroPromise<void> : CoroPromiseBase {
  using value_type = void;

  void return_void() noexcept {}
  void unhandled_exception() noexcept {
    stash_coro_failure(std::current_exception());
    forget_task_if_root();
  }

  bool failed() const noexcept { return coro_failure_pending; }

  std::exception_ptr take_error() noexcept { return coro_failure_pending ? take_coro_failure() : nullptr; }
  void take() {
    if (coro_failure_pending) [[unlikely]] std::rethrow_exception(take_coro_failure());
  }
};

}  // namespace aiouv::detail

#endif
