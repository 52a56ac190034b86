// Embedding: EventLoop(uv_loop_t*) inside a host program's own uv_run.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;

class Embed : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&host), 0); }
  void TearDown() override {
    EXPECT_EQ(uv_loop_close(&host), 0) << "after close(), the host's uv_loop_close must succeed";
    for (const auto& line : log.sink().take()) {
      EXPECT_LT(line.level, spdlog::level::err) << line.text;
    }
  }
  LogCapture log;
  uv_loop_t host;
};

Coro<int> sleepy_sum(int n) {
  int total = 0;
  for (int i = 1; i <= n; ++i) {
    co_await sleep(1ms);
    total += i;
  }
  co_return total;
}

TEST_F(Embed, HostUvRunDrivesTasksAndReturnsWhenAllIsDone) {
  EventLoop loop(&host);
  EXPECT_EQ(loop.native_handle(), &host);
  Task<int> task = loop.create_task(sleepy_sum(5));
  // The host's plain libuv code: nothing but uv_run.
  uv_run(&host, UV_RUN_DEFAULT);
  ASSERT_TRUE(task.done()) << "uv_run returned before aiouv's work was done";
  EXPECT_EQ(task.result(), 15);
  task = {};
  loop.close();
  EXPECT_EQ(loop.counters().uv_handles, 0u);
}

TEST_F(Embed, IdleAiouvKeepsNothingAlive) {
  EventLoop loop(&host);
  EXPECT_EQ(uv_loop_alive(&host), 0);
  EXPECT_EQ(uv_run(&host, UV_RUN_DEFAULT), 0);
  loop.close();
}

TEST_F(Embed, CancelledTimerDoesNotKeepHostAlive) {
  EventLoop loop(&host);
  TimerHandle h = loop.call_later(1h, [] {});
  EXPECT_NE(uv_loop_alive(&host), 0);
  h.cancel();
  EXPECT_EQ(uv_loop_alive(&host), 0);
  EXPECT_EQ(uv_run(&host, UV_RUN_DEFAULT), 0);
  // The uv_timer_t may stay armed, unreferenced, after a cancel: a later
  // timer must make it count again, a sooner one must re-arm it.
  TimerHandle later = loop.call_later(2h, [] {});
  EXPECT_NE(uv_loop_alive(&host), 0);
  later.cancel();
  EXPECT_EQ(uv_loop_alive(&host), 0);
  bool fired = false;
  loop.call_later(1ms, [&] { fired = true; });
  const auto start = Clock::now();
  EXPECT_EQ(uv_run(&host, UV_RUN_DEFAULT), 0);
  EXPECT_TRUE(fired);
  EXPECT_LT(Clock::now() - start, 10s);
  loop.close();
}

struct HostTimer {
  uv_timer_t timer;
  int fired = 0;
  std::vector<std::string>* log;
};

TEST_F(Embed, HostTimersAndAiouvTasksInterleave) {
  EventLoop loop(&host);
  std::vector<std::string> events;
  HostTimer ht{{}, 0, &events};
  uv_timer_init(&host, &ht.timer);
  ht.timer.data = &ht;
  uv_timer_start(
      &ht.timer,
      [](uv_timer_t* t) {
        auto* self = static_cast<HostTimer*>(t->data);
        self->log->push_back("host " + std::to_string(++self->fired));
        if (self->fired == 3) uv_timer_stop(t);
      },
      2, 2);
  auto worker = [](std::vector<std::string>& out) -> Coro<void> {
    for (int i = 1; i <= 3; ++i) {
      co_await sleep(2ms);
      out.push_back("aiouv " + std::to_string(i));
    }
  };
  Task<void> t = loop.create_task(worker(events));
  uv_run(&host, UV_RUN_DEFAULT);
  EXPECT_TRUE(t.done());
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](auto& s) { return s.rfind("host", 0) == 0; }), 3);
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](auto& s) { return s.rfind("aiouv", 0) == 0; }), 3);
  uv_close(reinterpret_cast<uv_handle_t*>(&ht.timer), nullptr);
  uv_run(&host, UV_RUN_DEFAULT);
  t = {};
  loop.close();
}

TEST_F(Embed, GetRunningLoopWorksInsideCallbacksDrivenByHost) {
  EventLoop loop(&host);
  EventLoop* seen = nullptr;
  loop.call_soon([&] { seen = &get_running_loop(); });
  EXPECT_THROW(get_running_loop(), RuntimeError);
  uv_run(&host, UV_RUN_DEFAULT);
  EXPECT_EQ(seen, &loop);
  loop.close();
}

TEST_F(Embed, CloseWithPendingWorkStillLetsHostCloseItsLoop) {
  EventLoop loop(&host);
  loop.set_exception_handler([](EventLoop&, const ExceptionContext&) {});
  loop.call_later(1h, [] {});
  loop.call_soon([] {});
  Future<void> never = loop.create_future<void>();
  auto waiter = [](Future<void> f) -> Coro<void> { co_await f; };
  (void)loop.create_task(waiter(never));
  uv_run(&host, UV_RUN_NOWAIT);
  never = {};
  loop.close();
  EXPECT_EQ(loop.counters().uv_handles, 0u);
  EXPECT_EQ(loop.counters().tasks, 0u);
}

TEST_F(Embed, ThreadsafeCallsArriveWhileHostRuns) {
  EventLoop loop(&host);
  // A host handle keeps uv_run going until aiouv says it is done.
  uv_idle_t keep_alive;
  uv_idle_init(&host, &keep_alive);
  uv_idle_start(&keep_alive, [](uv_idle_t*) {});
  bool got = false;
  std::thread other([&] {
    loop.call_soon_threadsafe([&] {
      got = true;
      uv_idle_stop(&keep_alive);
    });
  });
  uv_run(&host, UV_RUN_DEFAULT);
  other.join();
  EXPECT_TRUE(got);
  uv_close(reinterpret_cast<uv_handle_t*>(&keep_alive), nullptr);
  uv_run(&host, UV_RUN_DEFAULT);
  loop.close();
}

TEST(EmbedNull, NullBorrowedLoopIsRejected) {
  EXPECT_THROW(EventLoop(static_cast<uv_loop_t*>(nullptr)), std::invalid_argument);
}

}  // namespace
}  // namespace aiouv::test
