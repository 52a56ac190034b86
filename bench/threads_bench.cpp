// Issue 6's benchmarks, each next to raw libuv C measured in the same run
// (bench/raw_threads.c): a run_in_executor round trip against a
// uv_queue_work round trip, and spawn + wait of /bin/true against uv_spawn
// with its exit callback.
#include <benchmark/benchmark.h>

#include <cstdio>

#include <aiouv/aiouv.hpp>

#include "bench_support.hpp"
#include "raw_threads.h"

namespace {

using aiouv_bench::report;

constexpr std::size_t kRoundTrips = 10'000;
constexpr std::size_t kSpawns = 200;
const char* const kTrue = "/bin/true";

void BM_raw_queue_work(benchmark::State& state) {
  for (auto _ : state) raw_queue_work_run(kRoundTrips);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
}

aiouv::Coro<void> executor_round_trips(std::size_t count) {
  aiouv::EventLoop& loop = aiouv::get_running_loop();
  for (std::size_t i = 0; i < count; ++i) co_await loop.run_in_executor(nullptr, [] {});
}

void BM_run_in_executor(benchmark::State& state) {
  aiouv::EventLoop loop;
  for (auto _ : state) loop.run_until_complete(executor_round_trips(kRoundTrips));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
  loop.close();
}

void BM_raw_spawn_true(benchmark::State& state) {
  for (auto _ : state) {
    if (raw_spawn_run(kTrue, kSpawns) != kSpawns) state.SkipWithError("raw uv_spawn of /bin/true failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSpawns));
}

aiouv::Coro<std::size_t> spawn_and_wait(std::size_t count) {
  std::size_t succeeded = 0;
  for (std::size_t i = 0; i < count; ++i) {
    aiouv::Process process = co_await aiouv::create_subprocess_exec(kTrue);
    succeeded += co_await process.wait() == 0;
  }
  co_return succeeded;
}

void BM_spawn_true(benchmark::State& state) {
  aiouv::EventLoop loop;
  for (auto _ : state) {
    if (loop.run_until_complete(spawn_and_wait(kSpawns)) != kSpawns) state.SkipWithError("spawn of /bin/true failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSpawns));
  loop.close();
}

// Alternated, so that drift on a shared machine hits both sides alike. Wall
// time: a round trip through another thread, or a child process, is
// latency the caller waits out, not CPU time of its own.
BENCHMARK(BM_raw_queue_work)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_run_in_executor)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_raw_spawn_true)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_spawn_true)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  aiouv_bench::Collector collector;
  if (!aiouv_bench::run_benchmarks(&argc, argv, collector)) return 1;
  auto& ns = collector.ns_per_item;
  auto have = [&](const char* a, const char* b) { return collector.has(a) && collector.has(b); };
  std::printf("\nSummary (measured in this run; \"x time\" = aiouv time / raw libuv time, lower is better)\n");
  bool all_ok = true;
  if (have("BM_run_in_executor", "BM_raw_queue_work")) {
    const double r = ns["BM_run_in_executor"] / ns["BM_raw_queue_work"];
    all_ok &= report("run_in_executor round trip vs uv_queue_work", r, "x time", "<= 1.2", r <= 1.2);
  }
  if (have("BM_spawn_true", "BM_raw_spawn_true")) {
    const double r = ns["BM_spawn_true"] / ns["BM_raw_spawn_true"];
    all_ok &= report("spawn + wait of /bin/true vs uv_spawn", r, "x time", "<= 1.1", r <= 1.1);
  }
  return all_ok ? 0 : 1;
}
