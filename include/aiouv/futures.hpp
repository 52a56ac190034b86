#ifndef AIOUV_FUTURES_HPP_INCLUDED
#define AIOUV_FUTURES_HPP_INCLUDED

/// \file
/// asyncio.Future: `AnyFuture` (any result type) and `Future<T>`.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <aiouv/detail/future_state.hpp>
#include <aiouv/detail/task_state.hpp>
#include <aiouv/exceptions.hpp>

namespace aiouv {

class EventLoop;

/// A type-erased handle to a future or task: everything of asyncio.Future
/// that does not depend on the result type. Copies share the same future.
/// Futures belong to one loop and one thread; none of this is thread-safe.
class AnyFuture {
 public:
  /// An empty handle (like Python's None); only `operator bool` is valid.
  AnyFuture() noexcept = default;
  /// Adopts a future state (internal).
  explicit AnyFuture(detail::FutureStateBase* state) noexcept : state_(state) {}

  /// True once the future has a result, an exception, or was cancelled.
  bool done() const noexcept { return state_->done(); }
  /// True if the future was cancelled.
  bool cancelled() const noexcept { return state_->cancelled(); }
  /// Cancels the future and schedules its callbacks; false if already done.
  /// On a task, requests cancellation of the coroutine (see Task::cancel).
  bool cancel(std::string_view message = {}) { return state_->cancel(message); }
  /// The exception the future finished with, or nullptr if it has a result.
  /// Throws CancelledError if cancelled, InvalidStateError if pending.
  std::exception_ptr exception() const { return state_->exception(); }

  /// Adds a callback run (via call_soon, never inline) with this future when
  /// it is done; called at once (soon) if already done. `f` takes
  /// `AnyFuture&` or nothing. Returns an id for remove_done_callback().
  template <class F>
  std::uint64_t add_done_callback(F&& f) {
    return state_->add_done_callback(
        [f = std::forward<F>(f)](detail::FutureStateBase& state) mutable {
          if constexpr (std::is_invocable_v<F&, AnyFuture&>) {
            AnyFuture self(&state);
            f(self);
          } else {
            f();
          }
        });
  }
  /// Removes a pending callback by id; returns how many were removed.
  std::size_t remove_done_callback(std::uint64_t id) { return state_->remove_done_callback(id); }

  /// The loop the future belongs to.
  EventLoop& get_loop() const noexcept { return state_->loop(); }
  /// True if this is a Task.
  bool is_task() const noexcept { return state_->is_task(); }
  /// asyncio's repr: "<Future pending>", "<Task finished name='Task-3'>", ...
  std::string repr() const { return state_->repr(); }

  /// False for an empty handle.
  explicit operator bool() const noexcept { return static_cast<bool>(state_); }
  /// True if both refer to the same future.
  friend bool operator==(const AnyFuture& a, const AnyFuture& b) noexcept {
    return a.state_ == b.state_;
  }
  /// The shared state (internal).
  detail::FutureStateBase* state() const noexcept { return state_.get(); }

 protected:
  detail::Ref<detail::FutureStateBase> state_;
};

namespace detail {

/// `co_await future`: ready at once if done (no trip through the loop),
/// otherwise parks the awaiting task until the future's done callback steps it.
template <class T, bool MoveResult>
class FutureAwaiter {
 public:
  explicit FutureAwaiter(FutureStateBase* state) noexcept { waiter_.future = state; }
  FutureAwaiter(FutureAwaiter&& other) noexcept { waiter_.future = other.waiter_.future; }  // before suspending only
  bool await_ready() const noexcept { return waiter_.future->done(); }
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> awaiting) {
    awaiting.promise().task->suspend_on(*waiter_.future, waiter_, awaiting);
  }
  decltype(auto) await_resume() {
    if (waiter_.task) waiter_.task->throw_if_cancelled_on_resume();
    FutureStateBase* state = waiter_.future;
    state->check_result();
    if constexpr (std::is_void_v<T>) {
      return;
    } else if constexpr (MoveResult) {
      return T(std::move(*static_cast<ResultSlot<T>*>(state->slot())->value));
    } else {
      return static_cast<const T&>(*static_cast<ResultSlot<T>*>(state->slot())->value);
    }
  }

 private:
  ScopedWaiter waiter_;  // also remembers the future and, once suspended, the task
};

}  // namespace detail

/// asyncio.Future with a typed result; `T` may be void or move-only.
///
/// `co_await fut` gives `const T&` (the future keeps the value, as
/// std::shared_future::get); `co_await std::move(fut)` moves the value out.
/// A cancelled future throws CancelledError; a failed one its exception.
template <class T>
class [[nodiscard]] Future : public AnyFuture {
 public:
  using value_type = T;

  Future() noexcept = default;
  /// Adopts a future state (internal); create futures with
  /// EventLoop::create_future<T>().
  explicit Future(detail::FutureStateBase* state) noexcept : AnyFuture(state) {}

  /// The result: the value (or nothing for void); throws the stored
  /// exception, CancelledError if cancelled, InvalidStateError("Result is not
  /// ready.") if pending.
  decltype(auto) result() const& {
    state_->check_result();
    if constexpr (!std::is_void_v<T>) return static_cast<const T&>(*slot().value);
  }
  /// As result(), but moves the value out of the future.
  T result() && {
    state_->check_result();
    if constexpr (!std::is_void_v<T>) return T(std::move(*slot().value));
  }

  /// Finishes the future with a value and schedules its callbacks.
  /// InvalidStateError if already done; RuntimeError on a Task.
  template <class... Args>
  void set_result(Args&&... args) {
    if (state_->is_task()) throw RuntimeError("Task does not support set_result() operation");
    state_->check_settable();
    if constexpr (!std::is_void_v<T>) slot().value.emplace(std::forward<Args>(args)...);
    state_->finish_with_value();
  }
  /// Finishes the future with an exception; InvalidStateError if done,
  /// RuntimeError on a Task.
  void set_exception(std::exception_ptr exception) {
    if (state_->is_task()) throw RuntimeError("Task does not support set_exception() operation");
    state_->set_exception(std::move(exception));
  }
  /// Convenience: `fut.set_exception(std::runtime_error("boom"))`.
  template <class E, class = std::enable_if_t<!std::is_same_v<std::decay_t<E>, std::exception_ptr>>>
  void set_exception(E&& error) {
    set_exception(std::make_exception_ptr(std::forward<E>(error)));
  }

  /// As AnyFuture::add_done_callback, but `f` may take `Future<T>&`.
  template <class F>
  std::uint64_t add_done_callback(F&& f) {
    return state_->add_done_callback(
        [f = std::forward<F>(f)](detail::FutureStateBase& state) mutable {
          if constexpr (std::is_invocable_v<F&, Future<T>&>) {
            Future<T> self(&state);
            f(self);
          } else if constexpr (std::is_invocable_v<F&, AnyFuture&>) {
            AnyFuture self(&state);
            f(self);
          } else {
            f();
          }
        });
  }

  /// `co_await fut`: the result as `const T&`, without a trip through the
  /// loop if the future is already done.
  detail::FutureAwaiter<T, false> operator co_await() const& noexcept {
    return detail::FutureAwaiter<T, false>(state_.get());
  }
  /// `co_await std::move(fut)`: moves the result out.
  detail::FutureAwaiter<T, true> operator co_await() && noexcept {
    return detail::FutureAwaiter<T, true>(state_.get());
  }

 private:
  detail::ResultSlot<T>& slot() const noexcept {
    return *static_cast<detail::ResultSlot<T>*>(state_->slot());
  }
};

}  // namespace aiouv

#endif
