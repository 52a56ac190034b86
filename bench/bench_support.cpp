#include "bench_support.hpp"

#include <cstdio>

namespace aiouv_bench {

namespace {

struct DispatchState {
  aiouv::EventLoop* loop;
  std::size_t remaining;
  std::size_t in_flight;
};

// One pointer of capture: the common case (up to three fit without
// allocating).
struct Tick {
  DispatchState* s;
  void operator()() const {
    if (s->remaining > 0) {
      --s->remaining;
      s->loop->call_soon(Tick{s});
    } else if (--s->in_flight == 0) {
      s->loop->stop();
    }
  }
};

}  // namespace

void run_dispatch(aiouv::EventLoop& loop, std::size_t callbacks, std::size_t batch) {
  DispatchState s{&loop, callbacks - batch, batch};
  for (std::size_t i = 0; i < batch; ++i) loop.call_soon(Tick{&s});
  loop.run_forever();
}

void Collector::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.run_type != Run::RT_Iteration) continue;
    const std::string name = run.run_name.function_name;
    double items = 0;
    if (auto it = run.counters.find("items_per_second"); it != run.counters.end()) items = it->second.value;
    if (items > 0) ns_per_item[name] = 1e9 / items;
    for (const auto& [key, counter] : run.counters) counters[name + "." + key] = counter.value;
  }
}

bool run_benchmarks(int* argc, char** argv, Collector& collector) {
  benchmark::Initialize(argc, argv);
  if (benchmark::ReportUnrecognizedArguments(*argc, argv)) return false;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();
  return true;
}

bool report(const char* what, double value, const char* unit, const char* floor_text, bool ok) {
  std::printf("  %-52s %8.2f %-12s %-28s %s\n", what, value, unit, floor_text, ok ? "ok" : "BELOW FLOOR");
  return ok;
}

}  // namespace aiouv_bench
