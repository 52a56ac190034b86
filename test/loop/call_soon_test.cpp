// call_soon: FIFO order, one batch per iteration, cancellation, errors.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using CallSoon = LoopTest;

TEST_F(CallSoon, RunsCallbacksInFifoOrderWithArguments) {
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) loop.call_soon([&order](int v) { order.push_back(v); }, i);
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(CallSoon, CallbackScheduledDuringDrainRunsNextIteration) {
  // asyncio's _run_once runs exactly the callbacks queued when it started.
  std::vector<std::string> order;
  loop.call_soon([&] {
    order.push_back("a");
    loop.call_soon([&] { order.push_back("c"); });
  });
  loop.call_soon([&] {
    order.push_back("b");
    loop.stop();  // stops after this batch: "c" belongs to the next one
  });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(CallSoon, CancelledHandleNeverRunsAndReleasesItsCapture) {
  auto token = std::make_shared<int>(7);
  std::weak_ptr<int> watch = token;
  bool ran = false;
  Handle h = loop.call_soon([token = std::move(token), &ran] { ran = true; });
  EXPECT_FALSE(h.cancelled());
  h.cancel();
  EXPECT_TRUE(h.cancelled());
  EXPECT_TRUE(watch.expired()) << "cancel() must drop the callback at once, as asyncio does";
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  EXPECT_FALSE(ran);
}

TEST_F(CallSoon, CancelAfterRunIsHarmless) {
  int runs = 0;
  Handle h = loop.call_soon([&] { ++runs; });
  Handle later = loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  h.cancel();
  h.cancel();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(runs, 1);
}

TEST_F(CallSoon, CancelFromAnEarlierCallbackInTheSameBatch) {
  bool ran = false;
  Handle victim;
  loop.call_soon([&] { victim.cancel(); });
  victim = loop.call_soon([&] { ran = true; });
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  EXPECT_FALSE(ran);
}

TEST_F(CallSoon, ThrowingCallbackGoesToHandlerAndLoopGoesOn) {
  record_exceptions();
  bool after = false;
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.call_soon([&] {
    after = true;
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(after);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message.rfind("Exception in callback", 0), 0u);
  EXPECT_EQ(what_of(reported[0].exception), "boom");
}

TEST_F(CallSoon, ManyCallbacksGrowTheQueueInOrder) {
  // Crosses the ring's growth several times, including from inside a drain.
  std::vector<int> seen;
  constexpr int kCount = 10000;
  loop.call_soon([&] {
    for (int i = 0; i < kCount; ++i) loop.call_soon([&seen, i] { seen.push_back(i); });
    loop.call_soon([this] { loop.stop(); });
  });
  loop.run_forever();
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(seen[i], i);
}

TEST_F(CallSoon, LargeCallablesWork) {
  std::array<char, 256> big{};
  big[100] = 'x';
  char got = 0;
  loop.call_soon([big, &got] { got = big[100]; });
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(got, 'x');
}

TEST_F(CallSoon, ClosedLoopRefusesWork) {
  loop.close();
  try {
    loop.call_soon([] {});
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Event loop is closed");
  }
  EXPECT_THROW(loop.call_later(std::chrono::seconds(1), [] {}), RuntimeError);
  EXPECT_THROW((void)loop.create_future<int>(), RuntimeError);
}

TEST_F(CallSoon, PendingCallbacksAreDroppedAtClose) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  loop.call_soon([token = std::move(token)] {});
  loop.close();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(loop.counters().callback_handles, 0u);
}

}  // namespace
}  // namespace aiouv::test
