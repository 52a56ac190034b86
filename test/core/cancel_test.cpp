// Task cancellation with asyncio's semantics: cancel(msg), CancelledError at
// the current await, cancelling()/uncancel(), and the racing cases.
#include "support/loop_test.hpp"
#include "support/when_settled.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Cancel = LoopTest;

TEST_F(Cancel, CancelledErrorIsNotAStdException) {
  static_assert(!std::is_base_of_v<std::exception, CancelledError>);
  bool swallowed_by_std = false;
  bool reached_cancelled_handler = false;
  try {
    try {
      throw CancelledError("m");
    } catch (const std::exception&) {
      swallowed_by_std = true;
    }
  } catch (const CancelledError& e) {
    reached_cancelled_handler = e.message() == "m";
  }
  EXPECT_FALSE(swallowed_by_std);
  EXPECT_TRUE(reached_cancelled_handler);
}

TEST_F(Cancel, CancelThrowsAtTheCurrentAwaitWithTheMessage) {
  std::string caught;
  auto body = [&]() -> Coro<void> {
    try {
      co_await sleep(10s);
    } catch (const CancelledError& e) {
      caught = e.message();
      throw;
    }
  };
  Task<void> t = loop.create_task(body());
  when_settled(loop, [&] { EXPECT_TRUE(t.cancel("shutting down")); });
  try {
    loop.run_until_complete(t);
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "shutting down");
  }
  EXPECT_EQ(caught, "shutting down");
  EXPECT_TRUE(t.cancelled());
  EXPECT_EQ(t.repr(), "<Task cancelled name='" + t.get_name() + "'>");
  EXPECT_EQ(loop.counters().callback_handles, 0u) << "the sleep's timer is cancelled too";
}

TEST_F(Cancel, TaskCancelledBeforeItStartsNeverRunsItsBody) {
  bool body_ran = false;
  auto body = [&]() -> Coro<int> {
    body_ran = true;
    co_return 1;
  };
  Task<int> t = loop.create_task(body());
  EXPECT_TRUE(t.cancel());
  EXPECT_FALSE(t.done()) << "cancellation is delivered by the next step";
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(body_ran);
}

TEST_F(Cancel, CoroutineMayCatchAndCarryOn) {
  auto body = []() -> Coro<std::string> {
    try {
      co_await sleep(10s);
    } catch (const CancelledError&) {
      // swallow and finish normally
    }
    co_await sleep(1ms);
    co_return "survived";
  };
  Task<std::string> t = loop.create_task(body());
  when_settled(loop, [&] { t.cancel(); });
  EXPECT_EQ(loop.run_until_complete(t), "survived");
  EXPECT_FALSE(t.cancelled());
  EXPECT_EQ(t.cancelling(), 1u) << "the request count stays until uncancel()";
}

TEST_F(Cancel, CancellingAndUncancelCount) {
  auto body = []() -> Coro<void> { co_await sleep(10s); };
  Task<void> t = loop.create_task(body());
  EXPECT_EQ(t.cancelling(), 0u);
  EXPECT_TRUE(t.cancel());
  EXPECT_TRUE(t.cancel());
  EXPECT_EQ(t.cancelling(), 2u);
  EXPECT_EQ(t.uncancel(), 1u);
  EXPECT_EQ(t.uncancel(), 0u);
  EXPECT_EQ(t.uncancel(), 0u);
  // asyncio 3.13: back to zero clears the pending cancellation.
  auto main = [&]() -> Coro<void> {
    co_await sleep(1ms);
    t.cancel();
  };
  loop.run_until_complete(main());
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
}

TEST_F(Cancel, CancelOfADoneTaskReturnsFalse) {
  auto body = []() -> Coro<int> { co_return 1; };
  Task<int> t = loop.create_task(body());
  loop.run_until_complete(t);
  EXPECT_FALSE(t.cancel());
  EXPECT_EQ(t.cancelling(), 0u);
}

