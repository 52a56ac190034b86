// timeout() and timeout_at(): expiry, reschedule, expired(), nesting and
// outer cancellation, checked against asyncio 3.12's Timeout.
#include <limits>

#include "support/coro_helpers.hpp"
#include "support/loop_test.hpp"
#include "support/when_settled.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Timeouts = LoopTest;

/// Sleeps for an hour, recording its cancellation in `log`.
Coro<int> sleep_long(std::vector<std::string>& log) {
  try {
    co_await sleep(1h);
  } catch (const CancelledError&) {
    log.push_back("body cancelled");
    throw;
  }
  co_return 0;
}

TEST_F(Timeouts, BodyFinishingInTimeGivesItsResult) {
  auto main = [&]() -> Coro<int> {
    Timeout t = timeout(5s);
    const int value = co_await t.run(value_after(7, 1ms));
    EXPECT_FALSE(t.expired());
    EXPECT_EQ(t.repr(), "<Timeout [finished]>");
    co_return value;
  };
  EXPECT_EQ(loop.run_until_complete(main()), 7);
}

TEST_F(Timeouts, ExpiryCancelsTheBodyAndThrowsTimeoutError) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    Timeout t = timeout(5ms);
    try {
      co_await t.run(sleep_long(log));
    } catch (const TimeoutError&) {
      log.push_back("timeout");
    }
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(t.repr(), "<Timeout [expired]>");
    EXPECT_EQ(current_task().cancelling(), 0u) << "the timeout took back its cancel";
    co_await sleep(1ms);  // the task is not left with a pending cancellation
    log.push_back("went on");
  };
  loop.run_until_complete(main());
  EXPECT_EQ(log, (std::vector<std::string>{"body cancelled", "timeout", "went on"}));
}

TEST_F(Timeouts, NeverEarly) {
  auto main = [&]() -> Coro<Clock::duration> {
    const auto start = loop.time();
    try {
      co_await timeout(20ms, sleep(1h));
    } catch (const TimeoutError&) {
    }
    co_return loop.time() - start;
  };
  EXPECT_GE(loop.run_until_complete(main()), 20ms);
}

