// Debug mode: slow callbacks and task steps are logged as warnings.
#include <thread>

#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Debug = LoopTest;

void busy_for(Clock::duration d) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
  }
}

/// A task body whose only step takes 10 ms.
Coro<void> slow_step() {
  busy_for(10ms);
  co_return;
}

TEST_F(Debug, OffByDefaultWithAsyncioThreshold) {
  EXPECT_FALSE(loop.get_debug());
  EXPECT_EQ(loop.slow_callback_duration, std::chrono::milliseconds(100));
  loop.set_debug(true);
  EXPECT_TRUE(loop.get_debug());
}

TEST_F(Debug, SlowCallbackIsLoggedAsWarning) {
  loop.set_debug(true);
  loop.slow_callback_duration = 5ms;
  loop.call_soon([] { busy_for(10ms); });
  loop.call_soon([] {});  // fast: not logged
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  auto lines = log.sink().take_matching(spdlog::level::warn, "took");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("Executing <Handle> took 0.0", 0), 0u) << lines[0];
  log.sink().take();
}

TEST_F(Debug, SlowTaskStepNamesTheTask) {
  loop.set_debug(true);
  loop.slow_callback_duration = 5ms;
  loop.run_until_complete(loop.create_task(slow_step(), "sluggish"));
  auto lines = log.sink().take_matching(spdlog::level::warn, "sluggish");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("took"), std::string::npos);
  log.sink().take();
}

// Nobody holds these tasks, so their last steps free them: the warnings
// must still name them, as they were when the step ended (asyncio shows
// them finished). Named or not: debug mode runs every step the general way,
// which keeps the task alive until it is named (the inline way, which only
// an unnamed task would take, frees it inside the step).
TEST_F(Debug, SlowLastStepOfAnUnheldTaskNamesTheFinishedTask) {
  loop.set_debug(true);
  loop.slow_callback_duration = 5ms;
  (void)loop.create_task(slow_step(), "forgotten");
  (void)loop.create_task(slow_step());
  loop.call_soon([this] { loop.call_soon([this] { loop.stop(); }); });
  loop.run_forever();
  auto lines = log.sink().take_matching(spdlog::level::warn, "took");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("Executing <Task finished name='forgotten'", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("Executing <Task finished name='Task-", 0), 0u) << lines[1];
  log.sink().take();
}

// An eager task steps inside a timer callback, outside the ready queue's
// drain: a slow plain callback after it is still labelled as a Handle.
TEST_F(Debug, AnEagerStepInATimerDoesNotLabelTheNextSlowCallback) {
  loop.set_debug(true);
  loop.slow_callback_duration = 5ms;
  loop.set_task_factory(eager_task_factory);
  auto quick = []() -> Coro<void> { co_return; };
  loop.call_later(1ms, [&] {
    (void)loop.create_task(quick(), "eager-one");
    loop.call_soon([] { busy_for(10ms); });
    loop.call_soon([this] { loop.stop(); });
  });
  loop.run_forever();
  auto lines = log.sink().take_matching(spdlog::level::warn, "took");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("Executing <Handle> took", 0), 0u) << lines[0];
  log.sink().take();
}

TEST_F(Debug, NoWarningWhenDebugIsOff) {
  loop.slow_callback_duration = 1ms;
  loop.call_soon([] { busy_for(3ms); });
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  EXPECT_TRUE(log.sink().take_matching(spdlog::level::warn, "took").empty());
}

TEST_F(Debug, CallSoonFromAForeignThreadThrowsInDebugMode) {
  loop.set_debug(true);
  std::string error;
  loop.call_soon([&] {
    std::thread other([&] {
      try {
        loop.call_soon([] {});
      } catch (const RuntimeError& e) {
        error = e.what();
      }
    });
    other.join();
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(error, "Non-thread-safe operation invoked on an event loop other than the current one");
  log.sink().take();
}

}  // namespace
}  // namespace aiouv::test
