// gather(): results in argument order, first error propagation while the
// others run on, return_exceptions, cancellation in both directions.
#include "support/coro_helpers.hpp"
#include "support/loop_test.hpp"
#include "support/when_settled.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Gather = LoopTest;


Coro<void> fail_after(std::chrono::milliseconds d, const char* what) {
  co_await sleep(d);
  throw std::runtime_error(what);
}

TEST_F(Gather, VariadicResultsInArgumentOrder) {
  auto main = [&]() -> Coro<std::tuple<int, VoidResult, std::string>> {
    auto nothing = []() -> Coro<void> { co_await sleep(1ms); };
    Task<std::string> named = create_task([]() -> Coro<std::string> {
      co_await sleep(2ms);
      co_return "task";
    }());
    co_return co_await gather(value_after(1, 5ms), nothing(), named);
  };
  auto [a, v, s] = loop.run_until_complete(main());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(v, VoidResult{});
  EXPECT_EQ(s, "task");
}

TEST_F(Gather, ChildrenRunConcurrently) {
  auto main = [&]() -> Coro<Clock::duration> {
    const Clock::time_point start = Clock::now();
    co_await gather(value_after(1, 200ms), value_after(2, 200ms), value_after(3, 200ms));
    co_return Clock::now() - start;
  };
  EXPECT_LT(loop.run_until_complete(main()), 550ms);
}

TEST_F(Gather, RangeOfTasksGivesAVectorInOrder) {
  auto main = [&]() -> Coro<std::vector<int>> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(create_task(value_after(i, std::chrono::milliseconds(10 - i))));
    co_return co_await gather(tasks);
  };
  EXPECT_EQ(loop.run_until_complete(main()), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST_F(Gather, EmptyGatherIsDoneAtOnce) {
  auto main = [&]() -> Coro<std::size_t> {
    auto empty = gather(std::vector<Task<int>>{});
    EXPECT_TRUE(empty.done());
    co_return (co_await empty).size();
  };
  EXPECT_EQ(loop.run_until_complete(main()), 0u);
}

TEST_F(Gather, FirstExceptionPropagatesWhileOthersKeepRunning) {
  bool slow_finished = false;
  Task<int> slow;
  // A named lambda: a coroutine lambda's captures live in the lambda
  // object, which must outlive the coroutine.
  auto slow_body = [&]() -> Coro<int> {
    co_await sleep(20ms);
    slow_finished = true;
    co_return 1;
  };
  auto main = [&]() -> Coro<std::string> {
    slow = create_task(slow_body());
    try {
      co_await gather(slow, fail_after(1ms, "first"), fail_after(5ms, "second"));
    } catch (const std::runtime_error& e) {
      EXPECT_FALSE(slow.done()) << "the other children are not cancelled";
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_EQ(loop.run_until_complete(main()), "first");
  loop.run_until_complete(slow);
  EXPECT_TRUE(slow_finished);
  // The second failure was retrieved by the gather: no report.
  loop.run_until_complete(sleep(10ms));
}

TEST_F(Gather, ReturnExceptionsCollectsValuesAndErrors) {
  auto main = [&]() -> Coro<void> {
    Task<int> cancelled = create_task(value_after(9, 1h));
    cancelled.cancel("no");
    auto [a, b, c] = co_await gather(return_exceptions, value_after(1, 1ms), fail_after(2ms, "bad"), cancelled);
    EXPECT_EQ(std::get<0>(a), 1);
    EXPECT_EQ(what_of(std::get<1>(b)), "bad");
    EXPECT_EQ(what_of(std::get<1>(c)), "CancelledError:no");
  };
  loop.run_until_complete(main());
}

TEST_F(Gather, ReturnExceptionsOverARange) {
  auto main = [&]() -> Coro<void> {
    std::vector<Task<int>> tasks{create_task(value_after(1, 1ms)), create_task([]() -> Coro<int> {
                                   co_await sleep(1ms);
                                   throw std::logic_error("oops");
                                 }())};
    auto outcomes = co_await gather(return_exceptions, tasks);
    EXPECT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(std::get<0>(outcomes[0]), 1);
    EXPECT_EQ(what_of(std::get<1>(outcomes[1])), "oops");
  };
  loop.run_until_complete(main());
}

TEST_F(Gather, CancellingTheAwaiterCancelsEveryChild) {
  std::vector<Task<int>> children;
  auto main = [&]() -> Coro<void> {
    for (int i = 0; i < 3; ++i) children.push_back(create_task(value_after(i, 1h)));
    co_await gather(children);
  };
  Task<void> t = loop.create_task(main());
  when_settled(loop, [&] { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  for (auto& c : children) EXPECT_TRUE(c.cancelled());
}

TEST_F(Gather, CancellingTheGatherFutureCancelsChildrenAndRaisesCancelledError) {
  auto main = [&]() -> Coro<std::string> {
    auto g = gather(return_exceptions, value_after(1, 1h), value_after(2, 1h));
    co_await sleep(1ms);
    EXPECT_TRUE(g.cancel("stop"));
    try {
      co_await g;
    } catch (const CancelledError&) {
      co_return "cancelled";
    }
    co_return "not cancelled";
  };
  EXPECT_EQ(loop.run_until_complete(main()), "cancelled");
}

TEST_F(Gather, CancelledChildWithoutReturnExceptionsRaisesCancelledError) {
  auto main = [&]() -> Coro<std::string> {
    Task<int> child = create_task(value_after(1, 1h));
    Task<int> other = create_task(value_after(2, 5ms));
    loop.call_later(1ms, [child]() mutable { child.cancel("child stop"); });
    std::string message = "not cancelled";
    try {
      co_await gather(child, other);
    } catch (const CancelledError& e) {
      message = e.message();
    }
    co_await other;  // still running after the gather failed
    co_return message;
  };
  EXPECT_EQ(loop.run_until_complete(main()), "child stop");
}

TEST_F(Gather, PendingGatherAtCloseLeaksNothing) {
  record_exceptions();
  {
    auto main = [&]() -> Coro<void> { co_await gather(value_after(1, 1h), value_after(2, 1h)); };
    (void)loop.create_task(main());
    loop.run_until_complete(sleep(1ms));
  }
  loop.close();
  EXPECT_EQ(reported.size(), 3u);  // three pending tasks destroyed
  reported.clear();                // the contexts hold the tasks
  EXPECT_EQ(loop.counters().futures, 0u) << "gather and children must not keep each other alive";
}

}  // namespace
}  // namespace aiouv::test
