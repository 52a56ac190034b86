// The foundation's benchmarks, each against a baseline measured in the same
// run: raw libuv C (raw_uv.c) or aiouv's own call_soon dispatch. Google
// Benchmark runs them; the summary at the end prints the ratios and checks
// them against the floors the project promised.
#include <benchmark/benchmark.h>
#include <uv.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <aiouv/aiouv.hpp>

#include "bench_support.hpp"
#include "raw_uv.h"

namespace {

using aiouv_bench::report;
using namespace std::chrono_literals;

constexpr std::size_t kCallbacks = 1'000'000;
constexpr std::size_t kBatch = 1000;
constexpr std::size_t kTimers = 1'000'000;
constexpr std::size_t kTasks = 100'000;
constexpr std::size_t kAwaits = 1'000'000;
constexpr std::size_t kSuspended = 100'000;

// ---- call_soon + dispatch ----

void BM_raw_dispatch(benchmark::State& state) {
  for (auto _ : state) raw_dispatch_run(kCallbacks, kBatch);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCallbacks));
}

void BM_aiouv_dispatch(benchmark::State& state) {
  aiouv::EventLoop loop;
  for (auto _ : state) aiouv_bench::run_dispatch(loop, kCallbacks, kBatch);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCallbacks));
  loop.close();
}

// ---- call_later, cancel half ----

void BM_raw_timers(benchmark::State& state) {
  raw_timers* timers = raw_timers_create(kTimers);
  for (auto _ : state) raw_timers_run(timers);
  raw_timers_destroy(timers);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTimers));
}

void BM_aiouv_timers(benchmark::State& state) {
  aiouv::EventLoop loop;
  std::vector<aiouv::TimerHandle> handles(kTimers);
  for (auto _ : state) {
    std::size_t to_fire = kTimers / 2;
    for (std::size_t i = 0; i < kTimers; ++i) {
      handles[i] = loop.call_later(std::chrono::milliseconds((i * 7919) % 10), [&to_fire, &loop] {
        if (--to_fire == 0) loop.stop();
      });
    }
    for (std::size_t i = 0; i < kTimers; i += 2) handles[i].cancel();
    loop.run_forever();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTimers));
  handles.clear();
  loop.close();
}

// ---- tasks ----

aiouv::Coro<void> trivial() { co_return; }

// Creates kBatch tasks per loop iteration (as many in flight as the
// dispatch benchmark keeps), until kTasks ran.
struct SpawnBatch {
  aiouv::EventLoop* loop;
  std::size_t* remaining;
  void operator()() const {
    for (std::size_t i = 0; i < kBatch; ++i) (void)loop->create_task(trivial());
    *remaining -= kBatch;
    if (*remaining > 0) {
      loop->call_soon(SpawnBatch{loop, remaining});
    } else {
      loop->call_soon([l = loop] { l->stop(); });  // after the last first steps
    }
  }
};

void BM_aiouv_create_task(benchmark::State& state) {
  aiouv::EventLoop loop;
  for (auto _ : state) {
    std::size_t remaining = kTasks;
    loop.call_soon(SpawnBatch{&loop, &remaining});
    loop.run_forever();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTasks));
  loop.close();
}

aiouv::Coro<void> await_done(aiouv::Future<int> done, std::size_t n, long& sum) {
  for (std::size_t i = 0; i < n; ++i) sum += co_await done;
}

void BM_aiouv_await_done_future(benchmark::State& state) {
  aiouv::EventLoop loop;
  aiouv::Future<int> done = loop.create_future<int>();
  done.set_result(1);
  long sum = 0;
  for (auto _ : state) loop.run_until_complete(await_done(done, kAwaits, sum));
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kAwaits));
  done = {};
  loop.close();
}

// ---- memory of suspended tasks ----

aiouv::Coro<void> wait_on(aiouv::Future<void> gate) { co_await gate; }

/// RSS growth per task while kSuspended tasks wait on one future. Run
/// before any benchmark, so that the heap has no free memory to reuse.
double suspended_task_memory() {
  double bytes_per_task = 0;
  {
    aiouv::EventLoop loop;
    aiouv::Future<void> gate = loop.create_future<void>();
    std::size_t before = 0, after = 0;
    uv_resident_set_memory(&before);
    for (std::size_t i = 0; i < kSuspended; ++i) (void)loop.create_task(wait_on(gate));
    loop.call_soon([&loop] { loop.stop(); });
    loop.run_forever();  // every task ran its first step and now waits on gate
    uv_resident_set_memory(&after);
    bytes_per_task = static_cast<double>(after - before) / kSuspended;
    gate.set_result();
    loop.call_soon([&loop] { loop.call_soon([&loop] { loop.stop(); }); });
    loop.run_forever();
    gate = {};
    loop.close();
  }
  return bytes_per_task;
}

BENCHMARK(BM_raw_dispatch)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_aiouv_dispatch)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_timers)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_aiouv_timers)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_aiouv_create_task)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_aiouv_await_done_future)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const double bytes_per_task = suspended_task_memory();
  aiouv_bench::Collector collector;
  if (!aiouv_bench::run_benchmarks(&argc, argv, collector)) return 1;

  auto& ns = collector.ns_per_item;
  auto have = [&](const char* a) { return ns.count(a) > 0; };
  std::printf("\nSummary (ratios measured in this run; speed ratio = raw time / aiouv time, higher is better)\n");
  bool all_ok = true;
  if (have("BM_raw_dispatch") && have("BM_aiouv_dispatch")) {
    all_ok &= report("call_soon + dispatch vs raw libuv", ns["BM_raw_dispatch"] / ns["BM_aiouv_dispatch"], "x speed",
                     "floor 0.70x", ns["BM_raw_dispatch"] / ns["BM_aiouv_dispatch"] >= 0.7);
  }
  if (have("BM_raw_timers") && have("BM_aiouv_timers")) {
    all_ok &= report("call_later + cancel half vs raw uv_timer_t", ns["BM_raw_timers"] / ns["BM_aiouv_timers"],
                     "x speed", "floor 0.70x", ns["BM_raw_timers"] / ns["BM_aiouv_timers"] >= 0.7);
  }
  if (have("BM_aiouv_dispatch") && have("BM_aiouv_create_task")) {
    const double dispatches = ns["BM_aiouv_create_task"] / ns["BM_aiouv_dispatch"];
    all_ok &= report("create_task + run, in call_soon dispatches", dispatches, "dispatches", "ceiling 4",
                     dispatches <= 4.0);
  }
  if (have("BM_aiouv_dispatch") && have("BM_aiouv_await_done_future")) {
    const double dispatches = ns["BM_aiouv_await_done_future"] / ns["BM_aiouv_dispatch"];
    all_ok &= report("co_await done Future, in dispatches", dispatches, "dispatches", "ceiling 1", dispatches < 1.0);
  }
  all_ok &= report("suspended task memory (RSS delta / N)", bytes_per_task, "bytes", "ceiling 300",
                   bytes_per_task < 300);
  for (const auto& [name, value] : ns) std::printf("  %-48s %8.2f ns/item\n", name.c_str(), value);
  return all_ok ? 0 : 2;
}
