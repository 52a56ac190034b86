// UDP endpoints: echo over IPv4 and IPv6, connected endpoints, ICMP
// "port unreachable" through error_received(), argument errors, close and
// abort, reuse_port, and closing the loop with an endpoint open.
#include "net/net_helpers.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Udp = LoopTest;

/// Sends every datagram back to where it came from.
class DatagramEcho : public DatagramProtocol {
 public:
  void connection_made(DatagramTransport& t) override { transport = &t; }
  void datagram_received(std::string_view data, const SocketAddress& from) override { transport->sendto(data, from); }
  DatagramTransport* transport = nullptr;
};

/// Records datagrams and errors; futures for the moments tests wait for.
class DatagramRecorder : public DatagramProtocol {
 public:
  explicit DatagramRecorder(EventLoop& loop)
      : got(loop.create_future<void>()), failed(loop.create_future<void>()), lost(loop.create_future<void>()) {}
  void connection_made(DatagramTransport& t) override {
    transport = &t;
    events.push_back("made");
  }
  void datagram_received(std::string_view data, const SocketAddress& from) override {
    datagrams.emplace_back(data);
    senders.push_back(from);
    if (!got.done()) got.set_result();
  }
  void error_received(std::exception_ptr e) override {
    errors.push_back(e);
    if (!failed.done()) failed.set_result();
  }
  void connection_lost(std::exception_ptr) override {
    events.push_back("lost");
    lost.set_result();
  }
  DatagramTransport* transport = nullptr;
  std::vector<std::string> events, datagrams;
  std::vector<SocketAddress> senders;
  std::vector<std::exception_ptr> errors;
  Future<void> got, failed, lost;
};

DatagramOptions local(const std::string& host) {
  DatagramOptions options;
  options.local_addr = HostPort{host, 0};
  return options;
}

DatagramOptions remote(const std::string& host, std::uint16_t port) {
  DatagramOptions options;
  options.remote_addr = HostPort{host, port};
  return options;
}

Coro<void> echo_round_trip(EventLoop& loop, std::string host) {
  auto [server, echo] = co_await loop.create_datagram_endpoint([] { return std::make_shared<DatagramEcho>(); },
                                                               local(host));
  const SocketAddress server_address = *server->sockname();
  EXPECT_NE(server_address.port(), 0);
  auto [client, recorder] = co_await loop.create_datagram_endpoint(
      [&loop] { return std::make_shared<DatagramRecorder>(loop); }, remote(host, server_address.port()));
  EXPECT_EQ(recorder->events, (std::vector<std::string>{"made"}));
  EXPECT_EQ(client->peername(), server_address);
  EXPECT_EQ(std::any_cast<SocketAddress>(client->get_extra_info("peername")), server_address);
  EXPECT_TRUE(client->get_extra_info("socket").has_value());
  client->sendto("ping");
  co_await recorder->got;
  EXPECT_EQ(recorder->datagrams, (std::vector<std::string>{"ping"}));
  EXPECT_EQ(recorder->senders.at(0), server_address);
  EXPECT_EQ(client->get_write_buffer_size(), 0u);
  client->close();
  EXPECT_TRUE(client->is_closing());
  client->sendto("ignored after close");
  co_await recorder->lost;
  EXPECT_EQ(recorder->events, (std::vector<std::string>{"made", "lost"}));
  server->close();
}

TEST_F(Udp, EchoOverIPv4) { loop.run_until_complete(echo_round_trip(loop, "127.0.0.1")); }

TEST_F(Udp, EchoOverIPv6) {
  // Some containers have no IPv6 loopback: skip there.
  uv_udp_t probe;
  uv_udp_init(loop.native_handle(), &probe);
  sockaddr_in6 any{};
  uv_ip6_addr("::1", 0, &any);
  const int status = uv_udp_bind(&probe, reinterpret_cast<const sockaddr*>(&any), 0);
  uv_close(reinterpret_cast<uv_handle_t*>(&probe), nullptr);
  loop.run_until_complete(sleep(0s));  // lets the probe's close finish
  if (status != 0) GTEST_SKIP() << "no IPv6 loopback here";
  loop.run_until_complete(echo_round_trip(loop, "::1"));
}

