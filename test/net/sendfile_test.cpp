// loop.sendfile() through stream transports: order with the writes around
// it, counts and offsets, the copying path, asyncio's errors, a caller
// cancelled mid-way, the transport closed mid-way and a peer that goes away
// mid-way.
#include <cstdio>
#include <fstream>

#include "net/net_helpers.hpp"
#include "net/sendfile.hpp"
#include "net/stream_transport.hpp"
#include "support/when_settled.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;

/// 'a'..'z' repeated: any misplaced byte shows.
std::string file_content(std::size_t size) {
  std::string content(size, '\0');
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>('a' + i % 26);
  return content;
}

/// A peer that can stop reading after its first bytes, or abort then.
class Peer : public RecordingProtocol {
 public:
  enum class OnFirstData { keep_reading, pause, abort };
  Peer(EventLoop& loop, std::size_t expected, OnFirstData action)
      : RecordingProtocol(loop, expected), first_data(loop.create_future<void>()), action_(action) {}

  void data_received(std::string_view data) override {
    RecordingProtocol::data_received(data);
    if (first_data.done()) return;
    first_data.set_result();
    if (action_ == OnFirstData::pause) transport->pause_reading();
    if (action_ == OnFirstData::abort) transport->abort();
  }

  Future<void> first_data;

 private:
  OnFirstData action_;
};

class Sendfile : public LoopTest {
 protected:
  void TearDown() override {
    for (const std::string& path : files_) std::remove(path.c_str());
    LoopTest::TearDown();
  }

  /// A temporary file holding `content`.
  std::string make_file(const std::string& content) {
    char dir[1024];
    std::size_t size = sizeof dir;
    uv_os_tmpdir(dir, &size);
    std::string path = std::string(dir, size) + "/aiouv-sendfile-test-" + std::to_string(uv_os_getpid()) + "-" +
                       std::to_string(files_.size());
    std::ofstream(path, std::ios::binary) << content;
    files_.push_back(path);
    return path;
  }

  /// A client transport connected to a Peer (which expects `expected`
  /// bytes) through a server on 127.0.0.1.
  struct Connection {
    std::shared_ptr<Server> server;
    std::shared_ptr<Transport> client;
    std::shared_ptr<RecordingProtocol> client_protocol;
    std::shared_ptr<Peer> peer;
  };
  Coro<Connection> connect(std::size_t expected, Peer::OnFirstData action = Peer::OnFirstData::keep_reading) {
    Future<std::shared_ptr<Peer>> accepted = loop.create_future<std::shared_ptr<Peer>>();
    auto factory = [this, accepted, expected, action]() mutable {
      auto peer = std::make_shared<Peer>(loop, expected, action);
      accepted.set_result(peer);
      return peer;
    };
    Connection connection;
    connection.server = co_await loop.create_server(std::move(factory), "127.0.0.1", 0);
    auto [client, protocol] = co_await connect_recorder(loop, port_of(*connection.server));
    connection.client = client;
    connection.client_protocol = protocol;
    connection.peer = co_await accepted;
    co_await connection.peer->made;
    co_return connection;
  }

  /// Closes both ends and the server.
  Coro<void> finish(Connection& connection) {
    connection.client->close();
    co_await connection.client_protocol->lost;
    co_await connection.peer->lost;
    co_await shut_down(*connection.server);
  }

 private:
  std::vector<std::string> files_;
};

/// Shrinks both socket buffers of `transport` to a few KiB, so that a
/// stalled peer stops the flow at once rather than after megabytes.
void shrink_buffers(Transport& transport) {
  auto* handle = reinterpret_cast<uv_handle_t*>(dynamic_cast<detail::StreamTransport&>(transport).tcp());
  int size = 4096;
  ASSERT_EQ(uv_send_buffer_size(handle, &size), 0);
  size = 4096;
  ASSERT_EQ(uv_recv_buffer_size(handle, &size), 0);
}

/// Completes once the loop is about to block (see when_settled()).
Future<void> settled(EventLoop& loop) {
  Future<void> done = loop.create_future<void>();
  when_settled(loop, [done]() mutable { done.set_result(); });
  return done;
}

template <class Exception>
Coro<std::string> error_of(Coro<std::size_t> call) {
  try {
    (void)co_await std::move(call);
  } catch (const Exception& e) {
    co_return e.what();
  }
  co_return "no error";
}

