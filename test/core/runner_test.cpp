// run(), Runner, and the loop-finding functions.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;

class Runners : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& line : log.sink().take()) EXPECT_LT(line.level, spdlog::level::err) << line.text;
  }
  LogCapture log;
};

Coro<int> forty_two() {
  co_await sleep(1ms);
  co_return 42;
}

TEST_F(Runners, RunReturnsTheResult) { EXPECT_EQ(run(forty_two()), 42); }

TEST_F(Runners, RunRethrows) {
  auto failing = []() -> Coro<void> {
    co_await sleep(0ms);
    throw std::runtime_error("main failed");
  };
  EXPECT_THROW(run(failing()), std::runtime_error);
}

TEST_F(Runners, RunInsideARunningLoopIsAnError) {
  auto inner = []() -> Coro<std::string> {
    try {
      run(forty_two());
    } catch (const RuntimeError& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_EQ(run(inner()), "asyncio.run() cannot be called from a running event loop");
}

TEST_F(Runners, RunCancelsLeftoverTasksAndWaitsForThem) {
  bool cleaned_up = false;
  auto background = [&]() -> Coro<void> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      cleaned_up = true;
      throw;
    }
  };
  auto main = [&]() -> Coro<int> {
    (void)create_task(background());
    co_await sleep(1ms);
    co_return 1;
  };
  EXPECT_EQ(run(main()), 1);
  EXPECT_TRUE(cleaned_up) << "leftover tasks are cancelled and run to their end";
}

TEST_F(Runners, LeftoverTaskFailingDuringShutdownIsReported) {
  auto background = []() -> Coro<void> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
    }
    throw std::runtime_error("cleanup failed");
  };
  auto main = [&]() -> Coro<void> {
    (void)create_task(background());
    co_await sleep(1ms);
  };
  run(main());
  auto lines = log.sink().take_matching(spdlog::level::err, "unhandled exception during asyncio.run() shutdown");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("cleanup failed"), std::string::npos);
}

TEST_F(Runners, RunnerRunsSeveralCoroutinesOnOneLoop) {
  Runner runner;
  EventLoop* first = nullptr;
  EventLoop* second = nullptr;
  auto where = [](EventLoop*& out) -> Coro<void> {
    out = &get_running_loop();
    co_return;
  };
  runner.run(where(first));
  runner.run(where(second));
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, &runner.get_loop());
  EXPECT_EQ(&get_event_loop(), first) << "the runner's loop is this thread's current loop";
  runner.close();
  runner.close();
  EXPECT_THROW(runner.run(forty_two()), RuntimeError);
}

TEST_F(Runners, RunnerDebugAndLoopFactory) {
  EventLoop* made = nullptr;
  Runner runner(true, [&made] {
    auto loop = new_event_loop();
    made = loop.get();
    return loop;
  });
  EXPECT_EQ(&runner.get_loop(), made);
  EXPECT_TRUE(runner.get_loop().get_debug());
  EXPECT_EQ(runner.run(forty_two()), 42);
}

TEST_F(Runners, RunnerRunInsideARunningLoopIsAnError) {
  Runner outer;
  auto inner = []() -> Coro<std::string> {
    Runner nested;
    try {
      nested.run(forty_two());
    } catch (const RuntimeError& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_EQ(outer.run(inner()), "Runner.run() cannot be called from a running event loop");
}

TEST_F(Runners, GetRunningLoopOutsideALoop) {
  try {
    get_running_loop();
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "no running event loop");
  }
}

TEST_F(Runners, GetEventLoopPrefersRunningThenCurrentThenItsOwn) {
  EventLoop mine;
  set_event_loop(&mine);
  EXPECT_EQ(&get_event_loop(), &mine);
  EventLoop other;
  EventLoop* seen = nullptr;
  other.call_soon([&] {
    seen = &get_event_loop();
    other.stop();
  });
  other.run_forever();
  EXPECT_EQ(seen, &other) << "the running loop wins";
  set_event_loop(nullptr);
  EventLoop& own = get_event_loop();
  EXPECT_NE(&own, &mine);
  EXPECT_EQ(&get_event_loop(), &own) << "created once per thread";
  own.close();
  other.close();
  mine.close();
}

TEST_F(Runners, NewEventLoopIsIndependent) {
  auto a = new_event_loop();
  auto b = new_event_loop();
  EXPECT_NE(a.get(), b.get());
  EXPECT_NE(a->native_handle(), b->native_handle());
  EXPECT_EQ(a->run_until_complete(forty_two()), 42);
  a->close();
  b->close();
}

}  // namespace
}  // namespace aiouv::test

