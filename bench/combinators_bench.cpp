// Issue 3's benchmarks: gather, Queue, Lock and wait_for/timeout, each next
// to the cheapest equivalent measured in the same run (bare tasks, a
// std::deque, a call_soon dispatch).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <deque>
#include <vector>

#include <aiouv/aiouv.hpp>

#include "bench_support.hpp"

namespace {

using namespace std::chrono_literals;
using aiouv_bench::report;

constexpr std::size_t kCallbacks = 1'000'000;
constexpr std::size_t kBatch = 1000;
constexpr std::size_t kGatherTasks = 100'000;
constexpr std::size_t kPairs = 1'000'000;
constexpr long kBoundedSize = 64;
constexpr std::size_t kLockOps = 1'000'000;
constexpr std::size_t kDeadlines = 100'000;

/// Runs `coro` to completion on a fresh loop per benchmark.
template <class MakeCoro>
void run_each_iteration(benchmark::State& state, std::size_t items, MakeCoro make) {
  aiouv::EventLoop loop;
  for (auto _ : state) loop.run_until_complete(make());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
  loop.close();
}

// ---- the unit: one call_soon dispatch ----

void BM_dispatch(benchmark::State& state) {
  aiouv::EventLoop loop;
  for (auto _ : state) aiouv_bench::run_dispatch(loop, kCallbacks, kBatch);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCallbacks));
  loop.close();
}

// ---- gather over 100k tasks, against the same tasks awaited one by one ----

aiouv::Coro<int> value(int i) { co_return i; }

std::vector<aiouv::Task<int>> spawn(std::size_t n) {
  std::vector<aiouv::Task<int>> tasks;
  tasks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) tasks.push_back(aiouv::create_task(value(static_cast<int>(i))));
  return tasks;
}

aiouv::Coro<long> bare_tasks(std::size_t n) {
  long sum = 0;
  for (aiouv::Task<int>& task : spawn(n)) sum += co_await task;
  co_return sum;
}

aiouv::Coro<long> gathered_tasks(std::size_t n) {
  long sum = 0;
  for (int v : co_await aiouv::gather(spawn(n))) sum += v;
  co_return sum;
}

void BM_bare_tasks(benchmark::State& state) {
  run_each_iteration(state, kGatherTasks, [] { return bare_tasks(kGatherTasks); });
}
void BM_gather(benchmark::State& state) {
  run_each_iteration(state, kGatherTasks, [] { return gathered_tasks(kGatherTasks); });
}

// ---- Queue put+get pairs between two tasks, against std::deque ----

void BM_deque_pairs(benchmark::State& state) {
  std::deque<long> queue;
  long sum = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kPairs; ++i) {
      queue.push_back(static_cast<long>(i));
      if (queue.size() == static_cast<std::size_t>(kBoundedSize)) {
        while (!queue.empty()) {
          sum += queue.front();
          queue.pop_front();
        }
      }
    }
    while (!queue.empty()) {
      sum += queue.front();
      queue.pop_front();
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kPairs));
}

aiouv::Coro<long> consume(aiouv::Queue<long>& queue, std::size_t n) {
  long sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += co_await queue.get();
  co_return sum;
}

aiouv::Coro<long> queue_pairs(std::size_t n, long maxsize) {
  aiouv::Queue<long> queue(maxsize);
  aiouv::Task<long> consumer = aiouv::create_task(consume(queue, n));
  for (std::size_t i = 0; i < n; ++i) co_await queue.put(static_cast<long>(i));
  co_return co_await consumer;
}

void BM_queue_pairs_unbounded(benchmark::State& state) {
  run_each_iteration(state, kPairs, [] { return queue_pairs(kPairs, 0); });
}
void BM_queue_pairs_bounded(benchmark::State& state) {
  run_each_iteration(state, kPairs, [] { return queue_pairs(kPairs, kBoundedSize); });
}

// ---- uncontended Lock: must not touch the loop ----

bool lock_yielded = false;

aiouv::Coro<void> lock_unlock(aiouv::Lock& lock, std::size_t n, const bool& other_callback_ran) {
  for (std::size_t i = 0; i < n; ++i) {
    co_await lock.acquire();
    lock.release();
  }
  // A callback queued right behind this task's step has not run: the task
  // never went back to the loop.
  lock_yielded |= other_callback_ran;
}

void BM_lock_uncontended(benchmark::State& state) {
  aiouv::EventLoop loop;
  aiouv::Lock lock;
  for (auto _ : state) {
    bool other_callback_ran = false;
    aiouv::Task<void> task = loop.create_task(lock_unlock(lock, kLockOps, other_callback_ran));
    loop.call_soon([&other_callback_ran] { other_callback_ran = true; });
    loop.run_until_complete(task);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kLockOps));
  loop.close();
}

// ---- wait_for / timeout on work that finishes in time ----