TEST_F(Cancel, CancelPropagatesIntoTheAwaitedTask) {
  bool inner_cancelled = false;
  auto inner = [&]() -> Coro<void> {
    try {
      co_await sleep(10s);
    } catch (const CancelledError&) {
      inner_cancelled = true;
      throw;
    }
  };
  Task<void> inner_task;
  auto outer = [&]() -> Coro<void> {
    inner_task = create_task(inner());
    co_await inner_task;
  };
  Task<void> t = loop.create_task(outer());
  when_settled(loop, [&] { t.cancel("outer"); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_TRUE(inner_cancelled);
  EXPECT_TRUE(inner_task.cancelled());
}

TEST_F(Cancel, InnerTaskThatRefusesCancellationLetsOuterContinue) {
  // asyncio: cancelling the outer cancels what it awaits; if that inner
  // task swallows it and returns, the outer simply gets the result.
  auto stubborn = []() -> Coro<int> {
    try {
      co_await sleep(10s);
    } catch (const CancelledError&) {
    }
    co_return 5;
  };
  auto outer = [&]() -> Coro<int> { co_return co_await create_task(stubborn()); };
  Task<int> t = loop.create_task(outer());
  when_settled(loop, [&] { t.cancel(); });
  EXPECT_EQ(loop.run_until_complete(t), 5);
}

TEST_F(Cancel, CancelWhileTheWakeupIsAlreadyScheduled) {
  // The awaited future finished (wake-up queued), then cancel() arrives
  // before the step: the coroutine gets CancelledError, not the value.
  Future<int> f = loop.create_future<int>();
  std::string outcome;
  auto body = [&]() -> Coro<void> {
    try {
      int v = co_await f;
      outcome = "value " + std::to_string(v);
    } catch (const CancelledError& e) {
      outcome = "cancelled " + e.message();
    }
  };
  Task<void> t = loop.create_task(body());
  when_settled(loop, [&] {
    f.set_result(1);
    t.cancel("late");
  });
  loop.run_until_complete(t);
  EXPECT_EQ(outcome, "cancelled late");
  EXPECT_FALSE(t.cancelled()) << "the coroutine caught it";
}

TEST_F(Cancel, SelfCancelTakesEffectAtTheNextAwait) {
  std::vector<std::string> order;
  auto body = [&]() -> Coro<void> {
    current_task().cancel("self");
    order.push_back("still running");
    try {
      co_await sleep(10s);
    } catch (const CancelledError& e) {
      order.push_back("cancelled " + e.message());
      throw;
    }
  };
  Task<void> t = loop.create_task(body());
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_EQ(order, (std::vector<std::string>{"still running", "cancelled self"}));
}

TEST_F(Cancel, CancelRequestedJustBeforeReturnCancelsTheTask) {
  auto body = []() -> Coro<int> {
    current_task().cancel();
    co_return 3;  // returns without awaiting again
  };
  Task<int> t = loop.create_task(body());
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_TRUE(t.cancelled());
}

TEST_F(Cancel, CancelDuringSleepZero) {
  auto body = []() -> Coro<void> {
    for (;;) co_await sleep(0s);
  };
  Task<void> t = loop.create_task(body());
  loop.call_soon([&] { loop.call_soon([&] { t.cancel("spin"); }); });
  try {
    loop.run_until_complete(t);
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "spin");
  }
}

TEST_F(Cancel, CancelInsideNestedCoroutinesUnwindsTheWholeChain) {
  std::vector<std::string> unwound;
  struct Guard {
    std::vector<std::string>& out;
    std::string name;
    ~Guard() { out.push_back(name); }
  };
  std::function<Coro<void>(int)> nest;
  nest = [&](int depth) -> Coro<void> {
    Guard g{unwound, "level " + std::to_string(depth)};
    if (depth == 0) {
      co_await sleep(10s);
    } else {
      co_await nest(depth - 1);
    }
  };
  Task<void> t = loop.create_task(nest(3));
  when_settled(loop, [&] { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_EQ(unwound, (std::vector<std::string>{"level 0", "level 1", "level 2", "level 3"}));
}

}  // namespace
}  // namespace aiouv::test