TEST_F(Timeouts, ConvenienceFormsAndTimeoutAt) {
  auto main = [&]() -> Coro<void> {
    EXPECT_EQ(co_await timeout(1s, value_after(3, 1ms)), 3);
    EXPECT_EQ(co_await timeout_at(loop.time() + 1s, value_after(4, 1ms)), 4);
    EXPECT_EQ(co_await timeout_at(std::nullopt, value_after(5, 1ms)), 5);
    bool timed_out = false;
    try {
      // A deadline already passed expires at the next iteration.
      co_await timeout_at(loop.time() - 1s, sleep(1h));
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
  };
  loop.run_until_complete(main());
}

TEST_F(Timeouts, NoDeadlineAndHugeDelaysNeverFire) {
  auto main = [&]() -> Coro<void> {
    Timeout none = timeout(std::nullopt);
    EXPECT_EQ(none.when(), std::nullopt);
    co_await none.run(sleep(2ms));
    EXPECT_FALSE(none.expired());
    Timeout huge = timeout(std::chrono::hours::max());
    EXPECT_EQ(huge.when(), Clock::time_point::max()) << "saturates instead of overflowing";
    co_await huge.run(sleep(2ms));
    EXPECT_FALSE(huge.expired());
    co_await timeout(std::chrono::nanoseconds::max(), sleep(1ms));
  };
  loop.run_until_complete(main());
}

TEST_F(Timeouts, RescheduleMovesTheDeadline) {
  auto main = [&]() -> Coro<void> {
    Timeout t = timeout(5ms);
    auto body = [&]() -> Coro<void> {
      t.reschedule(loop.time() + 1h);  // later: survives the original 5 ms
      co_await sleep(20ms);
      t.reschedule(std::nullopt);
      EXPECT_EQ(t.when(), std::nullopt);
      co_await sleep(5ms);
      t.reschedule_in(2ms);  // sooner: expires
      co_await sleep(1h);
    };
    bool timed_out = false;
    try {
      co_await t.run(body());
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
  };
  loop.run_until_complete(main());
}

TEST_F(Timeouts, RescheduleToThePastExpiresAtTheNextIteration) {
  auto main = [&]() -> Coro<void> {
    Timeout t = timeout(1h);
    auto body = [&]() -> Coro<void> {
      t.reschedule(loop.time());
      EXPECT_FALSE(t.expired()) << "not before the loop gets a turn";
      co_await sleep(1h);
    };
    EXPECT_THROW(co_await t.run(body()), TimeoutError);
  };
  loop.run_until_complete(main());
}

TEST_F(Timeouts, MisuseHasAsyncioMessages) {
  auto main = [&]() -> Coro<void> {
    Timeout fresh = timeout(1s);
    EXPECT_EQ(error_of([&] { fresh.reschedule(std::nullopt); }), "Timeout has not been entered");
    EXPECT_EQ(fresh.repr(), "<Timeout [created]>");

    co_await fresh.run(sleep(0s));
    EXPECT_EQ(error_of([&] { fresh.reschedule(std::nullopt); }), "Cannot change state of finished Timeout");
    std::string second;
    try {
      co_await fresh.run(sleep(0s));
    } catch (const RuntimeError& e) {
      second = e.what();
    }
    EXPECT_EQ(second, "Timeout has already been entered");

    Timeout expiring = timeout(1ms);
    std::string inside;
    auto body = [&]() -> Coro<void> {
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {
        inside = error_of([&] { expiring.reschedule(std::nullopt); });
        throw;
      }
    };
    EXPECT_THROW(co_await expiring.run(body()), TimeoutError);
    EXPECT_EQ(inside, "Cannot change state of expiring Timeout");
    EXPECT_EQ(error_of([&] { expiring.reschedule(std::nullopt); }), "Cannot change state of expired Timeout");
  };
  loop.run_until_complete(main());
  EXPECT_EQ(error_of([] { (void)timeout(1s); }), "no running event loop");
}

TEST_F(Timeouts, ReprWhileActive) {
  auto main = [&]() -> Coro<void> {
    Timeout t = timeout_at(Clock::time_point(12'345'678us));
    auto body = [&]() -> Coro<void> {
      EXPECT_EQ(t.repr(), "<Timeout [active] when=12.346>");
      co_return;
    };
    try {
      co_await t.run(body());
    } catch (const TimeoutError&) {
    }
  };
  loop.run_until_complete(main());
}

TEST_F(Timeouts, OtherErrorsPassThroughUnchanged) {
  auto fails = []() -> Coro<void> {
    co_await sleep(1ms);
    throw std::out_of_range("body failed");
  };
  auto converts = []() -> Coro<void> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      throw std::logic_error("converted");
    }
  };
  auto main = [&]() -> Coro<void> {
    EXPECT_THROW(co_await timeout(1s, fails()), std::out_of_range);
    // Expired, but the body turned the cancellation into its own error.
    Timeout t = timeout(2ms);
    EXPECT_THROW(co_await t.run(converts()), std::logic_error);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(current_task().cancelling(), 0u);
  };
  loop.run_until_complete(main());
}

TEST_F(Timeouts, ABodyThatSwallowsTheCancellationKeepsItsResult) {
  auto stubborn = []() -> Coro<int> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      co_return 99;
    }
    co_return 0;
  };
  auto main = [&]() -> Coro<void> {
    Timeout t = timeout(2ms);
    EXPECT_EQ(co_await t.run(stubborn()), 99);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(current_task().cancelling(), 0u);
    co_await sleep(1ms);  // and no cancellation is left pending
  };
  loop.run_until_complete(main());
}

TEST_F(Timeouts, InnerExpiryIsNotAnOuterCancellation) {
  auto main = [&]() -> Coro<std::string> {
    Timeout outer = timeout(1h);
    Timeout inner = timeout(2ms);
    auto body = [&]() -> Coro<std::string> {
      try {
        co_await inner.run(sleep(1h));
      } catch (const TimeoutError&) {
        co_return "inner timed out";
      }
      co_return "no timeout";
    };
    std::string result = co_await outer.run(body());
    EXPECT_TRUE(inner.expired());
    EXPECT_FALSE(outer.expired());
    co_return result;
  };
  EXPECT_EQ(loop.run_until_complete(main()), "inner timed out");
}

