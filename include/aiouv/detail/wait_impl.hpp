#ifndef AIOUV_DETAIL_WAIT_IMPL_HPP_INCLUDED
#define AIOUV_DETAIL_WAIT_IMPL_HPP_INCLUDED

// shield() and wait_for(). Included by tasks.hpp after gather_impl.hpp.

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>
#include <type_traits>

namespace aiouv {

namespace detail {

/// Copies a done future's outcome into `target` (asyncio's
/// _copy_future_state).
template <class T>
void copy_outcome(const Future<T>& source, Future<T>& target) {
  if (source.cancelled()) {
    target.cancel();
  } else if (std::exception_ptr error = source.exception()) {
    target.set_exception(error);
  } else if constexpr (std::is_void_v<T>) {
    target.set_result();
  } else {
    target.set_result(take_result(source));
  }
}

/// How a shield's outer future reaches its inner one without owning it:
/// the inner's callback owns the outer, so an outer that owned the inner
/// would make a cycle that leaks both if neither ever finishes. `inner` is
/// valid while the inner's callback exists; its ShieldLinkGuard clears it
/// when the callback is destroyed (run, removed, or dropped with the inner).
struct ShieldLink {
  FutureStateBase* inner = nullptr;
  std::uint64_t callback = 0;
};

class ShieldLinkGuard {
 public:
  explicit ShieldLinkGuard(std::shared_ptr<ShieldLink> link) noexcept : link_(std::move(link)) {}
  ShieldLinkGuard(ShieldLinkGuard&& other) noexcept = default;
  ShieldLinkGuard& operator=(ShieldLinkGuard&&) = delete;
  ~ShieldLinkGuard() {
    if (link_) link_->inner = nullptr;
  }

 private:
  std::shared_ptr<ShieldLink> link_;  // moved-from: empty
};

}  // namespace detail

/// asyncio.shield: a future that follows `awaitable` (a coroutine becomes a
/// task) but whose cancellation does not cancel it. If the awaitable is
/// already done, that future is returned itself.
template <class A>
auto shield(A&& awaitable) {
  using T = detail::awaited_t<A>;
  EventLoop& loop = detail::gather_loop(awaitable);
  Future<T> inner = detail::as_future(loop, std::forward<A>(awaitable));
  if (inner.done()) return inner;
  Future<T> outer = loop.create_future<T>();
  auto link = std::make_shared<detail::ShieldLink>();
  link->inner = inner.state();
  link->callback = inner.add_done_callback([outer, guard = detail::ShieldLinkGuard(link)](Future<T>& done) mutable {
    if (outer.cancelled()) {
      if (!done.cancelled()) (void)done.exception();  // retrieved: no report
      return;
    }
    detail::copy_outcome(done, outer);
  });
  // A cancelled outer drops the inner's callback (and with it the outer),
  // so a long-lived inner shielded again and again does not collect them.
  outer.add_done_callback([link] {
    if (!link->inner) return;  // the inner's callback is gone already
    AnyFuture inner_again(link->inner);
    if (!inner_again.done()) inner_again.remove_done_callback(link->callback);
  });
  return outer;
}

/// asyncio.wait_for: the awaitable's result, or TimeoutError once `delay`
/// has passed. On timeout the awaitable is cancelled and awaited before
/// TimeoutError is thrown; a result that races the deadline is returned,
/// not lost. Cancelling the caller cancels the awaitable too. A coroutine
/// runs inline in the caller's task, as in asyncio 3.12. Use inside a task
/// (RuntimeError otherwise).
template <class A, class Rep, class Period>
Coro<detail::awaited_t<A>> wait_for(A awaitable, std::chrono::duration<Rep, Period> delay) {
  using T = detail::awaited_t<A>;
  EventLoop& loop = get_running_loop();
  if (delay > delay.zero()) {
    // asyncio 3.12+: `async with timeout(delay): return await fut`, so a
    // coroutine runs inline, in the caller's task.
    Timeout scope = timeout(delay);
    co_return co_await scope.run(std::move(awaitable));
  }

  // A zero delay: as asyncio, the awaitable (a coroutine becomes a task)
  // is cancelled at once and awaited; TimeoutError unless it finished anyway.
  Future<T> future = detail::as_future(loop, std::move(awaitable));
  if (!future.done()) {
    future.cancel();
    try {
      co_await future;
    } catch (...) {
      if (!future.done()) throw;  // we were cancelled, not the awaitable
    }
  }
  if (future.cancelled()) throw TimeoutError();
  co_return detail::take_result(future);
}

/// When wait() returns (asyncio's FIRST_COMPLETED, FIRST_EXCEPTION,
/// ALL_COMPLETED).
enum class ReturnWhen { first_completed, first_exception, all_completed };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::first_completed;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::first_exception;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::all_completed;

/// What wait() gives: the futures done and still pending, each in input order.
template <class F>
struct WaitResult {
  std::vector<F> done;
  std::vector<F> pending;
};

namespace detail {

/// Shared by wait() and the done callbacks it registers: a callback that
/// was already scheduled may run after wait() returned.
struct WaitState {
  Future<void> waiter;
  std::size_t remaining;
  ReturnWhen return_when;
  TimerHandle timeout;
};

template <class F>
Coro<WaitResult<F>> wait_impl(std::vector<F> futures, ReturnWhen return_when,
                              std::optional<Clock::duration> timeout) {
  if (futures.empty()) throw std::invalid_argument("Set of Tasks/Futures is empty.");
  EventLoop& loop = get_running_loop();
  auto state = std::make_shared<WaitState>();
  state->waiter = loop.create_future<void>();
  state->remaining = futures.size();
  state->return_when = return_when;
  if (timeout) {
    state->timeout = loop.call_later(*timeout, [waiter = state->waiter]() mutable {
      if (!waiter.done()) waiter.set_result();
    });
  }
  std::vector<std::uint64_t> ids;
  ids.reserve(futures.size());
  for (F& f : futures) {
    ids.push_back(f.add_done_callback([state](AnyFuture& done) {
      --state->remaining;
      if (state->remaining == 0 || state->return_when == ReturnWhen::first_completed ||
          (state->return_when == ReturnWhen::first_exception && !done.cancelled() && done.exception())) {
        state->timeout.cancel();
        if (!state->waiter.done()) state->waiter.set_result();
      }
    }));
  }
  std::exception_ptr error;
  try {
    co_await state->waiter;
  } catch (...) {
    error = std::current_exception();
  }
  state->timeout.cancel();
  for (std::size_t i = 0; i < futures.size(); ++i) futures[i].remove_done_callback(ids[i]);
  if (error) std::rethrow_exception(error);
  WaitResult<F> result;
  for (F& f : futures) (f.done() ? result.done : result.pending).push_back(std::move(f));
  co_return result;
}

}  // namespace detail

/// asyncio.wait: waits until `return_when` holds or `timeout` passes, and
/// gives (done, pending). Nothing is cancelled on timeout. The futures are
/// not awaited, so their exceptions are not raised here.
/// std::invalid_argument("Set of Tasks/Futures is empty.") for no futures.
template <class T>
Coro<WaitResult<Task<T>>> wait(std::vector<Task<T>> tasks, ReturnWhen return_when = ALL_COMPLETED,
                               std::optional<Clock::duration> timeout = std::nullopt) {
  return detail::wait_impl(std::move(tasks), return_when, timeout);
}
template <class T>
Coro<WaitResult<Future<T>>> wait(std::vector<Future<T>> futures, ReturnWhen return_when = ALL_COMPLETED,
                                 std::optional<Clock::duration> timeout = std::nullopt) {
  return detail::wait_impl(std::move(futures), return_when, timeout);
}

namespace detail {

/// What the as_completed() awaitables share: finished futures in completion
/// order (an empty slot marks the timeout), and the tasks waiting for one.
template <class T>
struct AsCompletedState {
  std::vector<Future<T>> todo;
  std::deque<std::optional<Future<T>>> done;
  std::deque<Future<void>> getters;
  TimerHandle timeout;

