// TLS: SSLContext, the `ssl` options of create_connection / create_server
// and the streams, loop.start_tls and StreamWriter.start_tls, with
// asyncio's errors for failed handshakes, timeouts and misuse.
#include "net/net_helpers.hpp"
#include "net/tls/ssl_protocol.hpp"
#include "support/test_certs.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Tls = LoopTest;

/// A start_server() handler echoing lines until EOF.
Coro<void> echo_lines(StreamReader reader, StreamWriter writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
  co_await writer.wait_closed();
}

/// A start_server() handler that only records that it ran.
ClientConnected note_that_it_ran(bool& ran) {
  return [&ran](StreamReader, StreamWriter) -> Coro<void> {
    ran = true;
    co_return;
  };
}

/// Awaits a connection attempt that must fail with std::invalid_argument
/// saying `message`.
Coro<void> expect_invalid(Coro<StreamPair> attempt, const char* message) {
  try {
    (void)co_await std::move(attempt);
    ADD_FAILURE() << "connected";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), message);
  }
}

ServerOptions tls_server_options() {
  ServerOptions options;
  options.ssl = test_server_context();
  return options;
}

ConnectionOptions tls_client_options(std::shared_ptr<SSLContext> context = test_client_context()) {
  ConnectionOptions options;
  options.ssl = std::move(context);
  return options;
}

