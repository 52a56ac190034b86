// call_later / call_at: ordering, never early, edge delays, cancellation.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Timers = LoopTest;

TEST_F(Timers, FireInDeadlineOrder) {
  std::vector<int> order;
  loop.call_later(30ms, [&] { order.push_back(3); });
  loop.call_later(10ms, [&] { order.push_back(1); });
  loop.call_later(20ms, [&] { order.push_back(2); });
  loop.call_later(40ms, [this] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST_F(Timers, EqualDeadlinesRunInSchedulingOrder) {
  // asyncio's heap does not promise this; aiouv does (libuv's start_id).
  std::vector<int> order;
  const Clock::time_point when = loop.time() + 5ms;
  for (int i = 0; i < 50; ++i) loop.call_at(when, [&order, i] { order.push_back(i); });
  loop.call_at(when, [this] { loop.stop(); });
  loop.run_forever();
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
}

TEST_F(Timers, NeverFireEarlyAgainstTheClock) {
  // The scenario that makes a raw uv_timer_t fire early: a callback burns
  // time on a stale cached clock, then arms a timer, with another timer
  // waking the loop meanwhile.
  std::vector<Clock::duration> lateness;
  loop.call_soon([&] {
    const auto busy_until = Clock::now() + 3ms;
    while (Clock::now() < busy_until) {
    }
    for (auto delay : {1ms, 2ms, 5ms, 7ms}) {
      const Clock::time_point deadline = loop.time() + delay;
      loop.call_later(delay, [&lateness, deadline] { lateness.push_back(Clock::now() - deadline); });
    }
    loop.call_later(20ms, [this] { loop.stop(); });
  });
  loop.run_forever();
  ASSERT_EQ(lateness.size(), 4u);
  for (auto late : lateness) EXPECT_GE(late.count(), 0) << "fired early";
}

TEST_F(Timers, ManyShortTimersNeverEarly) {
  int checked = 0;
  for (int i = 0; i < 200; ++i) {
    const auto delay = std::chrono::microseconds(100 * (i % 37));
    const Clock::time_point deadline = loop.time() + delay;
    loop.call_later(delay, [&checked, deadline] {
      EXPECT_GE(Clock::now(), deadline);
      ++checked;
    });
  }
  loop.call_later(50ms, [this] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(checked, 200);
}

TEST_F(Timers, NegativeDelayRunsAsZero) {
  std::vector<int> order;
  loop.call_later(-5s, [&] { order.push_back(1); });
  loop.call_later(0s, [&] { order.push_back(2); });
  loop.call_later(1ms, [this] { loop.stop(); });
  const Clock::time_point start = loop.time();
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_LT(loop.time() - start, 1s);
}

TEST_F(Timers, ReadyCallbacksQueuedEarlierRunBeforeADueTimer) {
  // asyncio appends due timers to _ready after what is already there.
  std::vector<std::string> order;
  loop.call_later(0s, [&] { order.push_back("timer"); });
  loop.call_soon([&] { order.push_back("soon"); });
  loop.call_later(5ms, [this] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"soon", "timer"}));
}

TEST_F(Timers, HugeDelaysNeitherOverflowNorFire) {
  bool fired = false;
  TimerHandle forever = loop.call_later(Clock::duration::max(), [&] { fired = true; });
  TimerHandle hours = loop.call_later(std::chrono::hours::max(), [&] { fired = true; });
  TimerHandle years = loop.call_later(std::chrono::years(500), [&] { fired = true; });
  TimerHandle dbl = loop.call_later(std::chrono::duration<double>(1e300), [&] { fired = true; });
  EXPECT_GT(forever.when(), loop.time() + std::chrono::years(100));
  EXPECT_GT(hours.when(), loop.time());
  EXPECT_GT(years.when(), loop.time() + std::chrono::years(200));
  EXPECT_GT(dbl.when(), loop.time());
  loop.call_later(20ms, [this] { loop.stop(); });
  loop.run_forever();
  EXPECT_FALSE(fired);
  forever.cancel();
  hours.cancel();
  years.cancel();
  dbl.cancel();
}

TEST_F(Timers, CancelledTimerNeverRunsAndFreesItsCapture) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  bool fired = false;
  TimerHandle h = loop.call_later(5ms, [token = std::move(token), &fired] { fired = true; });
  h.cancel();
  EXPECT_TRUE(h.cancelled());
  EXPECT_TRUE(watch.expired());
  loop.call_later(20ms, [this] { loop.stop(); });
  loop.run_forever();
  EXPECT_FALSE(fired);
}

TEST_F(Timers, CancelADueTimerFromAnEarlierCallbackOfTheSameBatch) {
  bool fired = false;
  TimerHandle second;
  // Same deadline: both move to the ready queue in one pass, and the first
  // cancels the second while it waits there.
  const Clock::time_point when = loop.time() + 1ms;
  loop.call_at(when, [&] { second.cancel(); });
  second = loop.call_at(when, [&] { fired = true; });
  loop.call_later(10ms, [this] { loop.stop(); });
  loop.run_forever();
  EXPECT_FALSE(fired);
}

TEST_F(Timers, CancelHalfOfManyTimers) {
  std::vector<TimerHandle> handles;
  int fired = 0;
  for (int i = 0; i < 1000; ++i) handles.push_back(loop.call_later(std::chrono::microseconds(i * 5), [&] { ++fired; }));
  for (int i = 0; i < 1000; i += 2) handles[i].cancel();
  loop.call_later(30ms, [this] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(fired, 500);
}

TEST_F(Timers, CallAtAcceptsWallClockTime) {
  const auto unix_when = std::chrono::system_clock::now() + 20ms;
  Clock::time_point fired_at{};
  const Clock::time_point start = loop.time();
  TimerHandle h = loop.call_at(unix_when, [&] {
    fired_at = Clock::now();
    loop.stop();
  });
  EXPECT_GE(h.when(), start + 15ms);
  EXPECT_LE(h.when(), start + 25ms);
  loop.run_forever();
  EXPECT_GE(fired_at, h.when());
}

TEST_F(Timers, CallAtInThePastRunsSoon) {
  bool fired = false;
  loop.call_at(loop.time() - 1s, [&] {
    fired = true;
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(fired);
}

TEST_F(Timers, ThrowingTimerCallbackIsReportedAndLoopGoesOn) {
  record_exceptions();
  bool later = false;
  loop.call_later(1ms, [] { throw std::logic_error("timer boom"); });
  loop.call_later(5ms, [&] {
    later = true;
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(later);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(what_of(reported[0].exception), "timer boom");
}

TEST_F(Timers, TimerHandleWhenIsTheLoopTimeDeadline) {
  const Clock::time_point before = loop.time();
  TimerHandle h = loop.call_later(250ms, [] {});
  EXPECT_GE(h.when(), before + 250ms);
  EXPECT_LE(h.when(), loop.time() + 250ms);
  h.cancel();
}

TEST_F(Timers, PendingTimersAreDroppedAtClose) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  loop.call_later(1h, [token = std::move(token)] {});
  loop.close();
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace aiouv::test
