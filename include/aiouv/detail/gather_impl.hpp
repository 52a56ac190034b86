#ifndef AIOUV_DETAIL_GATHER_IMPL_HPP_INCLUDED
#define AIOUV_DETAIL_GATHER_IMPL_HPP_INCLUDED

// gather(): asyncio's _GatheringFuture. Included by tasks.hpp.

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace aiouv {

/// What gather() puts in the slot of a `void` awaitable.
struct VoidResult {
  friend bool operator==(VoidResult, VoidResult) noexcept { return true; }
};

/// Tag: `gather(return_exceptions, a, b)` collects failures as
/// `std::exception_ptr` slots instead of propagating the first.
struct return_exceptions_t {
  explicit return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

namespace detail {

template <class T>
using GatherSlot = std::conditional_t<std::is_void_v<T>, VoidResult, T>;

template <class T>
struct AwaitedValue;
template <class T>
struct AwaitedValue<Coro<T>> {
  using type = T;
};
template <class T>
struct AwaitedValue<Future<T>> {
  using type = T;
};
template <class T>
struct AwaitedValue<Task<T>> {
  using type = T;
};
template <class A>
using awaited_t = typename AwaitedValue<std::remove_cvref_t<A>>::type;

/// The state behind the future gather() returns.
class GatherStateBase : public FutureStateBase {
 public:
  GatherStateBase(EventLoop& loop, void* slot, bool return_exceptions) noexcept
      : FutureStateBase(loop, slot, false), return_exceptions_(return_exceptions) {}
  /// Cancels every child; true if any was (asyncio's _GatheringFuture).
  bool cancel(std::string_view message) override;
  /// Takes the children and watches them.
  void watch(std::vector<AnyFuture> children);

 protected:
  /// Every child is done (and, without return_exceptions, succeeded):
  /// store the results.
  virtual void collect() = 0;
  std::vector<AnyFuture> children_;

 private:
  void on_child_done(FutureStateBase& child);
  std::size_t finished_ = 0;
  bool return_exceptions_;
  bool cancel_requested_ = false;
};

template <class Result, class Collect>
class GatherState final : public GatherStateBase {
 public:
  GatherState(EventLoop& loop, bool return_exceptions, Collect collect)
      : GatherStateBase(loop, &slot_, return_exceptions), collect_(std::move(collect)) {}
  ResultSlot<Result> slot_;

 private:
  void collect() override { slot_.value.emplace(collect_(children_)); }
  Collect collect_;
};

/// The result of a done future: copied, since other handles may share the
/// future, unless T cannot be copied, then moved out. Throws its failure.
template <class T>
T take_result(const Future<T>& future) {
  if constexpr (std::is_void_v<T>) {
    future.result();
  } else if constexpr (std::is_copy_constructible_v<T>) {
    return future.result();
  } else {
    Future<T> owned = future;
    return std::move(owned).result();
  }
}

/// True if `error` holds a CancelledError.
inline bool is_cancelled_error(const std::exception_ptr& error) {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

/// One child's value, `void` as VoidResult.
template <class T>
GatherSlot<T> gather_value(const AnyFuture& child) {
  Future<T> typed(child.state());
  if constexpr (std::is_void_v<T>) {
    take_result(typed);
    return VoidResult{};
  } else {
    return take_result(typed);
  }
}

template <class T>
using GatherOutcome = std::variant<GatherSlot<T>, std::exception_ptr>;

/// One child's value or failure (return_exceptions).
template <class T>
GatherOutcome<T> gather_outcome(const AnyFuture& child) {
  if (child.cancelled()) {
    return GatherOutcome<T>(std::in_place_index<1>, std::make_exception_ptr(child.state()->make_cancelled_error()));
  }
  if (std::exception_ptr error = child.exception()) return GatherOutcome<T>(std::in_place_index<1>, error);
  return GatherOutcome<T>(std::in_place_index<0>, gather_value<T>(child));
}

template <class T>
Future<T> as_future(EventLoop& loop, Coro<T>&& coro) {
  return loop.create_task(std::move(coro));
}
template <class T>
Future<T> as_future(EventLoop&, const Future<T>& future) {
  return future;
}

/// The loop of the first future argument, else the running loop.
template <class... A>
EventLoop& gather_loop(const A&... awaitables) {
  EventLoop* loop = nullptr;
  auto consider = [&loop](const auto& a) {
    if constexpr (std::is_base_of_v<AnyFuture, std::remove_cvref_t<decltype(a)>>) {
      if (!loop) loop = &a.get_loop();
    }
  };
  (consider(awaitables), ...);
  return loop ? *loop : get_running_loop();
}

template <class Result, class Collect>
Future<Result> start_gather(EventLoop& loop, bool return_exceptions, std::vector<AnyFuture> children,
                            Collect collect) {
  auto* state = new GatherState<Result, Collect>(loop, return_exceptions, std::move(collect));
  Future<Result> outer(state);
  state->watch(std::move(children));
  return outer;
}

template <bool ReturnExceptions, class... A>
auto gather_variadic(A&&... awaitables) {
  using Result = std::conditional_t<ReturnExceptions, std::tuple<GatherOutcome<awaited_t<A>>...>,
                                    std::tuple<GatherSlot<awaited_t<A>>...>>;
  EventLoop& loop = gather_loop(awaitables...);
  std::vector<AnyFuture> children{as_future(loop, std::forward<A>(awaitables))...};
  auto collect = [](std::vector<AnyFuture>& kids) {
    return [&kids]<std::size_t... I>(std::index_sequence<I...>) {
      if constexpr (ReturnExceptions) {
        return Result(gather_outcome<awaited_t<A>>(kids[I])...);
      } else {
        return Result(gather_value<awaited_t<A>>(kids[I])...);
      }
    }(std::index_sequence_for<A...>{});
  };
  return start_gather<Result>(loop, ReturnExceptions, std::move(children), collect);
}

template <bool ReturnExceptions, class F>
auto gather_range(std::vector<F> futures) {
  using T = typename F::value_type;
  using Item = std::conditional_t<ReturnExceptions, GatherOutcome<T>, GatherSlot<T>>;
  EventLoop& loop = futures.empty() ? get_running_loop() : futures.front().get_loop();
  std::vector<AnyFuture> children(futures.begin(), futures.end());
  auto collect = [](std::vector<AnyFuture>& kids) {
    std::vector<Item> items;
    items.reserve(kids.size());
    for (const AnyFuture& kid : kids) {
      if constexpr (ReturnExceptions) {
        items.push_back(gather_outcome<T>(kid));
      } else {
        items.push_back(gather_value<T>(kid));
      }
    }
    return items;
  };
  return start_gather<std::vector<Item>>(loop, ReturnExceptions, std::move(children), collect);
}

}  // namespace detail

/// asyncio.gather: runs the awaitables (coroutines become tasks) and
/// gives a future of their results as a tuple in argument order (`void` →
/// VoidResult). The first failure is propagated to the awaiter while the
/// other children keep running; cancelling the gather cancels every child.
template <class... A>
auto gather(A&&... awaitables) {
  return detail::gather_variadic<false>(std::forward<A>(awaitables)...);
}

/// gather with return_exceptions=True: each tuple slot holds the value or
/// the `std::exception_ptr` (CancelledError for a cancelled child).
template <class... A>
auto gather(return_exceptions_t, A&&... awaitables) {
  return detail::gather_variadic<true>(std::forward<A>(awaitables)...);
}

/// gather over a range of tasks or futures: a vector of results in order.
template <class T>
auto gather(std::vector<Task<T>> tasks) {
  return detail::gather_range<false>(std::move(tasks));
}
template <class T>
auto gather(std::vector<Future<T>> futures) {
  return detail::gather_range<false>(std::move(futures));
}
/// The same with return_exceptions=True.
template <class T>
auto gather(return_exceptions_t, std::vector<Task<T>> tasks) {
  return detail::gather_range<true>(std::move(tasks));
}
template <class T>
auto gather(return_exceptions_t, std::vector<Future<T>> futures) {
  return detail::gather_range<true>(std::move(futures));
}

}  // namespace aiouv

#endif