#ifndef _WIN32  // raises SIGINT at itself
namespace aiouv::test {
namespace {

/// SIGINT to this process, as a user's Ctrl-C.
void interrupt_self() { ASSERT_EQ(uv_kill(uv_os_getpid(), SIGINT), 0); }

TEST_F(Runners, TheFirstSigintCancelsTheMainTaskAndRunThrowsKeyboardInterrupt) {
  bool cancelled = false;
  auto main = [&]() -> Coro<int> {
    interrupt_self();
    try {
      co_await sleep(30s);
    } catch (const CancelledError&) {
      cancelled = true;
      throw;
    }
    co_return 0;
  };
  EXPECT_THROW(run(main()), KeyboardInterrupt);
  EXPECT_TRUE(cancelled);
  // The handler is gone again: SIGINT has its default action once more.
  struct sigaction current {};
  sigaction(SIGINT, nullptr, &current);
  EXPECT_EQ(current.sa_handler, SIG_DFL);
}

TEST_F(Runners, AMainTaskThatSwallowsTheCancelReturnsNormally) {
  auto main = [&]() -> Coro<int> {
    interrupt_self();
    try {
      co_await sleep(30s);
    } catch (const CancelledError&) {
      current_task().uncancel();
      co_return 7;  // cleaned up and finished
    }
    co_return 0;
  };
  EXPECT_EQ(run(main()), 7);
}

TEST_F(Runners, ASecondSigintStopsAtOnce) {
  int cancels = 0;
  auto main = [&]() -> Coro<int> {
    interrupt_self();
    for (;;) {
      try {
        co_await sleep(30s);
      } catch (const CancelledError&) {
        // Ignores the first cancel, as a stubborn program does; the
        // runner's shutdown cancels it again, and then it gives up.
        if (++cancels > 1) throw;
        interrupt_self();
      }
    }
  };
  EXPECT_THROW(run(main()), KeyboardInterrupt);
  EXPECT_EQ(cancels, 2);
}

TEST_F(Runners, ARunnerInAnotherThreadLeavesSigintAlone) {
  // asyncio installs the handler in the main thread only: signals go to the
  // whole process, and a worker's runner must not take Ctrl-C from it.
  auto check = []() -> Coro<bool> {
    struct sigaction current {};
    sigaction(SIGINT, nullptr, &current);
    co_return current.sa_handler == SIG_DFL;
  };
  bool still_default = false;
  std::thread worker([&] { still_default = run(check()); });
  worker.join();
  EXPECT_TRUE(still_default);
  auto check_here = [&]() -> Coro<bool> { co_return !co_await check(); };
  EXPECT_TRUE(run(check_here())) << "the main thread's runner does install it";
}

TEST_F(Runners, AHandlerOfTheHostIsLeftAlone) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  sigaction(SIGINT, &ignore, &previous);
  auto main = [&]() -> Coro<int> {
    interrupt_self();  // ignored: the runner installed nothing
    co_await sleep(5ms);
    co_return 1;
  };
  EXPECT_EQ(run(main()), 1);
  sigaction(SIGINT, &previous, nullptr);
}

}  // namespace
}  // namespace aiouv::test
#endif
