// Server: listening on several addresses, start_serving, close and
// wait_closed with live clients, close_clients/abort_clients, serve_forever,
// address in use, reuse_port, and what the loop does with servers at close.
#include "net/net_helpers.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Servers = LoopTest;

auto echo_factory() {
  return [] { return std::make_shared<EchoProtocol>(); };
}

TEST_F(Servers, ListensOnEveryAddressOfEveryHost) {
  auto main = [&]() -> Coro<void> {
    // A named vector: g++ 12 cannot compile a braced list of string
    // literals inside a co_await expression ("array used as initializer").
    // localhost is 127.0.0.1 again: the same address is bound once, as in
    // asyncio (which makes a set of the resolved addresses).
    std::vector<std::string> hosts{"127.0.0.1", "localhost"};
    auto server = co_await loop.create_server(echo_factory(), hosts, 0, ServerOptions{.family = AF_INET});
    CO_ASSERT_TRUE(server->sockets().size() == 1u);
#ifdef __linux__
    // Two different loopback addresses (all of 127/8 is local on Linux).
    std::vector<std::string> two{"127.0.0.1", "127.0.0.2"};
    auto both = co_await loop.create_server(echo_factory(), two, 0);
    const auto sockets = both->sockets();
    CO_ASSERT_TRUE(sockets.size() == 2u);
    EXPECT_EQ(sockets[0].host(), "127.0.0.1");
    EXPECT_EQ(sockets[1].host(), "127.0.0.2");
    EXPECT_NE(sockets[0].port(), 0);
    co_await shut_down(*both);
#endif
    EXPECT_TRUE(server->is_serving());
    EXPECT_EQ(&server->get_loop(), &loop);
    server->close();
    EXPECT_FALSE(server->is_serving());
    EXPECT_TRUE(server->sockets().empty());
    co_await server->wait_closed();
    co_await server->wait_closed();  // again: returns at once
  };
  loop.run_until_complete(main());
}

TEST_F(Servers, EmptyHostMeansEveryInterface) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await loop.create_server(echo_factory(), "", 0, ServerOptions{.family = AF_INET});
    CO_ASSERT_TRUE(!server->sockets().empty());
    EXPECT_EQ(server->sockets()[0].host(), "0.0.0.0");
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server), 2);
    transport->write("hi");
    co_await client->got_all;
    transport->close();
    co_await client->lost;
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Servers, StartServingLater) {
  auto main = [&]() -> Coro<void> {
    int made = 0;
    auto server = co_await loop.create_server(
        [&] {
          ++made;
          return std::make_shared<EchoProtocol>();
        },
        "127.0.0.1", 0, ServerOptions{.start_serving = false});
    EXPECT_FALSE(server->is_serving());
    // The socket listens: the connection completes in the backlog, but no
    // protocol is made until the server serves.
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server), 4);
    transport->write("ping");
    co_await sleep(5ms);
    EXPECT_EQ(made, 0);
    co_await server->start_serving();
    EXPECT_TRUE(server->is_serving());
    co_await client->got_all;
    EXPECT_EQ(made, 1);
    transport->close();
    co_await client->lost;
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Servers, WaitClosedWaitsForTheClients) {
  std::vector<std::string> order;
  auto main = [&]() -> Coro<void> {
    std::vector<std::shared_ptr<RecordingProtocol>> accepted;
    auto server = co_await loop.create_server(
        [&] {
          accepted.push_back(std::make_shared<RecordingProtocol>(loop));
          return accepted.back();
        },
        "127.0.0.1", 0);
    const std::uint16_t port = port_of(*server);
    auto [t1, c1] = co_await loop.create_connection([&] { return std::make_shared<RecordingProtocol>(loop); },
                                                     "127.0.0.1", port);
    auto [t2, c2] = co_await loop.create_connection([&] { return std::make_shared<RecordingProtocol>(loop); },
                                                     "127.0.0.1", port);
    while (accepted.size() < 2 || !accepted[1]->made.done()) co_await sleep(1ms);
    server->close();
    auto waiting = [&]() -> Coro<void> {
      co_await server->wait_closed();
      order.push_back("wait_closed returned");
    };
    Task<void> waiter = loop.create_task(waiting());
    co_await sleep(5ms);
    EXPECT_FALSE(waiter.done()) << "two clients are still connected";
    order.push_back("closing clients");
    server->close_clients();
    co_await waiter;
    co_await c1->lost;
    co_await c2->lost;
    // New connections are refused once closed.
    bool refused = false;
    try {
      (void)co_await loop.create_connection([] { return std::make_shared<Protocol>(); }, "127.0.0.1", port);
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::connection_refused;
    }
    EXPECT_TRUE(refused);
  };
  loop.run_until_complete(main());
  EXPECT_EQ(order, (std::vector<std::string>{"closing clients", "wait_closed returned"}));
}