TEST_F(Sendfile, BytesGoBetweenTheWritesAroundIt) {
  const std::string content = file_content(3 << 20);  // more than the socket buffers take at once
  const std::string path = make_file(content);
  auto main = [&]() -> Coro<void> {
    const std::string expected = "head" + content.substr(10) + "tail";
    Connection connection = co_await connect(expected.size());
    const uv_file file = co_await fs::open(path);
    connection.client->write("head");
    EXPECT_EQ(co_await loop.sendfile(*connection.client, file, 10), content.size() - 10);
    EXPECT_TRUE(connection.client->is_reading()) << "reading resumes afterwards";
    EXPECT_EQ(connection.client->get_write_buffer_size(), 0u);
    connection.client->write("tail");
    co_await connection.peer->got_all;
    EXPECT_TRUE(connection.peer->received == expected) << connection.peer->received.size() << " bytes";
    EXPECT_EQ(connection.client_protocol->events, (std::vector<std::string>{"made"}));
    co_await fs::close(file);
    co_await finish(connection);
  };
  loop.run_until_complete(main());
}

TEST_F(Sendfile, CountOffsetAndEndOfFile) {
  const std::string content = file_content(1000);
  const std::string path = make_file(content);
  auto main = [&]() -> Coro<void> {
    Connection connection = co_await connect(100 + 400);
    const uv_file file = co_await fs::open(path);
    EXPECT_EQ(co_await loop.sendfile(*connection.client, file, 5, 100), 100u);
    EXPECT_EQ(co_await loop.sendfile(*connection.client, file, 600, 5000), 400u) << "stops at the end of the file";
    EXPECT_EQ(co_await loop.sendfile(*connection.client, file, 2000), 0u) << "past the end: nothing";
    co_await connection.peer->got_all;
    EXPECT_EQ(connection.peer->received, content.substr(5, 100) + content.substr(600));
    co_await fs::close(file);
    co_await finish(connection);
  };
  loop.run_until_complete(main());
}

TEST_F(Sendfile, CopyingPathKeepsOrderAndFlowControl) {
  // The path taken where sendfile(2) is missing or refuses the file.
  const std::string content = file_content((1 << 20) + 123);
  const std::string path = make_file(content);
  auto main = [&]() -> Coro<void> {
    const std::string expected = "head" + content.substr(3) + "tail";
    Connection connection = co_await connect(expected.size());
    connection.client->set_write_buffer_limits(1024);  // so the copy waits for the buffer to drain
    const uv_file file = co_await fs::open(path);
    connection.client->write("head");
    auto* stream = dynamic_cast<detail::StreamTransport*>(connection.client.get());
    CO_ASSERT_TRUE(stream != nullptr);
    Coro<std::size_t> copying =
        detail::sendfile_through(stream->shared_from_this(), file, 3, std::nullopt, detail::SendfileMode::copy_only);
    EXPECT_EQ(co_await std::move(copying), content.size() - 3);
    EXPECT_EQ(connection.client->get_write_buffer_size(), 0u) << "gives its count once the OS has every byte";
    EXPECT_TRUE(connection.client->is_reading());
    connection.client->write("tail");
    co_await connection.peer->got_all;
    EXPECT_TRUE(connection.peer->received == expected) << connection.peer->received.size() << " bytes";
    EXPECT_EQ(connection.client_protocol->events, (std::vector<std::string>{"made"}))
        << "the sendfile's own writes neither pause nor resume the protocol";
    co_await fs::close(file);
    co_await finish(connection);
  };
  loop.run_until_complete(main());
}

TEST_F(Sendfile, WritesAndASecondSendfileWaitForTheFirst) {
  const std::string content = file_content(1 << 20);
  const std::string path = make_file(content);
  auto main = [&]() -> Coro<void> {
    Connection connection = co_await connect(content.size() + 5);
    const uv_file file = co_await fs::open(path);
    Task<std::size_t> sending = create_task(loop.sendfile(*connection.client, file));
    co_await sleep(0s);  // the sendfile has started
    EXPECT_FALSE(connection.client->is_reading());
    std::string refused;
    try {
      connection.client->write("early");
    } catch (const RuntimeError& e) {
      refused = e.what();
    }
    EXPECT_EQ(refused, "unable to write; sendfile is in progress");
    EXPECT_EQ(co_await error_of<RuntimeError>(loop.sendfile(*connection.client, file)), "Empty waiter is already set");
    EXPECT_EQ(co_await sending, content.size());
    connection.client->write("after");
    co_await connection.peer->got_all;
    EXPECT_TRUE(connection.peer->received == content + "after");
    co_await fs::close(file);
    co_await finish(connection);
  };
  loop.run_until_complete(main());
}

