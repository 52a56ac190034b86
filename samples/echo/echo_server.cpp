// An echo server, with the streams API or with a Protocol:
//
//   echo_server [--host 127.0.0.1] [--port 8888] [--mode streams|protocol]
//
// Prints "listening on HOST:PORT" first (--port 0 picks a free port), then
// echoes every connection until SIGINT or SIGTERM, when it stops accepting,
// closes the connections and exits 0.
#include <csignal>
#include <cstdio>

#include <aiouv/aiouv.hpp>

#include "../common/server_main.hpp"
#include "options.hpp"

namespace {

/// Streams mode: one task per client, as asyncio.start_server runs it.
aiouv::Coro<void> echo_client(aiouv::StreamReader reader, aiouv::StreamWriter writer) {
  for (;;) {
    std::string data = co_await reader.read(64 * 1024);
    if (data.empty()) break;  // EOF
    writer.write(data);
    co_await writer.drain();
  }
  writer.close();
}

/// Protocol mode: callbacks, no task per client.
class EchoProtocol : public aiouv::Protocol {
 public:
  void connection_made(aiouv::Transport& transport) override { transport_ = &transport; }
  void data_received(std::string_view data) override { transport_->write(data); }

 private:
  aiouv::Transport* transport_ = nullptr;
};

aiouv::Coro<int> serve(EchoOptions options) {
  aiouv::EventLoop& loop = aiouv::get_running_loop();
  const auto port = static_cast<std::uint16_t>(options.port);
  std::shared_ptr<aiouv::Server> server;
  if (options.mode == "streams") {
    server = co_await aiouv::start_server(echo_client, options.host, port);
  } else {
    server = co_await loop.create_server([] { return std::make_shared<EchoProtocol>(); }, options.host, port);
  }
  samples::announce(*server);
  const int signum = co_await samples::shutdown_signal();

  std::printf("%s received, shutting down\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
  server->close();          // stop accepting
  server->close_clients();  // flush and close the connections
  co_await server->wait_closed();
  std::printf("server closed\n");
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) { return aiouv::run(serve(parse_echo_options(argc, argv))); }
