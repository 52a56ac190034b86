// StreamReader and StreamWriter: the read family against asyncio's
// answers, limits, cancellation without data loss, and real connections
// through open_connection() and start_server() with flow control.
#include "net/net_helpers.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Streams = LoopTest;

TEST_F(Streams, ReadlineAndRead) {
  auto main = [&]() -> Coro<void> {
    StreamReader reader;
    reader.feed_data("line1\nline2\npartial");
    EXPECT_EQ(co_await reader.readline(), "line1\n");
    EXPECT_EQ(co_await reader.read(3), "lin");
    EXPECT_EQ(co_await reader.readline(), "e2\n");
    EXPECT_EQ(co_await reader.read(0), "");
    reader.feed_eof();
    EXPECT_FALSE(reader.at_eof());
    EXPECT_EQ(co_await reader.readline(), "partial");
    EXPECT_TRUE(reader.at_eof());
    EXPECT_EQ(co_await reader.readline(), "");
    EXPECT_EQ(co_await reader.read(), "");
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, ReadAllWaitsForEof) {
  auto main = [&]() -> Coro<void> {
    StreamReader reader(4);
    loop.call_soon([&] { reader.feed_data("abcdefghij"); });
    loop.call_later(2ms, [&] {
      reader.feed_data("klm");
      reader.feed_eof();
    });
    EXPECT_EQ(co_await reader.read(), "abcdefghijklm");
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, ReadexactlyAndIncompleteRead) {
  auto main = [&]() -> Coro<void> {
    StreamReader reader;
    reader.feed_data("12345");
    loop.call_soon([&] { reader.feed_data("678"); });
    EXPECT_EQ(co_await reader.readexactly(7), "1234567");
    reader.feed_eof();
    bool incomplete = false;
    try {
      (void)co_await reader.readexactly(5);
    } catch (const IncompleteReadError& e) {
      incomplete = true;
      EXPECT_EQ(e.partial(), "8");
      EXPECT_EQ(e.expected(), 5);
      EXPECT_STREQ(e.what(), "1 bytes read on a total of 5 expected bytes");
    }
    EXPECT_TRUE(incomplete);
    std::string negative;
    try {
      (void)co_await reader.readexactly(-1);
    } catch (const std::invalid_argument& e) {
      negative = e.what();
    }
    EXPECT_EQ(negative, "readexactly size can not be less than zero");
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, ReaduntilWithSeveralSeparatorsAndLimits) {
  auto main = [&]() -> Coro<void> {
    StreamReader reader(8);
    reader.feed_data("ab;cd||ef");
    std::vector<std::string> separators{"||", ";"};
    EXPECT_EQ(co_await reader.readuntil(separators), "ab;");
    EXPECT_EQ(co_await reader.readuntil(separators), "cd||");
    // No separator within the limit: LimitOverrunError, data kept.
    reader.feed_data("0123456789");
    std::size_t consumed = 0;
    try {
      (void)co_await reader.readuntil("\n");
    } catch (const LimitOverrunError& e) {
      consumed = e.consumed();
      EXPECT_STREQ(e.what(), "Separator is not found, and chunk exceed the limit");
    }
    EXPECT_EQ(consumed, 12u);
    EXPECT_EQ(co_await reader.read(100), "ef0123456789");
    std::string empty_separator;
    try {
      (void)co_await reader.readuntil("");
    } catch (const std::invalid_argument& e) {
      empty_separator = e.what();
    }
    EXPECT_EQ(empty_separator, "Separator should be at least one-byte string");
    reader.feed_data("tail");
    reader.feed_eof();
    bool incomplete = false;
    try {
      (void)co_await reader.readuntil("\n");
    } catch (const IncompleteReadError& e) {
      incomplete = e.partial() == "tail" && e.expected() < 0;
    }
    EXPECT_TRUE(incomplete);
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, ReadlineOverTheLimitDropsTheLine) {
  auto main = [&]() -> Coro<void> {
    StreamReader reader(4);
    reader.feed_data("0123456789\nnext\n");
    std::string error;
    try {
      (void)co_await reader.readline();
    } catch (const std::invalid_argument& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "Separator is found, but chunk is longer than limit");
    EXPECT_EQ(co_await reader.readline(), "next\n");
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, ACancelledReadLosesNothing) {
  StreamReader reader;
  auto exact = [&]() -> Coro<std::string> { co_return co_await reader.readexactly(10); };
  auto main = [&]() -> Coro<void> {
    Task<std::string> first = loop.create_task(exact());
    co_await sleep(0s);
    reader.feed_data("12345");
    co_await sleep(0s);
    first.cancel();
    EXPECT_THROW(co_await first, CancelledError);
    reader.feed_data("67890");
    EXPECT_EQ(co_await reader.readexactly(10), "1234567890");
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, OneWaiterAtATimeAndErrors) {
  StreamReader reader;
  auto waiting_read = [&]() -> Coro<std::string> { co_return co_await reader.read(5); };
  auto main = [&]() -> Coro<void> {
    Task<std::string> first = loop.create_task(waiting_read());
    co_await sleep(0s);
    std::string second;
    try {
      (void)co_await reader.readline();
    } catch (const RuntimeError& e) {
      second = e.what();
    }
    EXPECT_EQ(second, "readuntil() called while another coroutine is already waiting for incoming data");
    reader.set_exception(std::make_exception_ptr(std::runtime_error("connection broke")));
    EXPECT_THROW((void)co_await first, std::runtime_error);
    EXPECT_THROW((void)co_await reader.read(1), std::runtime_error);
    EXPECT_NE(reader.exception(), nullptr);
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, AWokenReaderDoesNotEndTheWaitOfTheNextOne) {
  // A is woken by "x"; before A resumes, B (started eagerly) takes the
  // "x" and waits for more. A resuming must not cancel B's wait.
  StreamReader reader;
  loop.set_task_factory(eager_task_factory);
  auto read_one = [&]() -> Coro<std::string> { co_return co_await reader.read(1); };
  auto read_two = [&]() -> Coro<std::string> {
    std::string first = co_await reader.read(1);
    co_return first + co_await reader.read(1);
  };
  auto main = [&]() -> Coro<void> {
    Task<std::string> a = loop.create_task(read_one());
    Task<std::string> b;
    loop.call_soon([&] {
      reader.feed_data("x");
      b = loop.create_task(read_two());
    });
    EXPECT_EQ(co_await a, "") << "B took the byte first, as asyncio's read() allows";
    EXPECT_FALSE(b.done());
    reader.feed_data("y");
    EXPECT_EQ(co_await b, "xy");
  };
  loop.run_until_complete(main());
  loop.set_task_factory(nullptr);
}

/// start_server's handler: upper-cases each line; "quit" ends the session.
Coro<void> shout(StreamReader reader, StreamWriter writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty() || line == "quit\n") break;
    for (char& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
  co_await writer.wait_closed();
}

TEST_F(Streams, StartServerAndOpenConnection) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await start_server(shout, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    writer.write("hello\n");
    writer.writelines({"wor", "ld\n"});
    co_await writer.drain();
    EXPECT_EQ(co_await reader.readline(), "HELLO\n");
    EXPECT_EQ(co_await reader.readline(), "WORLD\n");
    EXPECT_EQ(std::any_cast<SocketAddress>(writer.get_extra_info("peername")).port(), port_of(*server));
    writer.write("quit\n");
    EXPECT_EQ(co_await reader.read(), "") << "the server closed: EOF";
    EXPECT_TRUE(reader.at_eof());
    writer.close();
    EXPECT_TRUE(writer.is_closing());
    co_await writer.wait_closed();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, WorkQueuedByAWokenReaderRunsWithoutFurtherIO) {
  // A reader woken by incoming data resumes in the same loop iteration,
  // drained right after poll; what it queues next must still run without
  // any more I/O arriving to wake the loop.
  auto main = [&]() -> Coro<void> {
    auto answer_later = [&](StreamReader reader, StreamWriter writer) -> Coro<void> {
      std::string line = co_await reader.readline();
      int hops = 0;
      Future<void> hopped = loop.create_future<void>();
      std::function<void()> hop = [&] {
        if (++hops < 3) {
          loop.call_soon(hop);
        } else {
          hopped.set_result();
        }
      };
      loop.call_soon(hop);
      co_await hopped;
      co_await sleep(0s);
      writer.write(std::to_string(hops) + " hops after " + line);
      co_await writer.drain();
      writer.close();
    };
    auto server = co_await start_server(answer_later, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    const Clock::time_point sent = loop.time();
    writer.write("ping\n");
    // A stall would last until the 10 s timer woke the loop.
    EXPECT_EQ(co_await wait_for(reader.read(), 10s), "3 hops after ping\n");
    EXPECT_LT(loop.time() - sent, 5s) << "the loop stalled in poll with work queued";
    writer.close();
    co_await writer.wait_closed();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, ReadingPausesAboveTwiceTheLimit) {
  auto main = [&]() -> Coro<void> {
    constexpr std::size_t kLimit = 1024;
    constexpr std::size_t kTotal = 1 << 20;
    auto flood = [&](StreamReader, StreamWriter writer) -> Coro<void> {
      writer.write(std::string(kTotal, 'f'));
      co_await writer.drain();
      writer.close();
    };
    auto server = co_await start_server(flood, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server), {}, kLimit);
    // Let the data arrive without reading it.
    while (writer.transport().is_reading()) co_await sleep(1ms);
    std::size_t total = 0;
    for (;;) {
      std::string block = co_await reader.read(4096);
      if (block.empty()) break;
      total += block.size();
    }
    EXPECT_EQ(total, kTotal);
    writer.close();
    co_await writer.wait_closed();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, DrainReportsALostConnection) {
  auto main = [&]() -> Coro<void> {
    auto hang_up = [](StreamReader, StreamWriter writer) -> Coro<void> {
      writer.transport().abort();
      co_return;
    };
    auto server = co_await start_server(hang_up, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    EXPECT_EQ(co_await reader.read(), "");
    std::string lost;
    try {
      for (int i = 0; i < 100; ++i) {
        writer.write(std::string(64 * 1024, 'x'));
        co_await writer.drain();
        co_await sleep(1ms);
      }
    } catch (const std::system_error& e) {
      lost = e.what();
    }
    EXPECT_FALSE(lost.empty()) << "drain() must fail once the peer is gone";
    writer.close();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Streams, AFailingHandlerIsReportedAndItsConnectionClosed) {
  record_exceptions();
  auto main = [&]() -> Coro<void> {
    auto failing = [](StreamReader reader, StreamWriter) -> Coro<void> {
      (void)co_await reader.readline();
      throw std::runtime_error("handler failed");
    };
    auto server = co_await start_server(failing, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    writer.write("go\n");
    EXPECT_EQ(co_await reader.read(), "") << "closed by the server";
    writer.close();
    co_await writer.wait_closed();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message, "Unhandled exception in client_connected_cb");
  EXPECT_EQ(what_of(reported[0].exception), "handler failed");
  reported.clear();
}

}  // namespace
}  // namespace aiouv::test