#ifndef _WIN32  // POSIX write()/close() on the pipe
TEST_F(Sendfile, APipeIsCopiedUnlessFallbackIsOff) {
  uv_file pipe_ends[2];
  ASSERT_EQ(uv_pipe(pipe_ends, 0, 0), 0);
  auto main = [&]() -> Coro<void> {
    Connection connection = co_await connect(5);
    EXPECT_EQ(::write(pipe_ends[1], "piped", 5), 5);
    bool not_available = false;
    try {
      (void)co_await loop.sendfile(*connection.client, pipe_ends[0], 0, std::nullopt, false);
    } catch (const SendfileNotAvailableError&) {
      not_available = true;
    }
    EXPECT_TRUE(not_available) << "sendfile(2) takes regular files only";
    EXPECT_TRUE(connection.client->is_reading());
    ::close(pipe_ends[1]);
    EXPECT_EQ(co_await loop.sendfile(*connection.client, pipe_ends[0]), 5u);
    co_await connection.peer->got_all;
    EXPECT_EQ(connection.peer->received, "piped");
    co_await finish(connection);
  };
  loop.run_until_complete(main());
  ::close(pipe_ends[0]);
}
#endif

/// A transport of the user's own, which sendfile cannot drive.
class HomemadeTransport final : public Transport {
 public:
  explicit HomemadeTransport(EventLoop& loop) : loop_(loop) {}
  std::any get_extra_info(std::string_view) const override { return {}; }
  std::optional<SocketAddress> peername() const override { return std::nullopt; }
  std::optional<SocketAddress> sockname() const override { return std::nullopt; }
  bool is_closing() const noexcept override { return false; }
  void close() override {}
  void set_protocol(std::shared_ptr<BaseProtocol>) override {}
  std::shared_ptr<BaseProtocol> get_protocol() const override { return nullptr; }
  EventLoop& get_loop() const noexcept override { return loop_; }
  bool is_reading() const noexcept override { return false; }
  void pause_reading() override {}
  void resume_reading() override {}
  void write(std::string_view) override {}
  void write_eof() override {}
  bool can_write_eof() const noexcept override { return false; }
  void abort() override {}
  void set_write_buffer_limits(std::optional<std::size_t>, std::optional<std::size_t>) override {}
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override { return {0, 0}; }
  std::size_t get_write_buffer_size() const noexcept override { return 0; }

 private:
  EventLoop& loop_;
};

TEST_F(Sendfile, AsyncioErrors) {
  const std::string path = make_file("some bytes");
  auto main = [&]() -> Coro<void> {
    Connection connection = co_await connect(0);
    const uv_file file = co_await fs::open(path);
    EXPECT_EQ(co_await error_of<std::invalid_argument>(loop.sendfile(*connection.client, file, -1)),
              "offset must be a non-negative integer (got -1)");
    EXPECT_EQ(co_await error_of<std::invalid_argument>(loop.sendfile(*connection.client, file, 0, 0)),
              "count must be a positive integer (got 0)");
    HomemadeTransport homemade(loop);
    const std::string unsupported = co_await error_of<RuntimeError>(loop.sendfile(homemade, file));
    EXPECT_EQ(unsupported.rfind("sendfile is not supported for transport", 0), 0u) << unsupported;
    EXPECT_TRUE(connection.client->is_reading()) << "a refused call changes nothing";
    connection.client->close();
    EXPECT_EQ(co_await error_of<RuntimeError>(loop.sendfile(*connection.client, file)), "Transport is closing");
    co_await connection.client_protocol->lost;
    co_await connection.peer->lost;
    co_await shut_down(*connection.server);
    co_await fs::close(file);
  };
  loop.run_until_complete(main());
}

