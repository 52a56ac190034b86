// Flow control under bulk transfer: 1 GiB written through a StreamWriter
// with drain() and the default water marks, checksummed by the receiving
// server. Prints the throughput and the largest RSS seen: bounded memory
// shows that drain() (writer side) and the reader's pause at 2 × limit
// (reader side) hold the data back instead of buffering it.
//
//   bulk_stream [MiB]     (default 1024)
#include <cstdio>
#include <cstdlib>
#include <string>

#include <uv.h>

#include <aiouv/aiouv.hpp>

namespace {

using namespace std::chrono_literals;

/// FNV-1a, enough to notice a lost or reordered byte.
struct Checksum {
  std::uint64_t value = 1469598103934665603ull;
  void add(std::string_view data) {
    for (unsigned char c : data) value = (value ^ c) * 1099511628211ull;
  }
};

std::size_t max_rss = 0;

void sample_rss() {
  std::size_t rss = 0;
  if (uv_resident_set_memory(&rss) == 0 && rss > max_rss) max_rss = rss;
}

aiouv::Coro<int> bulk(std::size_t total) {
  Checksum received;
  std::size_t received_bytes = 0;
  aiouv::Future<void> done = aiouv::get_running_loop().create_future<void>();
  auto sink = [&](aiouv::StreamReader reader, aiouv::StreamWriter writer) -> aiouv::Coro<void> {
    for (;;) {
      std::string block = co_await reader.read(256 * 1024);
      if (block.empty()) break;
      received.add(block);
      received_bytes += block.size();
    }
    writer.close();
    done.set_result();
  };
  auto server = co_await aiouv::start_server(sink, "127.0.0.1", 0);
  auto [reader, writer] = co_await aiouv::open_connection("127.0.0.1", server->sockets().at(0).port());

  std::string chunk(64 * 1024, '\0');
  Checksum sent;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t offset = 0; offset < total; offset += chunk.size()) {
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((offset + i) * 2654435761u >> 24);
    sent.add(chunk);
    writer.write(chunk);
    co_await writer.drain();
    if ((offset / chunk.size()) % 256 == 0) sample_rss();
  }
  writer.write_eof();
  co_await done;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  writer.close();
  co_await writer.wait_closed();
  server->close();
  co_await server->wait_closed();
  const bool intact = received_bytes == total && received.value == sent.value;
  std::printf("bulk: %zu MiB in %.2f s (%.0f MiB/s), checksum %s, max RSS %.1f MiB\n", total >> 20, seconds,
              static_cast<double>(total >> 20) / seconds, intact ? "ok" : "MISMATCH",
              static_cast<double>(max_rss) / (1 << 20));
  co_return intact ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1024;
  return aiouv::run(bulk(mib << 20));
}