TEST_F(Servers, AbortClients) {
  auto main = [&]() -> Coro<void> {
    std::shared_ptr<RecordingProtocol> accepted;
    auto server = co_await loop.create_server([&] { return accepted = std::make_shared<RecordingProtocol>(loop); },
                                              "127.0.0.1", 0);
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    co_await accepted->made;
    accepted->transport->write(std::string(8 << 20, 'a'));  // unsent data is dropped
    server->abort_clients();
    co_await accepted->lost;
    co_await client->lost;
    EXPECT_LT(client->received.size(), 8u << 20);
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(Servers, ServeForeverUntilCancelled) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await loop.create_server(echo_factory(), "127.0.0.1", 0, ServerOptions{.start_serving = false});
    Task<void> serving = loop.create_task(server->serve_forever());
    co_await sleep(0s);
    EXPECT_TRUE(server->is_serving());
    std::string second;
    try {
      co_await server->serve_forever();
    } catch (const RuntimeError& e) {
      second = e.what();
    }
    EXPECT_NE(second.find("is already being awaited on serve_forever()"), std::string::npos) << second;
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server), 3);
    transport->write("abc");
    co_await client->got_all;
    transport->close();
    co_await client->lost;
    serving.cancel();
    EXPECT_THROW(co_await serving, CancelledError);
    EXPECT_FALSE(server->is_serving());
    EXPECT_TRUE(server->sockets().empty()) << "serve_forever closed the server on the way out";
    std::string closed;
    try {
      co_await server->serve_forever();
    } catch (const RuntimeError& e) {
      closed = e.what();
    }
    EXPECT_NE(closed.find("is closed"), std::string::npos) << closed;
  };
  loop.run_until_complete(main());
}

TEST_F(Servers, CloseEndsServeForever) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await loop.create_server(echo_factory(), "127.0.0.1", 0);
    loop.call_later(2ms, [server] { server->close(); });
    EXPECT_THROW(co_await server->serve_forever(), CancelledError);
  };
  loop.run_until_complete(main());
}

TEST_F(Servers, AddressInUse) {
  auto main = [&]() -> Coro<void> {
    auto first = co_await loop.create_server(echo_factory(), "127.0.0.1", 0);
    const std::uint16_t port = port_of(*first);
    bool in_use = false;
    try {
      (void)co_await loop.create_server(echo_factory(), "127.0.0.1", port);
    } catch (const std::system_error& e) {
      in_use = e.code() == std::errc::address_in_use;
      EXPECT_NE(std::string(e.what()).find("error while attempting to bind on address 127.0.0.1:" + std::to_string(port)),
                std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(in_use);
#ifdef __linux__
    // With SO_REUSEPORT on both, two servers share the port.
    auto a = co_await loop.create_server(echo_factory(), "127.0.0.1", 0, ServerOptions{.reuse_port = true});
    auto b = co_await loop.create_server(echo_factory(), "127.0.0.1", port_of(*a), ServerOptions{.reuse_port = true});
    EXPECT_EQ(port_of(*a), port_of(*b));
    a->close();
    b->close();
    co_await a->wait_closed();
    co_await b->wait_closed();
#endif
    co_await shut_down(*first);
  };
  loop.run_until_complete(main());
}

TEST_F(Servers, AFailingFactoryIsReportedAndTheConnectionDropped) {
  record_exceptions();
  auto main = [&]() -> Coro<void> {
    auto server = co_await loop.create_server(
        []() -> std::shared_ptr<Protocol> { throw std::runtime_error("no protocol today"); }, "127.0.0.1", 0);
    auto [transport, client] = co_await connect_recorder(loop, port_of(*server));
    co_await client->lost;
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message, "Error on transport creation for incoming connection");
  EXPECT_EQ(what_of(reported[0].exception), "no protocol today");
}

TEST_F(Servers, AnUnreferencedServerKeepsServingUntilTheLoopCloses) {
  std::uint16_t port = 0;
  auto start = [&]() -> Coro<void> {
    auto server = co_await loop.create_server(echo_factory(), "127.0.0.1", 0);
    port = port_of(*server);
  };  // the last user reference goes here
  loop.run_until_complete(start());
  auto use = [&]() -> Coro<void> {
    auto [transport, client] =
        co_await connect_recorder(loop, port, 2);
    transport->write("ok");
    co_await client->got_all;
    transport->close();
    co_await client->lost;
  };
  loop.run_until_complete(use());
  loop.close();  // closes the listener; the fixture checks nothing is left
}

}  // namespace
}  // namespace aiouv::test
