#ifndef AIOUV_DETAIL_CORO_PROMISE_HPP_INCLUDED
#define AIOUV_DETAIL_CORO_PROMISE_HPP_INCLUDED

#include <coroutine>
#include <exception>
#include <utility>
#include <variant>

#include <aiouv/detail/frame_pool.hpp>

namespace aiouv::detail {

class TaskStateBase;

/// The final suspension of an aiouv coroutine frame with promise type
/// Promise: resumes the awaiting coroutine by symmetric transfer.
template <class Promise>
struct FinalAwaiter {
  Promise* promise;
  /// True (the frame then destroys itself) for the root of a task whose
  /// end nobody can observe: the task frees itself here. Defined in
  /// detail/task_state.hpp, which needs the complete TaskState.
  inline bool await_ready() noexcept;
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
  void unhandled_exception() noexcept { result.template emplace<2>(std::current_exception()); }

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

template <>
struct CoroPromise<void> : CoroPromiseBase {
  using value_type = void;
  std::exception_ptr exception;

  void return_void() noexcept {}
  void unhandled_exception() noexcept { exception = std::current_exception(); }

  bool failed() const noexcept { return exception != nullptr; }

  std::exception_ptr take_error() noexcept { return std::move(exception); }
  void take() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace aiouv::detail

#endif
