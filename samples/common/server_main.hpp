#ifndef AIOUV_SAMPLES_COMMON_SERVER_MAIN_HPP_INCLUDED
#define AIOUV_SAMPLES_COMMON_SERVER_MAIN_HPP_INCLUDED

// What the sample servers share: --host/--port parsing, the "listening on"
// line, and waiting for SIGINT or SIGTERM.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <aiouv/aiouv.hpp>

namespace samples {

struct HostPort {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};

/// Parses [--host HOST] [--port PORT]; exits with a usage message otherwise.
inline HostPort parse_host_port(int argc, char** argv, std::uint16_t default_port) {
  HostPort options;
  options.port = default_port;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--host" && has_value) {
      options.host = argv[i + 1];
    } else if (flag == "--port" && has_value && std::strtoul(argv[i + 1], nullptr, 10) <= 65535) {
      options.port = static_cast<std::uint16_t>(std::strtoul(argv[i + 1], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s [--host HOST] [--port PORT]\n", argv[0]);
      std::exit(2);
    }
  }
  return options;
}

/// Prints "listening on HOST:PORT" (the first socket), flushed: tests and
/// scripts read it to learn the port chosen for --port 0.
inline void announce(const aiouv::Server& server) {
  const aiouv::SocketAddress address = server.sockets().at(0);
  std::printf("listening on %s:%u\n", address.host().c_str(), static_cast<unsigned>(address.port()));
  std::fflush(stdout);
}

/// Waits for SIGINT or SIGTERM and gives which one came.
inline aiouv::Coro<int> shutdown_signal() {
  aiouv::EventLoop& loop = aiouv::get_running_loop();
  aiouv::Future<int> stop = loop.create_future<int>();
  auto request_stop = [stop](int signum) mutable {
    if (!stop.done()) stop.set_result(signum);
  };
  loop.add_signal_handler(SIGINT, request_stop, SIGINT);
  loop.add_signal_handler(SIGTERM, request_stop, SIGTERM);
  const int signum = co_await stop;
  loop.remove_signal_handler(SIGINT);
  loop.remove_signal_handler(SIGTERM);
  co_return signum;
}

}  // namespace samples

#endif
