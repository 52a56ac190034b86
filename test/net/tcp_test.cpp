// TCP transports and protocols: echo, half-close, flow control, close vs
// abort, errors, buffered protocols, and loop close with open connections.
#include "net/net_helpers.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Tcp = LoopTest;

/// A server on 127.0.0.1, port chosen by the system, whose protocols are
/// made by `factory`.
template <class Factory>
Coro<std::shared_ptr<Server>> local_server(EventLoop& loop, Factory factory) {
  co_return co_await loop.create_server(std::move(factory), "127.0.0.1", 0);
}

TEST_F(Tcp, EchoRoundTrip) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await local_server(loop, [] { return std::make_shared<EchoProtocol>(); });
    const std::uint16_t port = port_of(*server);
    EXPECT_NE(port, 0);
    auto [transport, client] =
        co_await connect_recorder(loop, port, 11);
    static_assert(std::is_same_v<decltype(client), std::shared_ptr<RecordingProtocol>>);
    EXPECT_EQ(client->events, (std::vector<std::string>{"made"})) << "connection_made ran before create_connection returned";
    EXPECT_EQ(client->transport, transport.get());
    transport->write("hello ");
    transport->writelines({"wor", "ld"});
    co_await client->got_all;
    EXPECT_EQ(client->received, "hello world");
    EXPECT_EQ(transport->peername()->port(), port);
    EXPECT_EQ(std::any_cast<SocketAddress>(transport->get_extra_info("peername")).host(), "127.0.0.1");
    EXPECT_EQ(transport->sockname()->host(), "127.0.0.1");
    EXPECT_TRUE(transport->get_extra_info("socket").has_value());
    EXPECT_FALSE(transport->get_extra_info("nonsense").has_value());
    transport->close();
    EXPECT_TRUE(transport->is_closing());
    co_await client->lost;
    EXPECT_EQ(client->events, (std::vector<std::string>{"made", "lost"}));
    EXPECT_EQ(client->transport, nullptr);
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tcp, ConnectionRefused) {
  auto main = [&]() -> Coro<void> {
    // A port that was just free: listen, note it, close.
    auto server = co_await local_server(loop, [] { return std::make_shared<EchoProtocol>(); });
    const std::uint16_t port = port_of(*server);
    co_await shut_down(*server);
    bool refused = false;
    try {
      (void)co_await loop.create_connection([] { return std::make_shared<Protocol>(); }, "127.0.0.1", port);
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::connection_refused;
      EXPECT_NE(std::string(e.what()).find("Connect call failed 127.0.0.1:" + std::to_string(port)), std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(refused);
  };
  loop.run_until_complete(main());
}

/// Server side: on EOF keeps the connection half-open, answers with what
/// it got, then closes.
class AnswerOnEof : public RecordingProtocol {
 public:
  using RecordingProtocol::RecordingProtocol;
  bool eof_received() override {
    RecordingProtocol::eof_received();
    transport->write("got " + std::to_string(received.size()) + " bytes");
    transport->close();
    return true;
  }
};

TEST_F(Tcp, HalfCloseKeepsTheOtherDirectionOpen) {
  std::shared_ptr<AnswerOnEof> server_side;
  auto main = [&]() -> Coro<void> {
    auto server = co_await local_server(loop, [&] { return server_side = std::make_shared<AnswerOnEof>(loop); });
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    EXPECT_TRUE(transport->can_write_eof());
    transport->write("12345");
    transport->write_eof();
    std::shared_ptr<Transport> writer = transport;  // clang 14 cannot capture a structured binding
    EXPECT_EQ(error_of([&] { writer->write("more"); }), "Cannot call write() after write_eof()");
    co_await client->lost;
    EXPECT_EQ(client->received, "got 5 bytes");
    EXPECT_EQ(client->events, (std::vector<std::string>{"made", "eof", "lost"}));
    co_await server_side->lost;
    EXPECT_EQ(server_side->events, (std::vector<std::string>{"made", "eof", "lost"}));
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

/// Writes `size` bytes at connection_made, then closes: close() must flush.
class Blaster : public RecordingProtocol {
 public:
  Blaster(EventLoop& loop, std::size_t size, bool abort) : RecordingProtocol(loop), size_(size), abort_(abort) {}
  void connection_made(Transport& t) override {
    RecordingProtocol::connection_made(t);
    std::string block(size_, '\0');
    for (std::size_t i = 0; i < size_; ++i) block[i] = static_cast<char>('a' + i % 26);
    t.write(block);
    buffered_after_write = t.get_write_buffer_size();
    if (abort_) {
      t.abort();
    } else {
      t.close();
    }
  }
  std::size_t buffered_after_write = 0;

 private:
  std::size_t size_;
  bool abort_;
};

TEST_F(Tcp, CloseFlushesTheWriteBufferFirst) {
  constexpr std::size_t kSize = 8 << 20;
  std::shared_ptr<Blaster> sender;
  auto main = [&]() -> Coro<void> {
    auto server = co_await local_server(loop, [&] { return sender = std::make_shared<Blaster>(loop, kSize, false); });
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    co_await client->lost;
    EXPECT_EQ(client->received.size(), kSize);
    bool intact = true;
    for (std::size_t i = 0; i < client->received.size(); ++i) intact = intact && client->received[i] == static_cast<char>('a' + i % 26);
    EXPECT_TRUE(intact);
    EXPECT_GT(sender->buffered_after_write, 0u) << "8 MiB cannot all go at once";
    co_await sender->lost;
    EXPECT_EQ(sender->events.front(), "made");
    EXPECT_EQ(sender->events.back(), "lost");
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tcp, AbortDropsTheBufferAndClosesAtOnce) {
  constexpr std::size_t kSize = 8 << 20;
  std::shared_ptr<Blaster> sender;
  auto main = [&]() -> Coro<void> {
    auto server = co_await local_server(loop, [&] { return sender = std::make_shared<Blaster>(loop, kSize, true); });
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    co_await client->lost;
    EXPECT_LT(client->received.size(), kSize);
    co_await sender->lost;
    EXPECT_EQ(sender->events, (std::vector<std::string>{"made", "pause_writing", "lost"}));
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tcp, FlowControlPausesAndResumesTheWriter) {
  auto main = [&]() -> Coro<void> {
    std::shared_ptr<RecordingProtocol> server_side;
    auto server = co_await local_server(loop, [&] { return server_side = std::make_shared<RecordingProtocol>(loop); });
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    co_await server_side->made;
    Transport& writer = *server_side->transport;
    EXPECT_EQ(writer.get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>{16 * 1024, 64 * 1024}));
    EXPECT_EQ(error_of([&] { writer.set_write_buffer_limits(10, 20); }), "high (10) must be >= low (20) must be >= 0");
    writer.set_write_buffer_limits(std::nullopt, 1000);
    EXPECT_EQ(writer.get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>{1000, 4000}));
    transport->pause_reading();
    EXPECT_FALSE(transport->is_reading());
    transport->pause_reading();  // idempotent
    const std::string chunk(64 * 1024, 'x');
    std::size_t sent = 0;
    while (std::find(server_side->events.begin(), server_side->events.end(), "pause_writing") == server_side->events.end()) {
      writer.write(chunk);
      sent += chunk.size();
      if (sent > (256u << 20)) break;  // the kernel buffers cannot be that big
    }
    EXPECT_GT(writer.get_write_buffer_size(), 4000u);
    transport->resume_reading();
    EXPECT_TRUE(transport->is_reading());
    while (client->received.size() < sent) co_await sleep(1ms);
    EXPECT_EQ(client->received.size(), sent);
    EXPECT_EQ(writer.get_write_buffer_size(), 0u);
    EXPECT_EQ(std::count(server_side->events.begin(), server_side->events.end(), "resume_writing"), 1);
    transport->close();
    co_await server_side->lost;
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tcp, PeerResetIsReportedToTheProtocol) {
  auto main = [&]() -> Coro<void> {
    std::shared_ptr<RecordingProtocol> server_side;
    auto server = co_await local_server(loop, [&] { return server_side = std::make_shared<RecordingProtocol>(loop); });
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    co_await server_side->made;
    // The server keeps writing into a connection the client aborts without
    // reading: the kernel resets it, and the server's write fails.
    transport->pause_reading();
    Transport* writer = server_side->transport;
    writer->write(std::string(4 << 20, 'y'));
    transport->abort();
    co_await client->lost;
    while (!server_side->lost.done()) {
      if (server_side->transport) server_side->transport->write(std::string(64 * 1024, 'z'));
      co_await sleep(1ms);
    }
    CO_ASSERT_TRUE(server_side->error != nullptr);
    try {
      std::rethrow_exception(server_side->error);
    } catch (const std::system_error& e) {
      EXPECT_TRUE(e.code() == std::errc::connection_reset || e.code() == std::errc::broken_pipe) << e.what();
    }
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tcp, WritesAfterTheConnectionIsLostAreDroppedWithAWarning) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await local_server(loop, [] { return std::make_shared<EchoProtocol>(); });
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    transport->abort();
    co_await client->lost;
    for (int i = 0; i < 6; ++i) transport->write("dropped");
    EXPECT_EQ(log.sink().take_matching(spdlog::level::warn, "socket.send() raised exception.").size(), 2u);
    transport->close();  // harmless
    transport->abort();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

/// Reads into its own fixed buffer.
class BufferedCollector : public BufferedProtocol {
 public:
  explicit BufferedCollector(EventLoop& loop) : lost(loop.create_future<void>()) {}
  std::span<char> get_buffer(std::size_t size_hint) override {
    hints.push_back(size_hint);
    return std::span<char>(buffer_, sizeof buffer_);
  }
  void buffer_updated(std::size_t nbytes) override { received.append(buffer_, nbytes); }
  void connection_lost(std::exception_ptr) override { lost.set_result(); }
  std::string received;
  std::vector<std::size_t> hints;
  Future<void> lost;

 private:
  char buffer_[7];  // small on purpose: many reads
};

TEST_F(Tcp, BufferedProtocolReadsIntoItsOwnBuffer) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await local_server(loop, [&] { return std::make_shared<Blaster>(loop, 100, false); });
    auto [transport, client] = co_await loop.create_connection(
        [&] { return std::make_shared<BufferedCollector>(loop); }, "127.0.0.1", port_of(*server));
    co_await client->lost;
    EXPECT_EQ(client->received.size(), 100u);
    EXPECT_EQ(client->received.substr(0, 5), "abcde");
    EXPECT_GE(client->hints.size(), 15u);
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

/// Throws from data_received.
class Faulty : public RecordingProtocol {
 public:
  using RecordingProtocol::RecordingProtocol;
  void data_received(std::string_view) override { throw std::logic_error("protocol bug"); }
};

TEST_F(Tcp, AThrowingProtocolIsReportedAndItsTransportClosed) {
  record_exceptions();
  auto main = [&]() -> Coro<void> {
    std::shared_ptr<Faulty> faulty;
    auto server = co_await local_server(loop, [&] { return faulty = std::make_shared<Faulty>(loop); });
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    transport->write("boom");
    co_await faulty->lost;
    EXPECT_EQ(faulty->events, (std::vector<std::string>{"made", "lost: protocol bug"}));
    co_await client->lost;
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message, "Fatal error: protocol.data_received() call failed.");
  EXPECT_EQ(what_of(reported[0].exception), "protocol bug");
}

TEST_F(Tcp, CancellingCreateConnectionLeavesNothingOpen) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await local_server(loop, [] { return std::make_shared<EchoProtocol>(); });
    auto connecting = [&]() -> Coro<void> {
      (void)co_await loop.create_connection([] { return std::make_shared<Protocol>(); }, "127.0.0.1", port_of(*server));
    };
    Task<void> attempt = loop.create_task(connecting());
    co_await sleep(0s);
    attempt.cancel();
    EXPECT_THROW(co_await attempt, CancelledError);
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tcp, LoopCloseWithOpenConnectionsClosesEverything) {
  std::shared_ptr<Transport> kept;
  auto main = [&]() -> Coro<void> {
    auto server = co_await local_server(loop, [] { return std::make_shared<EchoProtocol>(); });
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    transport->write(std::string(1 << 20, 'q'));  // maybe still in flight at close
    kept = transport;
  };
  loop.run_until_complete(main());
  EXPECT_GT(loop.counters().uv_handles, 3u);
  loop.close();  // the fixture checks that every handle and request is gone
  EXPECT_TRUE(kept->is_closing());
  kept->write("after close");  // dropped, no crash
  kept->close();
  kept.reset();
}

}  // namespace
}  // namespace aiouv::test