TEST_F(Tls, StreamsEchoOverTls) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await start_server(echo_lines, "127.0.0.1", 0, tls_server_options());
    // 127.0.0.1 is the host name checked: the certificate lists the address.
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server), tls_client_options());
    writer.write("hello\n");
    writer.write("over tls\n");
    EXPECT_EQ(co_await reader.readline(), "hello\n");
    EXPECT_EQ(co_await reader.readline(), "over tls\n");
    EXPECT_EQ(std::any_cast<std::string>(writer.get_extra_info("version")), "TLSv1.3");
    EXPECT_FALSE(std::any_cast<std::string>(writer.get_extra_info("cipher")).empty());
    EXPECT_FALSE(std::any_cast<std::string>(writer.get_extra_info("peercert")).empty());
    EXPECT_TRUE(writer.get_extra_info("peername").has_value());
    EXPECT_NE(std::any_cast<std::shared_ptr<SSLContext>>(writer.get_extra_info("sslcontext")), nullptr);
    EXPECT_FALSE(writer.can_write_eof());
    EXPECT_THROW(
        {
          try {
            writer.write_eof();
          } catch (const RuntimeError& e) {
            EXPECT_STREQ(e.what(), "SSL doesn't support half-closes");
            throw;
          }
        },
        RuntimeError);
    // close() sends close_notify; the server's reader sees EOF and closes.
    writer.close();
    co_await writer.wait_closed();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, ProtocolsSeeConnectionMadeAfterTheHandshakeAndCloseNotifyAsEof) {
  auto main = [&]() -> Coro<void> {
    std::shared_ptr<RecordingProtocol> server_side;
    auto server = co_await loop.create_server(
        [&] {
          server_side = std::make_shared<RecordingProtocol>(loop, 5);
          return server_side;
        },
        "127.0.0.1", 0, tls_server_options());
    ConnectionOptions options = tls_client_options();
    options.server_hostname = "localhost";
    auto [transport, client] = co_await loop.create_connection(
        [&] { return std::make_shared<RecordingProtocol>(loop); }, "127.0.0.1", port_of(*server), options);
    EXPECT_EQ(client->events, (std::vector<std::string>{"made"}));
    EXPECT_EQ(client->transport, transport.get());
    transport->write("ab");
    transport->write("cde");
    co_await server_side->got_all;
    EXPECT_EQ(server_side->received, "abcde");
    server_side->transport->close();
    co_await client->lost;
    co_await server_side->lost;
    EXPECT_EQ(client->events, (std::vector<std::string>{"made", "eof", "lost"}));
    // As asyncio: the closing side hears eof_received() too, once the
    // peer's close_notify answers its own.
    EXPECT_EQ(server_side->events, (std::vector<std::string>{"made", "eof", "lost"}));
    EXPECT_TRUE(transport->is_closing());
    transport->write("dropped");  // after the connection is gone: nothing happens
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

/// Collects into its own buffer, as asyncio's BufferedProtocol.
class BufferedCollector : public BufferedProtocol {
 public:
  explicit BufferedCollector(EventLoop& loop, std::size_t expected) : done(loop.create_future<void>()), expected_(expected) {}
  std::span<char> get_buffer(std::size_t) override { return {buffer_, sizeof buffer_}; }
  void buffer_updated(std::size_t n) override {
    received.append(buffer_, n);
    if (received.size() >= expected_ && !done.done()) done.set_result();
  }
  std::string received;
  Future<void> done;

 private:
  char buffer_[7];
  std::size_t expected_;
};

TEST_F(Tls, BufferedProtocolsReadPlaintextIntoTheirBuffer) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await start_server(echo_lines, "127.0.0.1", 0, tls_server_options());
    auto [transport, collector] = co_await loop.create_connection(
        [&] { return std::make_shared<BufferedCollector>(loop, 30); }, "127.0.0.1", port_of(*server),
        tls_client_options());
    transport->write("a line longer than the buffer\n");
    co_await collector->done;
    EXPECT_EQ(collector->received, "a line longer than the buffer\n");
    transport->close();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, AMegabyteStreamsThroughFlowControl) {
  auto main = [&]() -> Coro<void> {
    std::string received;
    Future<void> finished = loop.create_future<void>();
    auto sink = [&](StreamReader reader, StreamWriter writer) -> Coro<void> {
      received = co_await reader.read();  // to EOF
      writer.close();
      finished.set_result();
    };
    auto server = co_await start_server(sink, "127.0.0.1", 0, tls_server_options());
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server), tls_client_options());
    std::string chunk(64 * 1024, '\0');
    std::string sent;
    for (int i = 0; i < 16; ++i) {
      for (std::size_t j = 0; j < chunk.size(); ++j) chunk[j] = static_cast<char>('a' + (i * 7 + j) % 26);
      writer.write(chunk);
      sent += chunk;
      EXPECT_LE(writer.transport().get_write_buffer_size(), 2 * 64 * 1024 + chunk.size());
      co_await writer.drain();
    }
    writer.close();
    co_await finished;
    EXPECT_EQ(received.size(), sent.size());
    EXPECT_TRUE(received == sent);
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, AnUntrustedCertificateFailsTheHandshake) {
  auto main = [&]() -> Coro<void> {
    bool handler_ran = false;
    ClientConnected handler = note_that_it_ran(handler_ran);
    auto server = co_await start_server(handler, "127.0.0.1", 0, tls_server_options());
    auto untrusting = SSLContext::client();  // trusts no CA at all
    try {
      co_await open_connection("127.0.0.1", port_of(*server), tls_client_options(untrusting));
      ADD_FAILURE() << "connected";
    } catch (const SSLCertVerificationError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ", 0), 0u)
          << e.what();
      EXPECT_EQ(e.verify_message(), "self-signed certificate");
      EXPECT_EQ(e.code().category(), ssl_category());
    }
    co_await shut_down(*server);
    EXPECT_FALSE(handler_ran);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, AHostNameTheCertificateDoesNotListFailsTheHandshake) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await start_server(echo_lines, "127.0.0.1", 0, tls_server_options());
    ConnectionOptions options = tls_client_options();
    options.server_hostname = "example.com";
    try {
      co_await open_connection("127.0.0.1", port_of(*server), options);
      ADD_FAILURE() << "connected";
    } catch (const SSLCertVerificationError& e) {
      EXPECT_EQ(e.verify_message(), "Hostname mismatch, certificate is not valid for 'example.com'.");
    }
    // Without the host name check the same certificate is accepted.
    auto lenient = test_client_context();
    lenient->set_check_hostname(false);
    options.ssl = lenient;
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server), options);
    writer.write("ok\n");
    EXPECT_EQ(co_await reader.readline(), "ok\n");
    writer.close();
    co_await writer.wait_closed();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, TlsToAPlainServerFailsWithAnSslError) {
  auto main = [&]() -> Coro<void> {
    auto plain = [](StreamReader reader, StreamWriter writer) -> Coro<void> {
      (void)co_await reader.read(1);
      writer.write("HTTP/1.0 400 Bad Request\r\n\r\n");
      writer.close();
    };
    auto server = co_await start_server(plain, "127.0.0.1", 0);
    EXPECT_THROW(co_await open_connection("127.0.0.1", port_of(*server), tls_client_options()), SSLError);
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, APlainClientOnlyClosesItsOwnConnection) {
  auto main = [&]() -> Coro<void> {
    bool handler_ran = false;
    ClientConnected handler = note_that_it_ran(handler_ran);
    auto server = co_await start_server(handler, "127.0.0.1", 0, tls_server_options());
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    writer.write("GET / HTTP/1.0\r\n\r\n");
    std::string answer = co_await reader.read();  // the server's alert, then EOF
    EXPECT_LT(answer.size(), 100u);
    writer.close();
    // The server still serves TLS clients.
    auto [tls_reader, tls_writer] = co_await open_connection("127.0.0.1", port_of(*server), tls_client_options());
    tls_writer.close();
    co_await tls_writer.wait_closed();
    co_await shut_down(*server);
    EXPECT_TRUE(handler_ran);  // the TLS client's, not the plain one's
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, ASilentServerTimesTheHandshakeOut) {
  auto main = [&]() -> Coro<void> {
    auto silent = [](StreamReader reader, StreamWriter writer) -> Coro<void> {
      (void)co_await reader.read();  // never answers
      writer.close();
    };
    auto server = co_await start_server(silent, "127.0.0.1", 0);
    ConnectionOptions options = tls_client_options();
    options.ssl_handshake_timeout = 50ms;
    try {
      co_await open_connection("127.0.0.1", port_of(*server), options);
      ADD_FAILURE() << "connected";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::connection_aborted);
      EXPECT_EQ(std::string(e.what()).rfind("SSL handshake is taking longer than 0.05 seconds: aborting the connection", 0),
                0u)
          << e.what();
    }
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, CancellingDuringTheHandshakeLeavesNothingOpen) {
  auto main = [&]() -> Coro<void> {
    Future<void> accepted = loop.create_future<void>();
    auto silent = [&](StreamReader reader, StreamWriter writer) -> Coro<void> {
      accepted.set_result();
      (void)co_await reader.read();
      writer.close();
    };
    auto server = co_await start_server(silent, "127.0.0.1", 0);
    Task<StreamPair> connecting =
        loop.create_task(open_connection("127.0.0.1", port_of(*server), tls_client_options()));
    co_await accepted;
    connecting.cancel();
    EXPECT_THROW(co_await connecting, CancelledError);
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, StartTlsUpgradesAPlainStreamInPlace) {
  auto main = [&]() -> Coro<void> {
    auto starttls_server = [](StreamReader reader, StreamWriter writer) -> Coro<void> {
      EXPECT_EQ(co_await reader.readline(), "STARTTLS\n");
      writer.write("GO\n");
      StreamWriter copy = writer;
      co_await copy.start_tls(test_server_context());  // acts as the TLS server
      std::string secret = co_await reader.readline();
      writer.write("got " + secret);  // the other copy writes over TLS too
      co_await writer.drain();
      writer.close();
    };
    auto server = co_await start_server(starttls_server, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    writer.write("STARTTLS\n");
    EXPECT_EQ(co_await reader.readline(), "GO\n");
    EXPECT_FALSE(writer.get_extra_info("cipher").has_value());
    // A named options struct: g++ 12 miscopies a braced temporary passed to
    // a coroutine (see the README).
    TlsOptions options;
    options.server_hostname = "localhost";
    co_await writer.start_tls(test_client_context(), options);
    EXPECT_EQ(std::any_cast<std::string>(writer.get_extra_info("version")), "TLSv1.3");
    writer.write("secret\n");
    EXPECT_EQ(co_await reader.readline(), "got secret\n");
    EXPECT_EQ(co_await reader.read(), "");  // the server's close_notify
    writer.close();
    co_await writer.wait_closed();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, AFailedStartTlsClosesTheStreamOnBothSides) {
  auto main = [&]() -> Coro<void> {
    Future<void> server_failed = loop.create_future<void>();
    auto starttls_server = [&](StreamReader reader, StreamWriter writer) -> Coro<void> {
      (void)co_await reader.readline();
      writer.write("GO\n");
      try {
        co_await writer.start_tls(test_server_context());
        ADD_FAILURE() << "the server's handshake succeeded";
      } catch (const SSLError&) {
        server_failed.set_result();  // the client's alert: unknown CA
      }
    };
    auto server = co_await start_server(starttls_server, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    writer.write("STARTTLS\n");
    EXPECT_EQ(co_await reader.readline(), "GO\n");
    TlsOptions options;
    options.server_hostname = "localhost";
    EXPECT_THROW(co_await writer.start_tls(SSLContext::client(), options), SSLCertVerificationError);
    EXPECT_TRUE(writer.is_closing());
    // The stream protocol heard connection_lost() with the handshake's error.
    EXPECT_THROW(co_await writer.wait_closed(), SSLCertVerificationError);
    co_await server_failed;
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, LoopStartTlsWithProtocols) {
  auto main = [&]() -> Coro<void> {
    std::shared_ptr<RecordingProtocol> server_side;
    auto server = co_await loop.create_server(
        [&] {
          server_side = std::make_shared<RecordingProtocol>(loop, 4);
          return server_side;
        },
        "127.0.0.1", 0);
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server), 2);
    co_await server_side->made;
    TlsOptions server_options;
    server_options.server_side = true;
    server_options.server_hostname = "ignored";  // a server has no use for it (asyncio ignores it too)
    Task<std::shared_ptr<Transport>> server_tls = loop.create_task(loop.start_tls(
        detail::shared_transport(*server_side->transport), server_side, test_server_context(), server_options));
    TlsOptions client_options;
    client_options.server_hostname = "localhost";
    std::shared_ptr<Transport> client_tls =
        co_await loop.start_tls(transport, client, test_client_context(), client_options);
    std::shared_ptr<Transport> server_transport = co_await server_tls;
    client_tls->write("ping");
    co_await server_side->got_all;
    EXPECT_EQ(server_side->received, "ping");
    server_transport->write("po");
    co_await client->got_all;
    EXPECT_EQ(client->received, "po");
    EXPECT_EQ(client->events, (std::vector<std::string>{"made"}));  // no second connection_made
    client_tls->abort();
    co_await client->lost;
    co_await server_side->lost;
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, MisusedOptionsAreRejectedAsAsyncioRejectsThem) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await start_server(echo_lines, "127.0.0.1", 0);
    const std::uint16_t port = port_of(*server);
    auto connect = [&](const ConnectionOptions& options) { return open_connection("127.0.0.1", port, options); };
    ConnectionOptions hostname_only;
    hostname_only.server_hostname = "localhost";
    co_await expect_invalid(connect(hostname_only), "server_hostname is only meaningful with ssl");
    ConnectionOptions timeout_only;
    timeout_only.ssl_handshake_timeout = 1s;
    co_await expect_invalid(connect(timeout_only), "ssl_handshake_timeout is only meaningful with ssl");
    ConnectionOptions negative = tls_client_options();
    negative.ssl_handshake_timeout = -1s;
    co_await expect_invalid(connect(negative), "ssl_handshake_timeout should be a positive number, got -1");
    const ConnectionOptions server_context = tls_client_options(test_server_context());
    co_await expect_invalid(connect(server_context), "a client needs a client SSLContext (SSLContext::client())");
    ServerOptions wrong_side;
    wrong_side.ssl = test_client_context();
    EXPECT_THROW(co_await start_server(echo_lines, "127.0.0.1", 0, wrong_side), std::invalid_argument);
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());

  auto context = SSLContext::client();
  EXPECT_TRUE(context->check_hostname());
  EXPECT_EQ(context->verify_mode(), VerifyMode::required);
  try {
    context->set_verify_mode(VerifyMode::none);
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "Cannot set verify_mode to CERT_NONE when check_hostname is enabled.");
  }
  context->set_check_hostname(false);
  context->set_verify_mode(VerifyMode::none);
  EXPECT_EQ(context->verify_mode(), VerifyMode::none);
  EXPECT_THROW(context->load_verify_pem("not a certificate"), SSLError);
  EXPECT_THROW(SSLContext::server()->load_cert_chain("/nonexistent/cert.pem"), SSLError);
  EXPECT_FALSE(SSLContext::server()->check_hostname());
  EXPECT_TRUE(SSLContext::create_default_context()->check_hostname());
  EXPECT_TRUE(SSLContext::create_default_context(SSLPurpose::client_auth)->server_side());
}

// asyncio's create_unix_connection and open_unix_connection take ssl too;
// a path names no host, so server_hostname must be given.
TEST_F(Tls, StreamsOverAUnixSocket) {
  const std::string path = unique_socket_path();
  auto main = [&]() -> Coro<void> {
    auto server = co_await start_unix_server(echo_lines, path, tls_server_options());
    UnixConnectionOptions options;
    options.ssl = test_client_context();
    options.server_hostname = "localhost";
    auto [reader, writer] = co_await open_unix_connection(path, options);
    writer.write("over a unix socket\n");
    EXPECT_EQ(co_await reader.readline(), "over a unix socket\n");
    EXPECT_EQ(std::any_cast<std::string>(writer.get_extra_info("version")), "TLSv1.3");
    writer.close();
    co_await writer.wait_closed();

    auto connect = [&](const UnixConnectionOptions& wrong) { return open_unix_connection(path, wrong); };
    UnixConnectionOptions no_hostname;
    no_hostname.ssl = test_client_context();
    co_await expect_invalid(connect(no_hostname), "you have to pass server_hostname when using ssl");
    UnixConnectionOptions hostname_only;
    hostname_only.server_hostname = "localhost";
    co_await expect_invalid(connect(hostname_only), "server_hostname is only meaningful with ssl");
    UnixConnectionOptions timeout_only;
    timeout_only.ssl_shutdown_timeout = 1s;
    co_await expect_invalid(connect(timeout_only), "ssl_shutdown_timeout is only meaningful with ssl");
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Tls, ClosingTheLoopWithTlsConnectionsOpen) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await loop.create_server([] { return std::make_shared<EchoProtocol>(); }, "127.0.0.1", 0,
                                              tls_server_options());
    auto [transport, client] = co_await loop.create_connection(
        [&] { return std::make_shared<RecordingProtocol>(loop, 1); }, "127.0.0.1", port_of(*server),
        tls_client_options());
    transport->write("x");
    co_await client->got_all;
    server->close();
  };
  loop.run_until_complete(main());
  // The fixture closes the loop with both ends open and checks that every
  // handle was closed and nothing leaked.
}

}  // namespace
}  // namespace aiouv::test
