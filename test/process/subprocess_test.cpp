// Child processes: create_subprocess_exec/shell with pipes, DEVNULL,
// STDOUT, file descriptors, cwd and env; return codes and signals;
// communicate() with large data both ways; a child killed mid-write; the
// low-level protocol's callback order; closing the loop with a child alive.
#include <csignal>

#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Subprocess = LoopTest;
namespace sp = aiouv::subprocess;

#ifndef _WIN32  // the children are POSIX tools (sh, cat, head, sleep)

/// `sleep 30` (named: g++ 12 rejects a braced list of literals inside
/// co_await).
const std::vector<std::string> kSleepLong{"30"};

SubprocessOptions pipes(int in, int out, int err = sp::INHERIT) {
  SubprocessOptions options;
  options.stdin_ = in;
  options.stdout_ = out;
  options.stderr_ = err;
  return options;
}

TEST_F(Subprocess, CommunicateThroughCat) {
  auto main = [&]() -> Coro<void> {
    Process cat = co_await create_subprocess_exec("cat", {}, pipes(sp::PIPE, sp::PIPE));
    EXPECT_GT(cat.pid(), 0);
    EXPECT_FALSE(cat.returncode().has_value());
    CO_ASSERT_TRUE(cat.stdin_ && cat.stdout_ && !cat.stderr_);
    auto [out, err] = co_await cat.communicate("hello\nworld\n");
    EXPECT_EQ(out, "hello\nworld\n");
    EXPECT_EQ(err, "");
    EXPECT_EQ(cat.returncode(), 0);
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, ExitCodesAndTheShell) {
  auto main = [&]() -> Coro<void> {
    Process shell = co_await create_subprocess_shell("exit 3");
    EXPECT_EQ(co_await shell.wait(), 3);
    EXPECT_EQ(shell.returncode(), 3);
    EXPECT_EQ(co_await shell.wait(), 3) << "waiting again gives the same code";
    Process echo = co_await create_subprocess_shell("echo out; echo err 1>&2", pipes(sp::INHERIT, sp::PIPE, sp::PIPE));
    auto [out, err] = co_await echo.communicate();
    EXPECT_EQ(out, "out\n");
    EXPECT_EQ(err, "err\n");
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, AKilledChildHasMinusTheSignalAsItsCode) {
  auto main = [&]() -> Coro<void> {
    Process sleeper = co_await create_subprocess_exec("sleep", kSleepLong);
    sleeper.kill();
    EXPECT_EQ(co_await sleeper.wait(), -SIGKILL);
    Process terminated = co_await create_subprocess_exec("sleep", kSleepLong);
    terminated.terminate();
    EXPECT_EQ(co_await terminated.wait(), -SIGTERM);
    // Finished: signalling is asyncio's ProcessLookupError.
    bool lookup_error = false;
    try {
      terminated.send_signal(SIGTERM);
    } catch (const std::system_error& e) {
      lookup_error = e.code() == std::errc::no_such_process;
    }
    EXPECT_TRUE(lookup_error);
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, OneMebibyteInSixteenOutWithoutDeadlock) {
  const std::string input(1 << 20, 'i');
  auto main = [&]() -> Coro<void> {
    // Echoes its stdin, then 15 MiB more: the child writes while we still
    // write to it, so both directions must flow at once.
    Process child = co_await create_subprocess_shell("cat; head -c 15728640 /dev/zero", pipes(sp::PIPE, sp::PIPE));
    auto [out, err] = co_await child.communicate(input);
    EXPECT_EQ(out.size(), 16u << 20);
    EXPECT_EQ(out.compare(0, input.size(), input), 0);
    EXPECT_EQ(out.find_first_not_of('\0', input.size()), std::string::npos);
    EXPECT_EQ(child.returncode(), 0);
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, StderrToStdoutAndDevnull) {
  auto main = [&]() -> Coro<void> {
    Process both = co_await create_subprocess_shell("echo one; echo two 1>&2; echo three",
                                                    pipes(sp::INHERIT, sp::PIPE, sp::STDOUT));
    CO_ASSERT_TRUE(both.stdout_ && !both.stderr_);
    auto [out, err] = co_await both.communicate();
    EXPECT_EQ(out, "one\ntwo\nthree\n");
    EXPECT_EQ(err, "");

    Process quiet = co_await create_subprocess_shell("echo hidden; cat", pipes(sp::DEVNULL, sp::DEVNULL));
    EXPECT_EQ(co_await quiet.wait(), 0) << "cat sees EOF on /dev/null at once";
    EXPECT_FALSE(quiet.stdout_.has_value());

    bool rejected = false;
    try {
      (void)co_await create_subprocess_exec("true", {}, pipes(sp::STDOUT, sp::INHERIT));
    } catch (const std::invalid_argument& e) {
      rejected = std::string(e.what()) == "STDOUT can only be used for stderr";
    }
    EXPECT_TRUE(rejected);
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, CwdEnvAndAFileDescriptor) {
  char dir[1024];
  std::size_t size = sizeof dir;
  ASSERT_EQ(uv_os_tmpdir(dir, &size), 0);
  const std::string tmp(dir, size);
  const std::string path = tmp + "/aiouv-subprocess-" + std::to_string(uv_os_getpid()) + ".txt";
  uv_fs_t request;
  const int fd = uv_fs_open(nullptr, &request, path.c_str(), UV_FS_O_CREAT | UV_FS_O_TRUNC | UV_FS_O_WRONLY, 0600, nullptr);
  uv_fs_req_cleanup(&request);
  ASSERT_GE(fd, 0);
  auto main = [&]() -> Coro<void> {
    SubprocessOptions options = pipes(sp::INHERIT, fd);
    options.cwd = tmp;
    options.env = std::map<std::string, std::string>{{"GREETING", "hi there"}, {"PATH", "/usr/bin:/bin"}};
    Process child = co_await create_subprocess_shell("pwd; echo \"$GREETING\"", options);
    EXPECT_EQ(co_await child.wait(), 0);
  };
  loop.run_until_complete(main());
  uv_fs_close(nullptr, &request, fd, nullptr);
  uv_fs_req_cleanup(&request);
  std::FILE* file = std::fopen(path.c_str(), "r");
  ASSERT_NE(file, nullptr);
  char buffer[4096] = {};
  const std::size_t length = std::fread(buffer, 1, sizeof buffer - 1, file);
  std::fclose(file);
  std::remove(path.c_str());
  const std::string written(buffer, length);
  EXPECT_NE(written.find("hi there\n"), std::string::npos) << written;
  EXPECT_NE(written.find(tmp.substr(tmp.rfind('/') + 1)), std::string::npos) << "runs in cwd: " << written;
}

TEST_F(Subprocess, AMissingProgramIsFileNotFound) {
  auto main = [&]() -> Coro<void> {
    bool not_found = false;
    try {
      (void)co_await create_subprocess_exec("aiouv-no-such-program-here");
    } catch (const std::system_error& e) {
      not_found = e.code() == std::errc::no_such_file_or_directory;
      EXPECT_NE(std::string(e.what()).find("spawn 'aiouv-no-such-program-here'"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(not_found);
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, AChildKilledMidWrite) {
  auto main = [&]() -> Coro<void> {
    Process yes = co_await create_subprocess_exec("yes", {}, pipes(sp::INHERIT, sp::PIPE));
    std::string first = co_await yes.stdout_->readexactly(4096);
    EXPECT_EQ(first.substr(0, 4), "y\ny\n");
    yes.kill();
    std::string rest = co_await yes.stdout_->read();  // whatever was in flight, then EOF
    EXPECT_TRUE(yes.stdout_->at_eof());
    EXPECT_EQ(co_await yes.wait(), -SIGKILL);
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, WritingToAChildThatExitedIsReportedNotFatal) {
  auto main = [&]() -> Coro<void> {
    Process child = co_await create_subprocess_exec("true", {}, pipes(sp::PIPE, sp::INHERIT));
    // communicate() swallows the broken pipe of a child that never reads.
    auto [out, err] = co_await child.communicate(std::string(1 << 20, 'x'));
    EXPECT_EQ(out, "");
    EXPECT_EQ(child.returncode(), 0);
  };
  loop.run_until_complete(main());
}

/// Records the low-level callbacks in order.
class RecordingSubprocess : public SubprocessProtocol {
 public:
  explicit RecordingSubprocess(EventLoop& loop) : done(loop.create_future<void>()) {}
  void connection_made(SubprocessTransport& t) override {
    transport = &t;
    events.push_back("made");
  }
  void pipe_data_received(int fd, std::string_view data) override { output[fd].append(data); }
  void pipe_connection_lost(int fd, std::exception_ptr) override { events.push_back("pipe lost " + std::to_string(fd)); }
  void process_exited() override { events.push_back("exited " + std::to_string(*transport->get_returncode())); }
  void connection_lost(std::exception_ptr) override {
    events.push_back("lost");
    done.set_result();
  }
  SubprocessTransport* transport = nullptr;
  std::vector<std::string> events;
  std::map<int, std::string> output;
  Future<void> done;
};

TEST_F(Subprocess, LowLevelProtocolCallbacksInAsyncioOrder) {
  auto main = [&]() -> Coro<void> {
    SubprocessOptions options = pipes(sp::PIPE, sp::PIPE, sp::PIPE);
    std::vector<std::string> args{"-c", "read line; echo \"got $line\"; echo oops 1>&2; exit 7"};
    auto [transport, protocol] = co_await loop.subprocess_exec(
        [&] { return std::make_shared<RecordingSubprocess>(loop); }, "/bin/sh", args, options);
    static_assert(std::is_same_v<decltype(protocol), std::shared_ptr<RecordingSubprocess>>);
    EXPECT_EQ(protocol->events, (std::vector<std::string>{"made"}));
    CO_ASSERT_TRUE(transport->get_pipe_transport(0) && transport->get_pipe_transport(1) &&
                   transport->get_pipe_transport(2));
    EXPECT_EQ(transport->get_pipe_transport(3), nullptr);
    transport->get_pipe_transport(0)->write("ping\n");
    co_await protocol->done;
    EXPECT_EQ(protocol->output[1], "got ping\n");
    EXPECT_EQ(protocol->output[2], "oops\n");
    EXPECT_EQ(transport->get_returncode(), 7);
    auto& events = protocol->events;
    EXPECT_EQ(events.front(), "made");
    EXPECT_EQ(events.back(), "lost") << "connection_lost comes last";
    EXPECT_NE(std::find(events.begin(), events.end(), "exited 7"), events.end());
    EXPECT_NE(std::find(events.begin(), events.end(), "pipe lost 1"), events.end());
    EXPECT_NE(std::find(events.begin(), events.end(), "pipe lost 2"), events.end());
    transport->close();
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, LowLevelShell) {
  auto main = [&]() -> Coro<void> {
    auto factory = [&] { return std::make_shared<RecordingSubprocess>(loop); };
    auto [transport, protocol] =
        co_await loop.subprocess_shell(factory, "echo shell; exit 4", pipes(sp::INHERIT, sp::PIPE));
    co_await protocol->done;
    EXPECT_EQ(protocol->output[1], "shell\n");
    EXPECT_EQ(transport->get_returncode(), 4);
    EXPECT_EQ(transport->get_pipe_transport(0), nullptr) << "stdin was inherited, not a pipe";
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, ClosingTheTransportKillsARunningChild) {
  auto main = [&]() -> Coro<void> {
    auto [transport, protocol] = co_await loop.subprocess_exec(
        [&] { return std::make_shared<RecordingSubprocess>(loop); }, "sleep", kSleepLong, pipes(sp::PIPE, sp::PIPE));
    transport->close();
    EXPECT_TRUE(transport->is_closing());
    co_await protocol->done;
    EXPECT_EQ(transport->get_returncode(), -SIGKILL);
    EXPECT_EQ(protocol->events.back(), "lost");
  };
  loop.run_until_complete(main());
}

TEST_F(Subprocess, ClosingTheLoopWithAChildRunning) {
  int pid = 0;
  auto main = [&]() -> Coro<void> {
    Process sleeper = co_await create_subprocess_exec("sleep", kSleepLong, pipes(sp::PIPE, sp::PIPE));
    pid = sleeper.pid();
  };
  loop.run_until_complete(main());
  loop.close();  // the fixture checks uv_loop_close() == 0
  EXPECT_EQ(uv_kill(pid, SIGKILL), 0) << "closing the loop does not kill the child (asyncio neither)";
}

#endif

}  // namespace
}  // namespace aiouv::test
