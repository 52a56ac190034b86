#ifndef AIOUV_DETAIL_OUTCOME_HPP_INCLUDED
#define AIOUV_DETAIL_OUTCOME_HPP_INCLUDED

// settle(): awaits a body and keeps its value or exception, for the
// `async with` emulations (Timeout, TaskGroup) that must act on how the
// block ended before passing the outcome on. Included by tasks.hpp.

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace aiouv::detail {

/// How an awaited body ended: a value (VoidResult for void) or an error.
template <class T>
struct Outcome {
  std::optional<GatherSlot<T>> value;
  std::exception_ptr error;

  /// The value, or the error thrown.
  T take() {
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*value);
  }
};

/// Awaits `body` (a Coro inline, or a Future/Task whose result other handles
/// may share) and never throws: the outcome says how it ended.
template <class A>
Coro<Outcome<awaited_t<A>>> settle(A body) {
  using T = awaited_t<A>;
  Outcome<T> outcome;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(body);
      outcome.value.emplace();
    } else if constexpr (std::is_same_v<A, Coro<T>>) {
      outcome.value.emplace(co_await std::move(body));
    } else {
      co_await body;
      outcome.value.emplace(take_result(body));
    }
  } catch (...) {
    outcome.error = std::current_exception();
  }
  co_return outcome;
}

}  // namespace aiouv::detail

#endif
