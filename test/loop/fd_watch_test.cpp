// add_reader/add_writer on uv_poll_t, and connect_read_pipe /
// connect_write_pipe over a pipe's two ends.
#include "net/net_helpers.hpp"

#ifndef _WIN32  // uv_poll on Windows takes sockets only; these use pipes
#include <unistd.h>

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using FdWatch = LoopTest;

/// Both ends of a new pipe, closed at the end of the test unless given away.
struct PipeEnds {
  PipeEnds() { EXPECT_EQ(uv_pipe(fds, 0, 0), 0); }
  ~PipeEnds() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  int release(int i) { return std::exchange(fds[i], -1); }
  int fds[2] = {-1, -1};
};

TEST_F(FdWatch, AReaderRunsWhileThereIsDataAndRemovingReportsIt) {
  PipeEnds pipe;
  std::string received;
  Future<void> got = loop.create_future<void>();
  auto main = [&]() -> Coro<void> {
    loop.add_reader(pipe.fds[0], [&] { received += "replaced reader ran"; });
    loop.add_reader(pipe.fds[0], [&] {
      char buffer[64];
      const ssize_t n = ::read(pipe.fds[0], buffer, sizeof buffer);
      if (n > 0) received.append(buffer, static_cast<std::size_t>(n));
      if (received.size() >= 5 && !got.done()) got.set_result();
    });
    EXPECT_EQ(::write(pipe.fds[1], "hello", 5), 5);
    co_await got;
    EXPECT_EQ(received, "hello") << "only the replacing callback runs";
    EXPECT_TRUE(loop.remove_reader(pipe.fds[0]));
    EXPECT_FALSE(loop.remove_reader(pipe.fds[0]));
    EXPECT_EQ(::write(pipe.fds[1], "more", 4), 4);
    // Two loop iterations, each polling the (readable) pipe: a removed
    // reader must not run.
    co_await sleep(0s);
    co_await sleep(0s);
    EXPECT_EQ(received, "hello");
  };
  loop.run_until_complete(main());
}

TEST_F(FdWatch, AWriterRunsWhenWritableAndReaderAndWriterShareADescriptor) {
  int fds[2];
  ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, fds, 0, 0), 0);
  int writes = 0;
  Future<void> wrote = loop.create_future<void>();
  Future<void> read = loop.create_future<void>();
  auto main = [&]() -> Coro<void> {
    loop.add_writer(fds[0], [&] {
      ++writes;
      EXPECT_EQ(::write(fds[0], "x", 1), 1);
      loop.remove_writer(fds[0]);
      wrote.set_result();
    });
    loop.add_reader(fds[0], [&] {
      char c;
      EXPECT_EQ(::read(fds[0], &c, 1), 1);
      loop.remove_reader(fds[0]);
      read.set_result();
    });
    co_await wrote;
    EXPECT_EQ(::write(fds[1], "y", 1), 1);
    co_await read;
    EXPECT_EQ(writes, 1);
    EXPECT_FALSE(loop.remove_writer(fds[0]));
  };
  loop.run_until_complete(main());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(FdWatch, ClosingTheLoopWithWatchersRegistered) {
  PipeEnds pipe;
  loop.add_reader(pipe.fds[0], [] {});
  loop.add_writer(pipe.fds[1], [] {});
  loop.close();  // the fixture checks uv_loop_close() == 0
}

TEST_F(FdWatch, ReadAndWritePipeTransports) {
  PipeEnds pipe;
  auto main = [&]() -> Coro<void> {
    auto [reader, recorder] = co_await loop.connect_read_pipe(
        [&] { return std::make_shared<RecordingProtocol>(loop, 11); }, pipe.release(0));
    auto [writer, writing] =
        co_await loop.connect_write_pipe([&] { return std::make_shared<RecordingProtocol>(loop); }, pipe.release(1));
    EXPECT_EQ(recorder->events, (std::vector<std::string>{"made"}));
    EXPECT_FALSE(writer->is_reading()) << "a write pipe is never read";
    writer->write("hello ");
    writer->write("pipes");
    co_await recorder->got_all;
    EXPECT_EQ(recorder->received, "hello pipes");
    writer->close();
    co_await writing->lost;
    co_await recorder->lost;
    EXPECT_EQ(recorder->events, (std::vector<std::string>{"made", "eof", "lost"}));
  };
  loop.run_until_complete(main());
}

TEST_F(FdWatch, WritingToAPipeWhoseReaderIsGoneIsABrokenPipe) {
  PipeEnds pipe;
  auto main = [&]() -> Coro<void> {
    auto [writer, writing] =
        co_await loop.connect_write_pipe([&] { return std::make_shared<RecordingProtocol>(loop); }, pipe.release(1));
    ::close(pipe.release(0));
    writer->write("nobody reads this");
    co_await writing->lost;
    bool broken = false;
    try {
      if (writing->error) std::rethrow_exception(writing->error);
    } catch (const std::system_error& e) {
      broken = e.code() == std::errc::broken_pipe;
    }
    EXPECT_TRUE(broken);
  };
  loop.run_until_complete(main());
}

}  // namespace
}  // namespace aiouv::test
#endif
