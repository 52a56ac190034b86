#ifndef AIOUV_BENCH_SUPPORT_HPP_INCLUDED
#define AIOUV_BENCH_SUPPORT_HPP_INCLUDED

// What the benchmark programs share: the call_soon dispatch workload (the
// unit several ratios are expressed in) and the reporter that collects each
// benchmark's time per item for the summary.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <aiouv/aiouv.hpp>

namespace aiouv_bench {

/// Runs `callbacks` call_soon callbacks, `batch` of them in flight at a
/// time (each reschedules itself), then returns.
void run_dispatch(aiouv::EventLoop& loop, std::size_t callbacks, std::size_t batch);

/// Remembers each benchmark's best time per item (ns) and its counters.
class Collector : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  bool has(const std::string& name) const { return ns_per_item.count(name) > 0; }
  std::map<std::string, double> ns_per_item;
  std::map<std::string, double> counters;
};

/// Google Benchmark's start-up, run and shut-down, reporting into
/// `collector`; false on unrecognised arguments. Unless the command line
/// says otherwise, each benchmark runs three times, interleaved with the
/// others, and the collector keeps its best time.
bool run_benchmarks(int* argc, char** argv, Collector& collector);

/// Prints one summary row; returns `ok`.
bool report(const char* what, double value, const char* unit, const char* floor_text, bool ok);

}  // namespace aiouv_bench

#endif