TEST_F(Udp, UnconnectedEndpointsSendToAnyAddress) {
  auto main = [&]() -> Coro<void> {
    auto [a, ra] = co_await loop.create_datagram_endpoint([&] { return std::make_shared<DatagramRecorder>(loop); },
                                                          local("127.0.0.1"));
    auto [b, rb] = co_await loop.create_datagram_endpoint([&] { return std::make_shared<DatagramRecorder>(loop); },
                                                          local("127.0.0.1"));
    a->sendto("to b", *b->sockname());
    co_await rb->got;
    EXPECT_EQ(rb->datagrams.at(0), "to b");
    EXPECT_EQ(rb->senders.at(0), *a->sockname());
    EXPECT_FALSE(a->peername().has_value());
    std::string error;
    try {
      a->sendto("nowhere");
    } catch (const std::invalid_argument& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "sendto() needs an address: the endpoint is not connected");
    a->abort();
    b->close();
    co_await ra->lost;
    co_await rb->lost;
  };
  loop.run_until_complete(main());
}

TEST_F(Udp, AConnectedEndpointRejectsOtherAddresses) {
  auto main = [&]() -> Coro<void> {
    auto [server, echo] = co_await loop.create_datagram_endpoint([] { return std::make_shared<DatagramEcho>(); },
                                                                 local("127.0.0.1"));
    const std::uint16_t port = server->sockname()->port();
    auto [client, recorder] = co_await loop.create_datagram_endpoint(
        [&] { return std::make_shared<DatagramRecorder>(loop); }, remote("127.0.0.1", port));
    std::string error;
    try {
      client->sendto("x", SocketAddress::parse("127.0.0.1", static_cast<std::uint16_t>(port + 1)));
    } catch (const std::invalid_argument& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "Invalid address: must be None or 127.0.0.1:" + std::to_string(port));
    client->sendto("same", SocketAddress::parse("127.0.0.1", port));  // the remote itself is fine
    co_await recorder->got;
    client->close();
    server->close();
    co_await recorder->lost;
  };
  loop.run_until_complete(main());
}

TEST_F(Udp, PortUnreachableArrivesAsErrorReceived) {
  auto main = [&]() -> Coro<void> {
    // A port that was just free.
    auto [gone, unused] = co_await loop.create_datagram_endpoint([] { return std::make_shared<DatagramEcho>(); },
                                                                 local("127.0.0.1"));
    const std::uint16_t port = gone->sockname()->port();
    gone->abort();
    auto [client, recorder] = co_await loop.create_datagram_endpoint(
        [&] { return std::make_shared<DatagramRecorder>(loop); }, remote("127.0.0.1", port));
    client->sendto("anyone?");
    co_await wait_for(recorder->failed, 10s);
    CO_ASSERT_TRUE(!recorder->errors.empty());
    bool refused = false;
    try {
      std::rethrow_exception(recorder->errors.front());
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::connection_refused;
    }
    EXPECT_TRUE(refused);
    EXPECT_FALSE(client->is_closing()) << "an error_received() does not close the endpoint";
    client->close();
    co_await recorder->lost;
  };
  loop.run_until_complete(main());
}

TEST_F(Udp, ArgumentErrors) {
  auto main = [&]() -> Coro<void> {
    std::string error;
    try {
      (void)co_await loop.create_datagram_endpoint([] { return std::make_shared<DatagramEcho>(); }, DatagramOptions{});
    } catch (const std::invalid_argument& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "unexpected address family");
    DatagramOptions unbound;
    unbound.family = AF_INET;
    auto [t, p] = co_await loop.create_datagram_endpoint([] { return std::make_shared<DatagramEcho>(); }, unbound);
    EXPECT_FALSE(t->peername().has_value());
    t->close();
  };
  loop.run_until_complete(main());
}

#if defined(SO_REUSEPORT) && !defined(_WIN32)
TEST_F(Udp, ReusePortLetsTwoEndpointsShareAPort) {
  auto main = [&]() -> Coro<void> {
    DatagramOptions first = local("127.0.0.1");
    first.reuse_port = true;
    auto [a, pa] = co_await loop.create_datagram_endpoint([] { return std::make_shared<DatagramEcho>(); }, first);
    DatagramOptions second;
    second.local_addr = HostPort{"127.0.0.1", a->sockname()->port()};
    second.reuse_port = true;
    second.allow_broadcast = true;
    auto [b, pb] = co_await loop.create_datagram_endpoint([] { return std::make_shared<DatagramEcho>(); }, second);
    EXPECT_EQ(a->sockname()->port(), b->sockname()->port());
    a->close();
    b->close();
  };
  loop.run_until_complete(main());
}
#endif

TEST_F(Udp, ClosingTheLoopWithAnEndpointOpen) {
  auto main = [&]() -> Coro<void> {
    auto [t, p] = co_await loop.create_datagram_endpoint([] { return std::make_shared<DatagramEcho>(); },
                                                         local("127.0.0.1"));
    (void)t;
  };
  loop.run_until_complete(main());
  loop.close();  // the fixture checks uv_loop_close() == 0
}

}  // namespace
}  // namespace aiouv::test
