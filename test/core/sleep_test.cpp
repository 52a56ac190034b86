// sleep(): delays, sleep(0) yields exactly once, values, cancellation.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Sleep = LoopTest;

TEST_F(Sleep, SleepsAtLeastTheDelay) {
  auto body = [this]() -> Coro<Clock::duration> {
    const Clock::time_point start = loop.time();
    co_await sleep(20ms);
    co_return loop.time() - start;
  };
  const Clock::duration took = loop.run_until_complete(body());
  EXPECT_GE(took, 20ms);
  EXPECT_LT(took, 2s);
}

TEST_F(Sleep, ZeroYieldsExactlyOneIteration) {
  std::vector<std::string> order;
  auto body = [&]() -> Coro<void> {
    order.push_back("task 1");
    co_await sleep(0s);
    order.push_back("task 2");
  };
  Task<void> t = loop.create_task(body());
  loop.call_soon([&] {
    order.push_back("cb A");
    loop.call_soon([&] { order.push_back("cb B"); });
  });
  loop.run_until_complete(t);
  // Iteration 1: task step, cb A. Iteration 2: task resumes, then cb B
  // (both queued during iteration 1, the task first).
  EXPECT_EQ(order, (std::vector<std::string>{"task 1", "cb A", "task 2", "cb B"}));
}

TEST_F(Sleep, NegativeDelayYieldsOnce) {
  auto body = []() -> Coro<int> {
    co_await sleep(-1s);
    co_return 1;
  };
  EXPECT_EQ(loop.run_until_complete(body()), 1);
}

TEST_F(Sleep, SleepWithValue) {
  auto body = []() -> Coro<std::string> { co_return co_await sleep(1ms, std::string("payload")); };
  EXPECT_EQ(loop.run_until_complete(body()), "payload");
}

TEST_F(Sleep, FractionalAndCoarseDurations) {
  auto body = []() -> Coro<void> {
    co_await sleep(std::chrono::duration<double>(0.002));
    co_await sleep(std::chrono::microseconds(500));
    co_await sleep(std::chrono::seconds(0));
  };
  loop.run_until_complete(body());
}

TEST_F(Sleep, RunUntilCompleteOfASleep) {
  loop.run_until_complete(sleep(1ms));
  EXPECT_EQ(loop.run_until_complete(sleep(1ms, 8)), 8);
}

TEST_F(Sleep, CancelledSleepLeavesNoTimerBehind) {
  auto body = []() -> Coro<void> { co_await sleep(1h); };
  Task<void> t = loop.create_task(body());
  loop.call_later(1ms, [&] { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_EQ(loop.counters().callback_handles, 0u);
  EXPECT_EQ(uv_loop_alive(loop.native_handle()), 0);
}

TEST_F(Sleep, ConcurrentSleepsFinishTogether) {
  // The asyncio hello world: two 200 ms sleeps in parallel take ~200 ms;
  // one after the other they would take 400 ms.
  auto nap = []() -> Coro<void> { co_await sleep(200ms); };
  auto main = [&]() -> Coro<Clock::duration> {
    const Clock::time_point start = Clock::now();
    Task<void> a = create_task(nap());
    Task<void> b = create_task(nap());
    co_await a;
    co_await b;
    co_return Clock::now() - start;
  };
  const Clock::duration took = loop.run_until_complete(main());
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 390ms);
}

}  // namespace
}  // namespace aiouv::test