  ~AsCompletedState() { timeout.cancel(); }

  void push(std::optional<Future<T>> item) {
    done.push_back(std::move(item));
    while (!getters.empty()) {
      Future<void> getter = std::move(getters.front());
      getters.pop_front();
      if (!getter.done()) {
        getter.set_result();
        break;
      }
    }
  }
};

template <class T>
Coro<T> wait_for_one(std::shared_ptr<AsCompletedState<T>> state) {
  while (state->done.empty()) {
    Future<void> getter = get_running_loop().create_future<void>();
    state->getters.push_back(getter);
    co_await getter;
  }
  std::optional<Future<T>> next = std::move(state->done.front());
  state->done.pop_front();
  if (!next) throw TimeoutError();
  co_return take_result(*next);  // may throw the future's exception
}

}  // namespace detail

/// asyncio.as_completed: awaitables that give the results of `futures` in
/// the order they finish (the i-th awaited gives the i-th to finish; a
/// failure is thrown by the awaitable that gives it). After `timeout`, the
/// awaitables not yet satisfied throw TimeoutError; nothing is cancelled.
template <class T>
std::vector<Coro<T>> as_completed(std::vector<Task<T>> tasks, std::optional<Clock::duration> timeout = std::nullopt) {
  auto state = std::make_shared<detail::AsCompletedState<T>>();
  state->todo.assign(tasks.begin(), tasks.end());
  std::vector<Coro<T>> awaitables;
  const std::size_t count = state->todo.size();
  for (std::size_t i = 0; i < count; ++i) awaitables.push_back(detail::wait_for_one(state));
  if (count == 0) return awaitables;
  std::weak_ptr<detail::AsCompletedState<T>> weak = state;
  for (Future<T>& f : state->todo) {
    // Weak: the state lives as long as some awaitable does.
    f.add_done_callback([weak](Future<T>& finished) {
      auto s = weak.lock();
      if (!s || s->todo.empty()) return;  // gone, or the timeout came first
      auto it = std::find(s->todo.begin(), s->todo.end(), finished);
      if (it == s->todo.end()) return;
      s->todo.erase(it);
      s->push(finished);
      if (s->todo.empty()) s->timeout.cancel();
    });
  }
  if (timeout) {
    state->timeout = state->todo.front().get_loop().call_later(*timeout, [weak] {
      auto s = weak.lock();
      if (!s) return;
      for (std::size_t i = 0; i < s->todo.size(); ++i) s->push(std::nullopt);
      s->todo.clear();
    });
  }
  return awaitables;
}

}  // namespace aiouv

#endif
