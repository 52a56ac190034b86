// The echo server's client: sends --count lines and checks every echo.
//
//   echo_client [--host 127.0.0.1] [--port 8888] [--mode streams|protocol] [--count 10]
//
// Prints "echoed N messages" and exits 0, or says what went wrong and
// exits 1.
#include <cstdio>
#include <string>

#include <aiouv/aiouv.hpp>

#include "options.hpp"

namespace {

std::string message(int i) { return "message " + std::to_string(i) + "\n"; }

aiouv::Coro<bool> with_streams(const EchoOptions& options) {
  auto [reader, writer] = co_await aiouv::open_connection(options.host, static_cast<std::uint16_t>(options.port));
  bool ok = true;
  for (int i = 0; i < options.count && ok; ++i) {
    writer.write(message(i));
    co_await writer.drain();
    const std::string echoed = co_await reader.readline();
    if (echoed != message(i)) {
      std::printf("bad echo: expected %s", message(i).c_str());
      ok = false;
    }
  }
  writer.close();
  co_await writer.wait_closed();
  co_return ok;
}

/// Sends everything at once and waits until as many bytes came back.
class Collector : public aiouv::Protocol {
 public:
  Collector(aiouv::EventLoop& loop, std::size_t expected) : done(loop.create_future<void>()), expected_(expected) {}
  void data_received(std::string_view data) override {
    received.append(data);
    if (received.size() >= expected_ && !done.done()) done.set_result();
  }
  void connection_lost(std::exception_ptr error) override {
    if (done.done()) return;
    if (error) {
      done.set_exception(error);
    } else {
      done.set_result();
    }
  }
  std::string received;
  aiouv::Future<void> done;

 private:
  std::size_t expected_;
};

aiouv::Coro<bool> with_protocol(const EchoOptions& options) {
  aiouv::EventLoop& loop = aiouv::get_running_loop();
  std::string all;
  for (int i = 0; i < options.count; ++i) all += message(i);
  auto [transport, collector] = co_await loop.create_connection(
      [&] { return std::make_shared<Collector>(loop, all.size()); }, options.host,
      static_cast<std::uint16_t>(options.port));
  transport->write(all);
  co_await collector->done;
  transport->close();
  const bool ok = collector->received == all;
  if (!ok) std::printf("bad echo: %zu bytes back, %zu sent\n", collector->received.size(), all.size());
  co_return ok;
}

aiouv::Coro<int> client(EchoOptions options) {
  const bool ok = options.mode == "streams" ? co_await with_streams(options) : co_await with_protocol(options);
  if (ok) std::printf("echoed %d messages\n", options.count);
  co_return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return aiouv::run(client(parse_echo_options(argc, argv))); }
