// UDP echo, server and client in one program:
//
//   udp_echo [--count N]
//
// The server is a DatagramProtocol that sends each datagram back; the
// client sends N numbered datagrams over a connected endpoint, one at a
// time, checks every echo, and prints "echoed N datagrams".
#include <cstdio>
#include <cstdlib>
#include <string>

#include <aiouv/aiouv.hpp>

namespace {

using namespace std::chrono_literals;

/// Sends every datagram back to its sender.
class EchoServer : public aiouv::DatagramProtocol {
 public:
  void connection_made(aiouv::DatagramTransport& transport) override { transport_ = &transport; }
  void datagram_received(std::string_view data, const aiouv::SocketAddress& from) override {
    transport_->sendto(data, from);
  }

 private:
  aiouv::DatagramTransport* transport_ = nullptr;
};

/// Hands each echo to the coroutine waiting for it.
class EchoClient : public aiouv::DatagramProtocol {
 public:
  void datagram_received(std::string_view data, const aiouv::SocketAddress&) override {
    if (waiter && !waiter.done()) waiter.set_result(std::string(data));
  }
  void error_received(std::exception_ptr error) override {
    if (waiter && !waiter.done()) waiter.set_exception(error);
  }
  aiouv::Future<std::string> waiter;
};

aiouv::Coro<int> run_echo(int count) {
  aiouv::EventLoop& loop = aiouv::get_running_loop();
  aiouv::DatagramOptions server_options;
  server_options.local_addr = aiouv::HostPort{"127.0.0.1", 0};
  auto [server, server_protocol] =
      co_await loop.create_datagram_endpoint([] { return std::make_shared<EchoServer>(); }, server_options);
  const aiouv::SocketAddress address = *server->sockname();
  std::printf("server on %s\n", address.to_string().c_str());

  aiouv::DatagramOptions client_options;
  client_options.remote_addr = aiouv::HostPort{"127.0.0.1", address.port()};
  auto [client, protocol] =
      co_await loop.create_datagram_endpoint([] { return std::make_shared<EchoClient>(); }, client_options);
  int echoed = 0;
  for (int i = 0; i < count; ++i) {
    const std::string message = "datagram " + std::to_string(i);
    protocol->waiter = loop.create_future<std::string>();
    client->sendto(message);
    // UDP may drop a datagram: give each a deadline instead of hanging.
    const std::string reply = co_await aiouv::wait_for(protocol->waiter, 2s);
    if (reply != message) {
      std::printf("wrong echo: %s\n", reply.c_str());
      co_return 1;
    }
    ++echoed;
  }
  std::printf("echoed %d datagrams\n", echoed);
  client->close();
  server->close();
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 100;
  if (argc == 3 && std::string(argv[1]) == "--count") count = std::atoi(argv[2]);
  return aiouv::run(run_echo(count));
}
