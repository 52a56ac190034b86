// A server that shuts down gracefully: on SIGTERM or the first SIGINT it
// stops accepting, lets the requests in flight finish and be answered, then
// closes the connections and exits 0.
//
//   graceful_shutdown [--host 127.0.0.1] [--port 8890]
//
// Protocol, one request per line: "work MS" answers "started MS" at once
// and "done MS" after MS milliseconds of (simulated) work.
#include <cstdio>
#include <set>
#include <string>

#include <aiouv/aiouv.hpp>

#include "../common/server_main.hpp"

namespace {

/// The handlers of the requests being worked on, so that shutdown can wait
/// for them.
struct InFlight {
  int count = 0;
  aiouv::Event idle;
  InFlight() { idle.set(); }
  void begin() {
    ++count;
    idle.clear();
  }
  void end() {
    if (--count == 0) idle.set();
  }
};

aiouv::Coro<void> serve_client(aiouv::StreamReader reader, aiouv::StreamWriter writer, InFlight& in_flight) {
  for (;;) {
    const std::string line = co_await reader.readline();
    if (line.empty()) break;  // the client left
    if (line.rfind("work ", 0) != 0) {
      writer.write("error: expected 'work MS'\n");
      continue;
    }
    const int ms = std::stoi(line.substr(5));
    in_flight.begin();
    writer.write("started " + std::to_string(ms) + "\n");
    co_await aiouv::sleep(std::chrono::milliseconds(ms));
    writer.write("done " + std::to_string(ms) + "\n");
    co_await writer.drain();
    in_flight.end();
  }
  writer.close();
}

aiouv::Coro<int> serve(samples::HostPort where) {
  InFlight in_flight;
  auto server = co_await aiouv::start_server(
      [&](aiouv::StreamReader r, aiouv::StreamWriter w) { return serve_client(r, w, in_flight); }, where.host,
      where.port);
  samples::announce(*server);
  const int signum = co_await samples::shutdown_signal();
  std::printf("%s: no new connections; %d request(s) in flight\n", signum == SIGINT ? "SIGINT" : "SIGTERM",
              in_flight.count);
  std::fflush(stdout);
  server->close();
  co_await in_flight.idle.wait();
  std::printf("in-flight requests answered\n");
  server->close_clients();
  co_await server->wait_closed();
  std::printf("closed cleanly\n");
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) { return aiouv::run(serve(samples::parse_host_port(argc, argv, 8890))); }
