// Issue 5's benchmarks, each next to raw libuv C measured in the same run
// (bench/raw_io.c): UDP echo datagrams/s between two endpoints in one
// loop, and fs::read_file of a 256 MiB file against uv_fs_read.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>

#include <aiouv/aiouv.hpp>

#include "bench_support.hpp"
#include "raw_io.h"

namespace {

using aiouv_bench::report;

constexpr std::size_t kDatagrams = 100'000;
constexpr std::size_t kWindow = 16;
constexpr std::size_t kDatagramSize = 64;
constexpr std::size_t kFileSize = 256u << 20;

void BM_raw_udp_echo(benchmark::State& state) {
  for (auto _ : state) {
    if (raw_udp_echo_run(kDatagrams, kWindow, kDatagramSize) != kDatagrams) state.SkipWithError("datagrams lost");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kDatagrams));
}

class EchoServer : public aiouv::DatagramProtocol {
 public:
  void connection_made(aiouv::DatagramTransport& t) override { transport = &t; }
  void datagram_received(std::string_view data, const aiouv::SocketAddress& from) override {
    transport->sendto(data, from);
  }
  aiouv::DatagramTransport* transport = nullptr;
};

/// Keeps kWindow datagrams in flight until kDatagrams came back.
class EchoClient : public aiouv::DatagramProtocol {
 public:
  explicit EchoClient(aiouv::EventLoop& loop) : done(loop.create_future<void>()), payload(kDatagramSize, 'u') {}
  void connection_made(aiouv::DatagramTransport& t) override { transport = &t; }
  void send_one() {
    if (to_send == 0) return;
    --to_send;
    transport->sendto(payload);
  }
  void datagram_received(std::string_view, const aiouv::SocketAddress&) override {
    if (++echoed == kDatagrams) {
      done.set_result();
      return;
    }
    send_one();
  }
  aiouv::DatagramTransport* transport = nullptr;
  aiouv::Future<void> done;
  std::string payload;
  std::size_t to_send = kDatagrams;
  std::size_t echoed = 0;
};

aiouv::Coro<std::size_t> udp_echo() {
  aiouv::EventLoop& loop = aiouv::get_running_loop();
  aiouv::DatagramOptions server_options;
  server_options.local_addr = aiouv::HostPort{"127.0.0.1", 0};
  auto [server, unused] =
      co_await loop.create_datagram_endpoint([] { return std::make_shared<EchoServer>(); }, server_options);
  aiouv::DatagramOptions client_options;
  client_options.remote_addr = aiouv::HostPort{"127.0.0.1", server->sockname()->port()};
  auto [client, protocol] =
      co_await loop.create_datagram_endpoint([&loop] { return std::make_shared<EchoClient>(loop); }, client_options);
  for (std::size_t i = 0; i < kWindow; ++i) protocol->send_one();
  co_await protocol->done;
  client->close();
  server->close();
  co_return protocol->echoed;
}

void BM_udp_echo(benchmark::State& state) {
  aiouv::EventLoop loop;
  for (auto _ : state) {
    if (loop.run_until_complete(udp_echo()) != kDatagrams) state.SkipWithError("datagrams lost");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kDatagrams));
  loop.close();
}

std::string big_file_path() {
  char dir[1024];
  std::size_t size = sizeof dir;
  uv_os_tmpdir(dir, &size);
  return std::string(dir, size) + "/aiouv-io-bench-" + std::to_string(uv_os_getpid());
}

/// The 256 MiB file both readers read, written once.
const std::string& big_file() {
  static const std::string path = [] {
    std::string p = big_file_path();
    std::FILE* file = std::fopen(p.c_str(), "wb");
    std::string block(1 << 20, 'f');
    for (std::size_t i = 0; i < kFileSize / block.size(); ++i) std::fwrite(block.data(), 1, block.size(), file);
    std::fclose(file);
    return p;
  }();
  return path;
}

void BM_raw_read_file(benchmark::State& state) {
  const std::string& path = big_file();
  for (auto _ : state) {
    // A fresh buffer each time, as a whole-file read that returns the
    // content must allocate one (and so does fs::read_file).
    std::unique_ptr<char[]> buffer(new char[kFileSize + 1]);
    if (raw_read_file(path.c_str(), buffer.get(), kFileSize + 1) != kFileSize) state.SkipWithError("short read");
    benchmark::DoNotOptimize(buffer.get());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kFileSize));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_read_file(benchmark::State& state) {
  const std::string& path = big_file();
  aiouv::EventLoop loop;
  for (auto _ : state) {
    if (loop.run_until_complete(aiouv::fs::read_file(path)).size() != kFileSize) state.SkipWithError("short read");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kFileSize));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  loop.close();
}

BENCHMARK(BM_raw_udp_echo)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_udp_echo)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_raw_read_file)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_read_file)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  aiouv_bench::Collector collector;
  const bool ran = aiouv_bench::run_benchmarks(&argc, argv, collector);
  std::remove(big_file_path().c_str());
  if (!ran) return 1;
  auto& ns = collector.ns_per_item;
  auto have = [&](const char* a, const char* b) { return collector.has(a) && collector.has(b); };
  std::printf("\nSummary (measured in this run)\n");
  bool all_ok = true;
  if (have("BM_udp_echo", "BM_raw_udp_echo")) {
    const double r = ns["BM_raw_udp_echo"] / ns["BM_udp_echo"];
    all_ok &= report("UDP echo datagrams/s vs raw libuv", r, "x raw speed", ">= 0.9", r >= 0.9);
  }
  if (have("BM_read_file", "BM_raw_read_file")) {
    const double r = ns["BM_read_file"] / ns["BM_raw_read_file"];
    all_ok &= report("fs::read_file 256 MiB vs uv_fs_read", r, "x time", "<= 1.1", r <= 1.1);
  }
  return all_ok ? 0 : 1;
}
