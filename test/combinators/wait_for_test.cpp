// wait_for() and shield(): timeouts that cancel and await, races with the
// deadline, nesting, and cancellation that does or does not reach the child.
#include "support/coro_helpers.hpp"
#include "support/loop_test.hpp"
#include "support/when_settled.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using WaitFor = LoopTest;


TEST_F(WaitFor, ReturnsTheResultInTime) {
  auto main = [&]() -> Coro<int> { co_return co_await wait_for(value_after(7, 1ms), 5s); };
  EXPECT_EQ(loop.run_until_complete(main()), 7);
  EXPECT_EQ(loop.counters().callback_handles, 0u) << "the deadline timer is gone";
}

TEST_F(WaitFor, TimeoutCancelsAndAwaitsTheChildFirst) {
  std::vector<std::string> events;
  auto slow = [&]() -> Coro<int> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      events.push_back("child cleaned up");
      throw;
    }
    co_return 0;
  };
  auto main = [&]() -> Coro<void> {
    try {
      co_await wait_for(slow(), 5ms);
    } catch (const TimeoutError&) {
      events.push_back("timeout");
    }
    EXPECT_EQ(current_task().cancelling(), 0u) << "the timeout's own cancel was undone";
  };
  loop.run_until_complete(main());
  EXPECT_EQ(events, (std::vector<std::string>{"child cleaned up", "timeout"}));
}

TEST_F(WaitFor, ACoroutineRunsInlineInTheCallersTask) {
  // asyncio 3.12: `async with timeout(delay): return await fut`, no new task.
  auto main = [&]() -> Coro<bool> {
    const AnyTask caller = current_task();
    const std::size_t tasks_before = all_tasks().size();
    auto inner = [&]() -> Coro<bool> {
      co_await sleep(1ms);
      co_return current_task() == caller && all_tasks().size() == tasks_before;
    };
    co_return co_await wait_for(inner(), 5s);
  };
  EXPECT_TRUE(loop.run_until_complete(main()));
}

TEST_F(WaitFor, AResultRacingTheDeadlineIsNotLost) {
  auto stubborn = []() -> Coro<int> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      co_return 99;  // finishes anyway
    }
    co_return 0;
  };
  auto main = [&]() -> Coro<int> { co_return co_await wait_for(stubborn(), 2ms); };
  EXPECT_EQ(loop.run_until_complete(main()), 99);
}

TEST_F(WaitFor, ExceptionsOfTheChildPropagate) {
  auto failing = []() -> Coro<int> {
    co_await sleep(1ms);
    throw std::out_of_range("child failed");
  };
  auto main = [&]() -> Coro<void> { (void)co_await wait_for(failing(), 1s); };
  EXPECT_THROW(loop.run_until_complete(main()), std::out_of_range);
}

TEST_F(WaitFor, CancellingTheCallerIsCancellationNotTimeout) {
  bool child_cancelled = false;
  auto child = [&]() -> Coro<int> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      child_cancelled = true;
      throw;
    }
    co_return 0;
  };
  auto main = [&]() -> Coro<void> { (void)co_await wait_for(child(), 10s); };
  Task<void> t = loop.create_task(main());
  when_settled(loop, [&] { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_TRUE(child_cancelled);
}

TEST_F(WaitFor, NestedTimeoutsAreNotConfused) {
  auto main = [&]() -> Coro<std::string> {
    try {
      // The inner deadline expires first; the outer one must not fire.
      co_await wait_for(wait_for(value_after(1, 1h), 5ms), 10s);
    } catch (const TimeoutError&) {
      co_return current_task().cancelling() == 0 ? "inner timeout" : "confused";
    }
    co_return "no timeout";
  };
  EXPECT_EQ(loop.run_until_complete(main()), "inner timeout");
}

TEST_F(WaitFor, ZeroDelay) {
  auto main = [&]() -> Coro<void> {
    Future<int> done = loop.create_future<int>();
    done.set_result(3);
    EXPECT_EQ(co_await wait_for(done, 0s), 3);
    bool timed_out = false;
    try {
      co_await wait_for(value_after(1, 1h), 0s);
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
  };
  loop.run_until_complete(main());
}

TEST_F(WaitFor, ShieldProtectsTheChildFromTheCallersCancellation) {
  Task<int> child;
  auto main = [&]() -> Coro<int> {
    child = create_task(value_after(5, 20ms));
    co_return co_await shield(child);
  };
  Task<int> t = loop.create_task(main());
  when_settled(loop, [&] { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_FALSE(child.cancelled());
  EXPECT_EQ(loop.run_until_complete(child), 5);
}

TEST_F(WaitFor, ShieldPassesResultsAndErrorsThrough) {
  auto main = [&]() -> Coro<void> {
    EXPECT_EQ(co_await shield(value_after(4, 1ms)), 4);
    auto failing = []() -> Coro<void> {
      co_await sleep(1ms);
      throw std::runtime_error("inner");
    };
    bool caught = false;
    try {
      co_await shield(failing());
    } catch (const std::runtime_error&) {
      caught = true;
    }
    EXPECT_TRUE(caught);
    Future<int> done = loop.create_future<int>();
    done.set_result(1);
    EXPECT_TRUE(shield(done) == done) << "a done future is returned as is";
  };
  loop.run_until_complete(main());
}

TEST_F(WaitFor, WaitForAShieldTimesOutWithoutCancellingTheChild) {
  Task<int> child;
  auto main = [&]() -> Coro<bool> {
    child = create_task(value_after(8, 20ms));
    try {
      co_await wait_for(shield(child), 2ms);
    } catch (const TimeoutError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(loop.run_until_complete(main()));
  EXPECT_EQ(loop.run_until_complete(child), 8);
}

TEST_F(WaitFor, CancelledShieldsDoNotPileUpOnTheInnerFuture) {
  Future<int> inner = loop.create_future<int>();
  for (int i = 0; i < 3; ++i) {
    Future<int> outer = shield(inner);
    outer.cancel();
  }
  loop.run_until_complete(sleep(0s));  // the outers' callbacks run
  EXPECT_EQ(loop.counters().futures, 1u) << "only the inner is left: each cancelled outer let go of it";
  EXPECT_FALSE(inner.cancelled());
  inner.set_result(1);
  loop.run_until_complete(sleep(0s));
}

TEST_F(WaitFor, AShieldThatNeverFinishesLeavesNothingBehind) {
  // The inner's callback holds the outer; the outer must not hold the
  // inner, or the two would keep each other alive forever.
  {
    Future<int> inner = loop.create_future<int>();
    Future<int> outer = shield(inner);
  }
  EXPECT_EQ(loop.counters().futures, 0u);
  Future<int> inner = loop.create_future<int>();
  auto wait_shielded = [&]() -> Coro<void> { (void)co_await shield(inner); };
  (void)loop.create_task(wait_shielded());
  loop.run_until_complete(sleep(0s));  // the task waits on the outer
  inner = {};
  loop.close();  // the fixture checks that no future is left alive
  EXPECT_EQ(log.sink().take_matching(spdlog::level::err, "Task was destroyed but it is pending!").size(), 1u);
}

}  // namespace
}  // namespace aiouv::test
