// tasks.hpp comes first, outside the guard: it includes this header at its
// end (wait_for is built on Timeout), so whichever of the two a user includes
// first, Task and Coro are complete before Timeout is defined.
#include <aiouv/tasks.hpp>

#ifndef AIOUV_TIMEOUTS_HPP_INCLUDED
#define AIOUV_TIMEOUTS_HPP_INCLUDED

/// \file
/// asyncio.timeout and asyncio.timeout_at: a reschedulable deadline around a
/// block of code.

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace aiouv {

/// asyncio.Timeout: cancels the current task when its deadline passes and
/// turns the resulting CancelledError into TimeoutError where the block
/// ends. Python's `async with asyncio.timeout(1): await work()` reads
///
///     aiouv::Timeout t = aiouv::timeout(1s);
///     co_await t.run(work());      // the body runs inline, in this task
///
/// or simply `co_await aiouv::timeout(1s, work())`. The body may use the
/// Timeout (capture it by reference) to reschedule() itself. Nesting works
/// as in asyncio: each Timeout remembers the task's cancelling() count when
/// it is entered, so an inner expiry never looks like an outer cancellation
/// and an outer one is never swallowed by an inner Timeout.
///
/// A Timeout is entered once and is neither copyable nor movable (its timer
/// refers to it); it must stay alive until run() finishes.
class Timeout {
 public:
  /// A timeout at `when` on the loop clock; std::nullopt never expires.
  /// Prefer timeout() and timeout_at().
  explicit Timeout(std::optional<Clock::time_point> when) noexcept : when_(when) {}
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout() { cancel_timer(); }

  /// The current deadline, or std::nullopt if there is none.
  std::optional<Clock::time_point> when() const noexcept { return when_; }

  /// Moves the deadline (std::nullopt: no deadline); a deadline already
  /// passed expires at the next loop iteration. RuntimeError("Timeout has
  /// not been entered") before run(), RuntimeError("Cannot change state of
  /// expiring Timeout") once it fired, likewise for "expired"/"finished".
  void reschedule(std::optional<Clock::time_point> when);
  /// reschedule(now + delay).
  template <class Rep, class Period>
  void reschedule_in(std::chrono::duration<Rep, Period> delay) {
    reschedule(detail::deadline_after(delay));
  }

  /// True once the deadline passed while the block was running.
  bool expired() const noexcept { return state_ == State::expiring || state_ == State::expired; }

  /// asyncio's repr: "<Timeout [active] when=12.345>", "<Timeout [expired]>".
  std::string repr() const;

  /// Runs `body` (a Coro, Future or Task) under this timeout, inline in the
  /// current task, and gives its result. TimeoutError if the deadline
  /// passed and cancelled it; every other outcome passes through.
  /// RuntimeError("Timeout should be used inside a task") outside a task,
  /// RuntimeError("Timeout has already been entered") on a second run.
  template <class A>
  Coro<detail::awaited_t<A>> run(A body);

 private:
  enum class State : std::uint8_t { created, entered, expiring, expired, exited };

  void enter();
  /// Leaves the block that ended with `error` (nullptr: normally); throws
  /// TimeoutError if this timeout's expiry is what ended it.
  void exit(const std::exception_ptr& error);
  void on_timeout();
  void cancel_timer() noexcept;

  std::optional<Clock::time_point> when_;
  AnyTask task_;
  TimerHandle timer_;
  std::uint32_t cancelling_ = 0;
  State state_ = State::created;
};

/// asyncio.timeout: a Timeout `delay` from now (std::nullopt: none). Needs a
/// running loop (RuntimeError "no running event loop" otherwise).
Timeout timeout(std::optional<Clock::duration> delay);
template <class Rep, class Period>
Timeout timeout(std::chrono::duration<Rep, Period> delay) {
  (void)get_running_loop();
  return Timeout(detail::deadline_after(delay));
}

/// asyncio.timeout_at: a Timeout at `when` on the loop clock (std::nullopt:
/// none).
inline Timeout timeout_at(std::optional<Clock::time_point> when) noexcept { return Timeout(when); }

/// `co_await aiouv::timeout(delay, body)`: runs `body` under a fresh
/// timeout; TimeoutError once `delay` has passed.
template <class Rep, class Period, class A>
Coro<detail::awaited_t<A>> timeout(std::chrono::duration<Rep, Period> delay, A body) {
  Timeout scope = timeout(delay);
  co_return co_await scope.run(std::move(body));
}

/// `co_await aiouv::timeout_at(when, body)`: as timeout(delay, body) with a
/// deadline on the loop clock.
template <class A>
Coro<detail::awaited_t<A>> timeout_at(std::optional<Clock::time_point> when, A body) {
  Timeout scope(when);
  co_return co_await scope.run(std::move(body));
}

template <class A>
Coro<detail::awaited_t<A>> Timeout::run(A body) {
  using T = detail::awaited_t<A>;
  enter();
  // detail::settle() would do, but costs a coroutine frame: timeouts wrap
  // hot awaits.
  std::exception_ptr error;
  std::optional<detail::GatherSlot<T>> value;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(body);
    } else if constexpr (std::is_same_v<A, Coro<T>>) {
      value.emplace(co_await std::move(body));
    } else {
      co_await body;  // a Future or Task: other handles may share its result
      value.emplace(detail::take_result(body));
    }
  } catch (...) {
    error = std::current_exception();
  }
  exit(error);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) co_return std::move(*value);
}

}  // namespace aiouv

#endif