TEST_F(Timeouts, OuterExpiryPassesThroughTheInnerTimeout) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    Timeout outer = timeout(2ms);
    Timeout inner = timeout(1h);
    auto body = [&]() -> Coro<void> {
      try {
        co_await inner.run(sleep_long(log));
      } catch (const TimeoutError&) {
        log.push_back("inner saw TimeoutError");  // must not happen
        throw;
      } catch (const CancelledError&) {
        log.push_back("inner passed the cancellation on");
        throw;
      }
    };
    try {
      co_await outer.run(body());
    } catch (const TimeoutError&) {
      log.push_back("outer timed out");
    }
    EXPECT_FALSE(inner.expired());
    EXPECT_TRUE(outer.expired());
  };
  loop.run_until_complete(main());
  EXPECT_EQ(log, (std::vector<std::string>{"body cancelled", "inner passed the cancellation on", "outer timed out"}));
}

TEST_F(Timeouts, SimultaneousExpiryIsReportedByTheOuterTimeout) {
  // Both fire in the same iteration: the inner one sees a second, foreign
  // cancellation and lets it through; the outer one converts it (asyncio's
  // test_nested_timeouts_concurrent).
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    const Clock::time_point when = loop.time() + 2ms;
    Timeout outer = timeout_at(when);
    Timeout inner = timeout_at(when);
    auto body = [&]() -> Coro<void> {
      try {
        co_await inner.run(sleep(1h));
      } catch (const CancelledError&) {
        log.push_back("inner: CancelledError");
        throw;
      }
    };
    try {
      co_await outer.run(body());
    } catch (const TimeoutError&) {
      log.push_back("outer: TimeoutError");
    }
    EXPECT_TRUE(inner.expired());
    EXPECT_TRUE(outer.expired());
    EXPECT_EQ(current_task().cancelling(), 0u);
  };
  loop.run_until_complete(main());
  EXPECT_EQ(log, (std::vector<std::string>{"inner: CancelledError", "outer: TimeoutError"}));
}

TEST_F(Timeouts, OuterCancellationIsNotSwallowed) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> { co_await timeout(1h, sleep_long(log)); };
  Task<void> task = loop.create_task(main());
  when_settled(loop, [&] { task.cancel(); });
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_EQ(log, (std::vector<std::string>{"body cancelled"}));
}

TEST_F(Timeouts, CancellationRacingTheExpiryWins) {
  // The deadline and an outside cancel() land in the same iteration: two
  // requests, one taken back by the timeout, so CancelledError goes on.
  auto main = [&]() -> Coro<void> {
    Timeout t = timeout(1h);
    auto body = [&]() -> Coro<void> {
      t.reschedule(loop.time());  // fires at the next iteration
      current_task().cancel();    // and so does this
      co_await sleep(1h);
    };
    co_await t.run(body());
  };
  Task<void> task = loop.create_task(main());
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
}

TEST_F(Timeouts, ExpiryCancelsAnAwaitedTask) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    Task<int> child = loop.create_task(sleep_long(log));
    co_await sleep(0s);  // the child starts (a task cancelled before that never enters its body)
    EXPECT_THROW((void)co_await timeout(2ms, child), TimeoutError);
    EXPECT_TRUE(child.cancelled());
  };
  loop.run_until_complete(main());
  EXPECT_EQ(log, (std::vector<std::string>{"body cancelled"}));
}

TEST_F(Timeouts, FutureBodiesKeepTheirResultForOtherHandles) {
  auto main = [&]() -> Coro<void> {
    Future<std::string> f = loop.create_future<std::string>();
    loop.call_soon([f]() mutable { f.set_result("shared"); });
    EXPECT_EQ(co_await timeout(1s, f), "shared");
    EXPECT_EQ(f.result(), "shared");
  };
  loop.run_until_complete(main());
}

TEST_F(Timeouts, MoveOnlyResults) {
  auto make = []() -> Coro<std::unique_ptr<int>> {
    co_await sleep(1ms);
    co_return std::make_unique<int>(5);
  };
  auto main = [&]() -> Coro<int> {
    std::unique_ptr<int> p = co_await timeout(1s, make());
    co_return *p;
  };
  EXPECT_EQ(loop.run_until_complete(main()), 5);
}

TEST_F(Timeouts, LoopCloseWithAnActiveTimeoutLeavesNothingBehind) {
  // The task is destroyed pending at close(): its timer must go with it.
  auto main = [&]() -> Coro<void> { co_await timeout(1h, sleep(1h)); };
  Task<void> task = loop.create_task(main());
  loop.call_later(1ms, [&] { loop.stop(); });
  loop.run_forever();
  record_exceptions();
  loop.close();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message, "Task was destroyed but it is pending!");
  reported.clear();
}

}  // namespace
}  // namespace aiouv::test
