#include "bench_support.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

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
    if (items > 0) {
      // The best repetition: noise on a shared machine only ever adds time.
      const double ns = 1e9 / items;
      auto [it, inserted] = ns_per_item.try_emplace(name, ns);
      if (!inserted) it->second = std::min(it->second, ns);
    }
    for (const auto& [key, counter] : run.counters) counters[name + "." + key] = counter.value;
  }
}

bool run_benchmarks(int* argc, char** argv, Collector& collector) {
  // Unless told otherwise, run every benchmark three times, repetitions of
  // different benchmarks shuffled together, and keep each one's best: a
  // ratio then compares two figures taken side by side, not one taken
  // before and one after the machine got busier.
  std::vector<char*> args(argv, argv + *argc);
  auto given = [&](const char* flag) {
    return std::any_of(args.begin(), args.end(),
                       [&](const char* arg) { return std::strncmp(arg, flag, std::strlen(flag)) == 0; });
  };
  static char repetitions[] = "--benchmark_repetitions=3";
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  if (!given("--benchmark_repetitions")) args.push_back(repetitions);
  if (!given("--benchmark_enable_random_interleaving")) args.push_back(interleave);
  int count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return false;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();
  return true;
}

bool report(const char* what, double value, const char* unit, const char* floor_text, bool ok) {
  std::printf("  %-52s %8.2f %-12s %-28s %s\n", what, value, unit, floor_text, ok ? "ok" : "BELOW FLOOR");
  return ok;
}

}  // namespace aiouv_bench
