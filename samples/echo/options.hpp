#ifndef AIOUV_SAMPLES_ECHO_OPTIONS_HPP_INCLUDED
#define AIOUV_SAMPLES_ECHO_OPTIONS_HPP_INCLUDED

// Command-line options shared by echo_server and echo_client.

#include <cstdio>
#include <cstdlib>
#include <string>

struct EchoOptions {
  std::string host = "127.0.0.1";
  unsigned port = 8888;
  std::string mode = "streams";  // or "protocol"
  int count = 10;                // echo_client: messages to send
};

/// Parses --host H --port P --mode streams|protocol [--count N]; exits with
/// a usage message on anything else.
inline EchoOptions parse_echo_options(int argc, char** argv) {
  EchoOptions options;
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s [--host HOST] [--port PORT] [--mode streams|protocol] [--count N]\n", argv[0]);
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage();
    const std::string value = argv[++i];
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      options.port = static_cast<unsigned>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (flag == "--mode" && (value == "streams" || value == "protocol")) {
      options.mode = value;
    } else if (flag == "--count") {
      options.count = std::atoi(value.c_str());
    } else {
      usage();
    }
  }
  if (options.port > 65535) usage();
  return options;
}

#endif