aiouv::Coro<long> awaited_tasks(std::size_t n) {
  long sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += co_await aiouv::create_task(value(1));
  co_return sum;
}
aiouv::Coro<long> awaited_wait_for(std::size_t n) {
  long sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += co_await aiouv::wait_for(value(1), 1s);
  co_return sum;
}
aiouv::Coro<long> awaited_inline(std::size_t n) {
  long sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += co_await value(1);
  co_return sum;
}
aiouv::Coro<long> awaited_timeout(std::size_t n) {
  long sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += co_await aiouv::timeout(1s, value(1));
  co_return sum;
}

void BM_task_await(benchmark::State& state) {
  run_each_iteration(state, kDeadlines, [] { return awaited_tasks(kDeadlines); });
}
void BM_wait_for(benchmark::State& state) {
  run_each_iteration(state, kDeadlines, [] { return awaited_wait_for(kDeadlines); });
}
void BM_inline_await(benchmark::State& state) {
  run_each_iteration(state, kDeadlines, [] { return awaited_inline(kDeadlines); });
}
void BM_timeout(benchmark::State& state) {
  run_each_iteration(state, kDeadlines, [] { return awaited_timeout(kDeadlines); });
}

BENCHMARK(BM_dispatch)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_bare_tasks)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gather)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_deque_pairs)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_queue_pairs_unbounded)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_queue_pairs_bounded)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lock_uncontended)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_task_await)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_wait_for)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_inline_await)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_timeout)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  aiouv_bench::Collector collector;
  if (!aiouv_bench::run_benchmarks(&argc, argv, collector)) return 1;

  auto& ns = collector.ns_per_item;
  auto ratio = [&](const char* a, const char* b) { return ns[a] / ns[b]; };
  auto have = [&](const char* a, const char* b) { return collector.has(a) && collector.has(b); };
  std::printf("\nSummary (measured in this run; \"x time\" = aiouv time / baseline time, lower is better)\n");
  bool all_ok = true;
  if (have("BM_gather", "BM_bare_tasks")) {
    report("gather over 100k tasks, per task, vs bare tasks", ratio("BM_gather", "BM_bare_tasks"), "x time", "", true);
  }
  if (have("BM_gather", "BM_dispatch")) {
    report("gather's own cost per task, in dispatches",
           (ns["BM_gather"] - ns["BM_bare_tasks"]) / ns["BM_dispatch"], "dispatches", "", true);
  }
  if (have("BM_queue_pairs_unbounded", "BM_deque_pairs")) {
    report("Queue put+get pair (unbounded) vs std::deque", ratio("BM_queue_pairs_unbounded", "BM_deque_pairs"),
           "x time", "", true);
    report("Queue put+get pair (maxsize 64) vs std::deque", ratio("BM_queue_pairs_bounded", "BM_deque_pairs"),
           "x time", "", true);
  }
  if (have("BM_queue_pairs_bounded", "BM_dispatch")) {
    report("Queue put+get pair (maxsize 64), in dispatches", ratio("BM_queue_pairs_bounded", "BM_dispatch"),
           "dispatches", "", true);
  }
  if (have("BM_lock_uncontended", "BM_dispatch")) {
    report("uncontended Lock acquire+release, in dispatches", ratio("BM_lock_uncontended", "BM_dispatch"),
           "dispatches", "", true);
    all_ok &= report("uncontended Lock went through the loop", lock_yielded ? 1 : 0, "times", "must be 0",
                     !lock_yielded);
  }
  // wait_for runs a coroutine inline in the caller's task (asyncio 3.12), so
  // its cheapest equivalent is the inline await; the task form is what it
  // costs when a task is made for it, as asyncio before 3.12 did.
  if (have("BM_wait_for", "BM_inline_await")) {
    report("wait_for(coro, 1s) vs co_await coro", ratio("BM_wait_for", "BM_inline_await"), "x time", "", true);
    report("wait_for()'s own cost, in dispatches", (ns["BM_wait_for"] - ns["BM_inline_await"]) / ns["BM_dispatch"],
           "dispatches", "", true);
  }
  if (have("BM_wait_for", "BM_task_await")) {
    report("wait_for(coro, 1s) vs co_await create_task(coro)", ratio("BM_wait_for", "BM_task_await"), "x time", "",
           true);
  }
  if (have("BM_timeout", "BM_inline_await")) {
    report("timeout(1s, coro) vs co_await coro", ratio("BM_timeout", "BM_inline_await"), "x time", "", true);
    report("timeout()'s own cost, in dispatches", (ns["BM_timeout"] - ns["BM_inline_await"]) / ns["BM_dispatch"],
           "dispatches", "", true);
  }
  for (const auto& [name, value] : ns) std::printf("  %-52s %8.2f ns/item\n", name.c_str(), value);
  return all_ok ? 0 : 2;
}
