#ifndef AIOUV_CORO_HPP_INCLUDED
#define AIOUV_CORO_HPP_INCLUDED

/// \file
/// `Coro<T>`: the return type of aiouv coroutines (the result of calling an
/// `async def`).

#include <coroutine>
#include <type_traits>
#include <utility>

#include <aiouv/detail/coro_promise.hpp>
#include <aiouv/detail/task_state.hpp>
#include <aiouv/exceptions.hpp>

namespace aiouv {

/// A coroutine object, as calling an `async def` function gives in Python.
///
/// Lazy: nothing runs until it is awaited or wrapped in a task.
/// `co_await coro()` runs it inline in the awaiting task (no trip through the
/// loop; symmetric transfer, so deep chains do not grow the stack) and gives
/// its result or rethrows its exception. `create_task(coro())` schedules it
/// concurrently. Move-only; destroying an unfinished Coro destroys its frame.
/// A Coro can be awaited once ("cannot reuse already awaited coroutine").
template <class T = void>
class [[nodiscard]] Coro {
 public:
  /// The coroutine promise (internal): lazy start, result storage, frames
  /// from the per-thread pool.
  struct promise_type : detail::CoroPromise<T> {
    Coro get_return_object() noexcept {
      return Coro(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    detail::FinalAwaiter<promise_type> final_suspend() noexcept { return {detail::end_unobserved_root(*this)}; }
  };
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  Coro() noexcept = default;
  Coro(Coro&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)), ready_(std::exchange(other.ready_, false)) {}
  Coro& operator=(Coro&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, nullptr);
      ready_ = std::exchange(other.ready_, false);
    }
    return *this;
  }

  /// A Coro<void> that has already finished, without a frame: what a
  /// coroutine function returns on a fast path that would not suspend (for
  /// example drain() while writing is not paused). Awaiting it costs
  /// nothing; a task made from it finishes at its first step.
  static Coro ready() noexcept
    requires std::is_void_v<T>
  {
    Coro coro;
    coro.ready_ = true;
    return coro;
  }
  ~Coro() {
    if (handle_) handle_.destroy();
  }

  /// False for a moved-from Coro or one handed to a task.
  explicit operator bool() const noexcept { return handle_ || ready_; }

  /// `co_await coro`: starts the child by symmetric transfer and resumes
  /// the awaiting coroutine when the child ends.
  class Awaiter {
   public:
    /// A null `child` stands for a ready Coro<void>.
    explicit Awaiter(handle_type child) noexcept : child_(child) {}
    bool await_ready() const noexcept { return !child_; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
      child_.promise().task = parent.promise().task;
      child_.promise().continuation = parent;
      return child_;
    }
    T await_resume() {
      if constexpr (std::is_void_v<T>) {
        if (!child_) return;
      }
      return child_.promise().take();
    }

   private:
    handle_type child_;
  };

  /// Runs the coroutine inline; RuntimeError if it was already awaited.
  Awaiter operator co_await() && { return Awaiter(checked_handle()); }
  Awaiter operator co_await() & { return Awaiter(checked_handle()); }

  /// Gives up ownership of the frame (internal: create_task adopts it). A
  /// ready Coro gets a frame that finishes at once.
  handle_type release() {
    if constexpr (std::is_void_v<T>) {
      if (ready_) [[unlikely]] return release_ready();
    }
    return std::exchange(handle_, nullptr);
  }
  /// True if this Coro owns a frame (internal: create_task's fast path,
  /// which then takes it with release_frame()).
  bool has_frame() const noexcept { return static_cast<bool>(handle_); }
  handle_type release_frame() noexcept { return std::exchange(handle_, nullptr); }

 private:
  explicit Coro(handle_type handle) noexcept : handle_(handle) {}

  // Apart, so that release(), on every create_task, stays small enough to inline.
  handle_type release_ready() {
    ready_ = false;
    return finished().release();
  }

  static Coro finished() { co_return; }

  /// The frame to run, or null for a ready Coro (which counts as awaited
  /// from then on).
  handle_type checked_handle() {
    if (std::exchange(ready_, false)) return nullptr;
    if (!handle_ || handle_.done() || handle_.promise().continuation) {
      throw RuntimeError("cannot reuse already awaited coroutine");
    }
    return handle_;
  }

  handle_type handle_;
  bool ready_ = false;  // a frameless, finished Coro<void>
};

}  // namespace aiouv

#endif
