// run_forever, run_until_complete, stop, close and their misuse errors.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Running = LoopTest;

Coro<int> add_later(int a, int b) {
  co_await sleep(1ms);
  co_return a + b;
}

Coro<void> fail_later() {
  co_await sleep(1ms);
  throw std::invalid_argument("bad input");
}

TEST_F(Running, RunUntilCompleteReturnsTheCoroutineResult) {
  EXPECT_EQ(loop.run_until_complete(add_later(2, 3)), 5);
  EXPECT_FALSE(loop.is_running());
}

TEST_F(Running, RunUntilCompleteRethrows) {
  EXPECT_THROW(loop.run_until_complete(fail_later()), std::invalid_argument);
}

TEST_F(Running, RunUntilCompleteAcceptsTaskAndFuture) {
  Task<int> task = loop.create_task(add_later(20, 22));
  EXPECT_EQ(loop.run_until_complete(task), 42);
  EXPECT_EQ(task.result(), 42) << "a task handle keeps its result";

  Future<std::string> fut = loop.create_future<std::string>();
  loop.call_later(1ms, [fut]() mutable { fut.set_result("done"); });
  EXPECT_EQ(loop.run_until_complete(fut), "done");
}

TEST_F(Running, RunUntilCompleteWithMoveOnlyResult) {
  auto make = []() -> Coro<std::unique_ptr<int>> {
    co_await sleep(0ms);
    co_return std::make_unique<int>(9);
  };
  std::unique_ptr<int> p = loop.run_until_complete(make());
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 9);
}

TEST_F(Running, RunUntilCompleteOfCancelledFutureThrowsCancelledError) {
  Future<int> fut = loop.create_future<int>();
  loop.call_soon([fut]() mutable { fut.cancel("stop it"); });
  try {
    loop.run_until_complete(fut);
    FAIL() << "expected CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "stop it");
  }
}

TEST_F(Running, StoppedBeforeTheFutureCompleted) {
  Future<int> fut = loop.create_future<int>();
  loop.call_soon([this] { loop.stop(); });
  EXPECT_EQ(error_of([&] { loop.run_until_complete(fut); }),
            "Event loop stopped before Future completed.");
  fut.cancel();
}

TEST_F(Running, StopBeforeRunForeverRunsOneIteration) {
  // asyncio: stop() then run_forever() runs one batch and returns.
  int runs = 0;
  loop.call_soon([&] { ++runs; });
  loop.stop();
  loop.run_forever();
  EXPECT_EQ(runs, 1);
}

TEST_F(Running, RunForeverWaitsForTimersAndStopsOnRequest) {
  const Clock::time_point start = loop.time();
  loop.call_later(30ms, [this] { loop.stop(); });
  loop.run_forever();
  EXPECT_GE(loop.time() - start, 30ms);
  EXPECT_FALSE(loop.is_running());
}

TEST_F(Running, IsRunningInsideCallbacks) {
  bool seen = false;
  loop.call_soon([&] {
    seen = loop.is_running();
    loop.stop();
  });
  EXPECT_FALSE(loop.is_running());
  loop.run_forever();
  EXPECT_TRUE(seen);
}

TEST_F(Running, RunningARunningLoopIsAnError) {
  std::string from_run_forever, from_run_until_complete;
  loop.call_soon([&] {
    from_run_forever = error_of([&] { loop.run_forever(); });
    from_run_until_complete = error_of([&] { loop.run_until_complete(add_later(1, 1)); });
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(from_run_forever, "This event loop is already running");
  EXPECT_EQ(from_run_until_complete, "This event loop is already running");
}

TEST_F(Running, RunningAnotherLoopInsideARunningOneIsAnError) {
  EventLoop other;
  std::string error;
  loop.call_soon([&] {
    error = error_of([&] { other.run_forever(); });
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(error, "Cannot run the event loop while another loop is running");
  other.close();
}

TEST_F(Running, ClosingARunningLoopIsAnError) {
  std::string error;
  loop.call_soon([&] {
    error = error_of([&] { loop.close(); });
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(error, "Cannot close a running event loop");
  EXPECT_FALSE(loop.is_closed());
}

TEST_F(Running, CloseIsIdempotentAndRunningAClosedLoopFails) {
  EXPECT_FALSE(loop.is_closed());
  loop.close();
  loop.close();
  EXPECT_TRUE(loop.is_closed());
  EXPECT_EQ(error_of([&] { loop.run_forever(); }), "Event loop is closed");
  EXPECT_EQ(error_of([&] { loop.run_until_complete(add_later(1, 2)); }), "Event loop is closed");
  // Both create_task forms refuse (the unnamed one has its own fast path).
  EXPECT_EQ(error_of([&] { (void)loop.create_task(add_later(1, 2)); }), "Event loop is closed");
  EXPECT_EQ(error_of([&] { (void)loop.create_task(add_later(1, 2), "named"); }), "Event loop is closed");
}

TEST_F(Running, CloseDestroysPendingTasksAndReportsEach) {
  record_exceptions();
  Future<void> never = loop.create_future<void>();
  auto waiter = [](Future<void> f) -> Coro<void> { co_await f; };
  {
    Task<void> t = loop.create_task(waiter(never), "stuck");
    loop.call_later(2ms, [this] { loop.stop(); });
    loop.run_forever();
    EXPECT_FALSE(t.done());
  }
  loop.close();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message, "Task was destroyed but it is pending!");
  EXPECT_NE(reported[0].object.find("stuck"), std::string::npos);
  EXPECT_TRUE(reported[0].future.is_task());
  reported.clear();
  never = {};
}

TEST_F(Running, TimeIsMonotonicLoopClock) {
  const Clock::time_point a = loop.time();
  const Clock::time_point b = loop.time();
  EXPECT_LE(a, b);
  EXPECT_LE(a, Clock::now());
}

TEST_F(Running, NativeHandleIsTheUvLoop) {
  uv_loop_t* uv = loop.native_handle();
  ASSERT_NE(uv, nullptr);
  EXPECT_EQ(uv_loop_alive(uv), 0) << "an idle aiouv loop keeps nothing alive";
}

}  // namespace
}  // namespace aiouv::test
