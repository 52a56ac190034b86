// Hot paths allocate nothing once the loop has warmed up: call_soon and its
// dispatch, timers, a task suspending on a future and waking, and (with the
// frame pool) create_task. Counts every global operator new.
#include <atomic>
#include <cstdlib>
#include <new>

#include "support/loop_test.hpp"

namespace {
std::atomic<long> allocations{0};
}

// Replacing the global allocator is how the test sees every allocation.
// GCC inlines these into new-expressions at -O2 and then flags the
// malloc/free pair inside as a new/delete mismatch, which it is not.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Allocations = LoopTest;

long allocations_during(const std::function<void()>& body) {
  const long before = allocations.load();
  body();
  return allocations.load() - before;
}

TEST_F(Allocations, CallSoonAndDispatchOfSmallCallablesDoNotAllocate) {
  int a = 0, b = 0, c = 0;
  auto round = [&] {
    for (int i = 0; i < 1000; ++i) loop.call_soon([&a, &b, &c] { ++a, ++b, ++c; });  // three pointers
    loop.call_soon([this] { loop.stop(); });
    loop.run_forever();
  };
  round();  // warm-up: the ring grows once
  EXPECT_EQ(allocations_during(round), 0);
  EXPECT_EQ(a, 2000);
}

TEST_F(Allocations, TimersDoNotAllocateOnceWarm) {
  int fired = 0;
  auto round = [&] {
    std::array<TimerHandle, 100> handles;
    for (auto& h : handles) h = loop.call_later(0ms, [&fired] { ++fired; });
    for (std::size_t i = 0; i < handles.size(); i += 2) handles[i].cancel();
    loop.call_later(1ms, [this] { loop.stop(); });
    loop.run_forever();
  };
  round();
  EXPECT_EQ(allocations_during(round), 0);
  EXPECT_EQ(fired, 100);
}

TEST_F(Allocations, SuspendingOnAFutureAndWakingDoesNotAllocate) {
  std::vector<Future<int>> gates;
  for (int i = 0; i < 200; ++i) gates.push_back(loop.create_future<int>());
  long sum = 0;
  auto waiter = [](std::vector<Future<int>>& fs, long& total) -> Coro<void> {
    for (auto& f : fs) total += co_await f;
  };
  Task<void> t = loop.create_task(waiter(gates, sum));
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();  // the task now waits on gates[0]
  const long n = allocations_during([&] {
    for (std::size_t i = 0; i < gates.size(); ++i) {
      gates[i].set_result(1);
      loop.call_soon([this] { loop.call_soon([this] { loop.stop(); }); });
      loop.run_forever();
    }
  });
  EXPECT_EQ(n, 0);
  EXPECT_TRUE(t.done());
  EXPECT_EQ(sum, 200);
}

Coro<void> trivial() { co_return; }

TEST_F(Allocations, CreateTaskUsesTheFramePool) {
#ifdef AIOUV_DISABLE_FRAME_POOL
  GTEST_SKIP() << "the frame pool is off in ASan builds";
#endif
  auto round = [&] {
    for (int i = 0; i < 100; ++i) (void)loop.create_task(trivial());
    loop.call_soon([this] { loop.call_soon([this] { loop.stop(); }); });
    loop.run_forever();
  };
  round();
  EXPECT_EQ(allocations_during(round), 0);
}

}  // namespace
}  // namespace aiouv::test
