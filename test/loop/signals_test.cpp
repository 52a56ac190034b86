// add_signal_handler() / remove_signal_handler(): delivery as a loop
// callback, replacement, removal (also while a signal is pending), asyncio's
// errors, and no effect on the loop's liveness.
#include "support/loop_test.hpp"

#ifndef _WIN32

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Signals = LoopTest;

TEST_F(Signals, HandlerRunsInTheLoopWithItsArguments) {
  std::vector<std::string> got;
  loop.add_signal_handler(SIGUSR1, [&](const std::string& tag, int n) {
    got.push_back(tag + std::to_string(n));
    loop.stop();
  }, std::string("usr1-"), 7);
  uv_kill(uv_os_getpid(), SIGUSR1);
  loop.run_forever();
  EXPECT_EQ(got, (std::vector<std::string>{"usr1-7"}));
  EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
}

TEST_F(Signals, AddingAgainReplacesTheHandler) {
  std::vector<std::string> got;
  loop.add_signal_handler(SIGUSR2, [&] { got.push_back("first"); });
  loop.add_signal_handler(SIGUSR2, [&] {
    got.push_back("second");
    loop.stop();
  });
  uv_kill(uv_os_getpid(), SIGUSR2);
  loop.run_forever();
  EXPECT_EQ(got, (std::vector<std::string>{"second"}));
  loop.remove_signal_handler(SIGUSR2);
}

TEST_F(Signals, AHandlerRemovedWhileItsSignalIsPendingDoesNotRun) {
  bool ran = false;
  loop.add_signal_handler(SIGUSR1, [&] { ran = true; });
  // SIGUSR2 is the witness: once its handler ran, SIGUSR1 was dispatched too.
  loop.add_signal_handler(SIGUSR2, [&] { loop.stop(); });
  uv_kill(uv_os_getpid(), SIGUSR1);
  EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  uv_kill(uv_os_getpid(), SIGUSR2);
  loop.run_forever();
  EXPECT_FALSE(ran);
  loop.remove_signal_handler(SIGUSR2);
}

TEST_F(Signals, AsyncioErrors) {
  EXPECT_EQ(error_of([&] { loop.add_signal_handler(SIGKILL, [] {}); }), "sig 9 cannot be caught");
  const std::string range = error_of([&] { loop.add_signal_handler(0, [] {}); });
  EXPECT_EQ(range.rfind("sig 0 out of range(1, ", 0), 0u) << range;
  EXPECT_THROW(loop.add_signal_handler(100000, [] {}), std::invalid_argument);
  EXPECT_FALSE(loop.remove_signal_handler(SIGINT));
}

TEST_F(Signals, AWatchedSignalKeepsNothingAlive) {
  uv_loop_t host;
  ASSERT_EQ(uv_loop_init(&host), 0);
  {
    EventLoop embedded(&host);
    embedded.add_signal_handler(SIGUSR1, [] {});
    EXPECT_EQ(uv_loop_alive(&host), 0);
    EXPECT_EQ(uv_run(&host, UV_RUN_DEFAULT), 0);
    embedded.close();  // with the handler still registered
  }
  EXPECT_EQ(uv_loop_close(&host), 0);
}

TEST_F(Signals, CloseWithHandlersRegistered) {
  const std::size_t before = loop.counters().uv_handles;
  loop.add_signal_handler(SIGUSR1, [] {});
  loop.add_signal_handler(SIGHUP, [] {});
  EXPECT_EQ(loop.counters().uv_handles, before + 2);
  loop.close();  // the fixture checks that both watchers are closed
  EXPECT_THROW(loop.add_signal_handler(SIGUSR1, [] {}), RuntimeError);
}

}  // namespace
}  // namespace aiouv::test

#endif  // _WIN32: libuv emulates only a few signals there