TEST_F(Sendfile, CancelledMidWayRestoresTheTransport) {
  // 32 MiB cannot fit in the socket buffers of a peer that stopped reading.
  const std::string content = file_content(32 << 20);
  const std::string path = make_file(content);
  auto main = [&]() -> Coro<void> {
    Connection connection = co_await connect(0, Peer::OnFirstData::pause);
    const uv_file file = co_await fs::open(path);
    Task<std::size_t> sending = create_task(loop.sendfile(*connection.client, file));
    co_await connection.peer->first_data;
    sending.cancel();
    bool cancelled = false;
    try {
      (void)co_await sending;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(connection.client->is_reading()) << "reading resumed";
    connection.client->write("after");  // accepted again, queued behind the file's bytes
    connection.client->close();
    connection.peer->transport->resume_reading();
    co_await connection.peer->lost;  // the client's EOF after everything
    co_await connection.client_protocol->lost;
    const std::string& received = connection.peer->received;
    CO_ASSERT_TRUE(received.size() >= 5);
    const std::size_t file_part = received.size() - 5;
    EXPECT_LT(file_part, content.size());
    EXPECT_TRUE(received.compare(0, file_part, content, 0, file_part) == 0) << "a prefix of the file, intact";
    EXPECT_EQ(received.substr(file_part), "after") << "nothing of the file after what was written next";
    co_await fs::close(file);
    co_await shut_down(*connection.server);
  };
  loop.run_until_complete(main());
}

TEST_F(Sendfile, ClosingTheLoopMidWayIsClean) {
  const std::string content = file_content(32 << 20);
  const std::string path = make_file(content);
  uv_file file = -1;
  auto main = [&]() -> Coro<void> {
    Connection connection = co_await connect(0, Peer::OnFirstData::pause);
    file = co_await fs::open(path);
    (void)create_task(loop.sendfile(*connection.client, file));
    co_await connection.peer->first_data;  // under way, and stuck: the peer stopped reading
  };
  loop.run_until_complete(main());
  loop.close();  // the fixture checks that every handle and request is gone
  EXPECT_EQ(log.sink().take_matching(spdlog::level::err, "Task was destroyed but it is pending!").size(), 1u);
  uv_fs_t request;
  uv_fs_close(nullptr, &request, file, nullptr);
  uv_fs_req_cleanup(&request);
}

TEST_F(Sendfile, ClosingTheTransportMidWayEndsTheSendfile) {
  // The send waits for room on its own duplicate of the socket, which the
  // transport's close() or abort() leaves open: the transport must wake it.
  const std::string content = file_content(32 << 20);
  const std::string path = make_file(content);
  for (const bool abort : {false, true}) {
    auto main = [&]() -> Coro<void> {
      Connection connection = co_await connect(0, Peer::OnFirstData::pause);
      const uv_file file = co_await fs::open(path);
      shrink_buffers(*connection.client);
      shrink_buffers(*connection.peer->transport);
      Task<std::size_t> sending = create_task(loop.sendfile(*connection.client, file));
      co_await connection.peer->first_data;  // the peer stops reading
      co_await settled(loop);                // the send waits for room that never comes
      if (abort) {
        connection.client->abort();
      } else {
        connection.client->close();
      }
      std::string error = "no error";
      try {
        (void)co_await wait_for(sending, 10s);
      } catch (const TimeoutError&) {
        error = "still waiting";
      } catch (const std::system_error& e) {
        error = e.code() == std::errc::connection_reset ? e.what() : "wrong code";
      }
      EXPECT_EQ(error, "Connection is closed by peer: " + std::system_category().message(ECONNRESET))
          << (abort ? "abort()" : "close()");
      co_await connection.client_protocol->lost;
      connection.peer->transport->resume_reading();
      co_await connection.peer->lost;
      const std::string& received = connection.peer->received;
      EXPECT_LT(received.size(), content.size());
      EXPECT_TRUE(received.compare(0, received.size(), content, 0, received.size()) == 0) << "a prefix, intact";
      co_await fs::close(file);
      co_await shut_down(*connection.server);
    };
    loop.run_until_complete(main());
  }
}

TEST_F(Sendfile, PeerAbortingMidWayRaisesAConnectionError) {
  const std::string content = file_content(32 << 20);
  const std::string path = make_file(content);
  auto main = [&]() -> Coro<void> {
    Connection connection = co_await connect(0, Peer::OnFirstData::abort);
    const uv_file file = co_await fs::open(path);
    bool connection_error = false;
    try {
      (void)co_await loop.sendfile(*connection.client, file);
    } catch (const std::system_error& e) {
      connection_error = e.code() == std::errc::connection_reset || e.code() == std::errc::broken_pipe;
      EXPECT_TRUE(connection_error) << e.what();
    }
    EXPECT_TRUE(connection_error);
    co_await connection.client_protocol->lost;  // the transport sees the end too, once reading resumes
    co_await connection.peer->lost;
    co_await fs::close(file);
    co_await shut_down(*connection.server);
  };
  loop.run_until_complete(main());
}

}  // namespace
}  // namespace aiouv::test
