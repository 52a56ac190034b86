// call_soon_threadsafe: the only member other threads may call. Run under
// TSan in CI (label tsan).
#include <atomic>
#include <thread>

#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Threadsafe = LoopTest;

TEST_F(Threadsafe, EightThreadsHammerCallSoonThreadsafe) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  int received = 0;  // loop thread only
  std::vector<int> last_seen(kThreads, -1);
  bool in_order = true;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop.call_soon_threadsafe([&, t, i] {
          // Per producer, FIFO must hold.
          if (last_seen[t] != i - 1) in_order = false;
          last_seen[t] = i;
          if (++received == kThreads * kPerThread) loop.stop();
        });
      }
    });
  }
  loop.run_forever();
  for (auto& th : threads) th.join();
  EXPECT_EQ(received, kThreads * kPerThread);
  EXPECT_TRUE(in_order);
}

TEST_F(Threadsafe, WakesALoopBlockedWithNothingToDo) {
  std::atomic<bool> ran{false};
  std::thread other([&] {
    // No sleep needed: the loop may or may not be blocked yet; either way
    // the callback must arrive.
    loop.call_soon_threadsafe([&] {
      ran = true;
      loop.stop();
    });
  });
  loop.run_forever();
  other.join();
  EXPECT_TRUE(ran);
}

TEST_F(Threadsafe, StopFromAnotherThreadThroughCallSoonThreadsafe) {
  std::promise<void> started;
  loop.call_soon([&] { started.set_value(); });
  std::thread other([&] {
    started.get_future().wait();
    loop.call_soon_threadsafe([this] { loop.stop(); });
  });
  loop.run_forever();
  other.join();
  SUCCEED();
}

TEST_F(Threadsafe, HandleCancelledFromAnotherThreadNeverRuns) {
  bool ran = false;
  Handle h = loop.call_soon_threadsafe([&] { ran = true; });
  std::thread other([&] { h.cancel(); });
  other.join();
  loop.call_soon([this] { loop.call_soon([this] { loop.stop(); }); });
  loop.run_forever();
  EXPECT_FALSE(ran);
  EXPECT_TRUE(h.cancelled());
}

TEST_F(Threadsafe, ClosedLoopRejectsThreadsafeCalls) {
  loop.close();
  std::string error;
  std::thread other([&] {
    try {
      loop.call_soon_threadsafe([] {});
    } catch (const RuntimeError& e) {
      error = e.what();
    }
  });
  other.join();
  EXPECT_EQ(error, "Event loop is closed");
}

TEST_F(Threadsafe, QueuedThreadsafeCallsAreDroppedAtClose) {
  auto token = std::make_shared<int>(3);
  std::weak_ptr<int> watch = token;
  std::thread other([&] { loop.call_soon_threadsafe([token = std::move(token)] {}); });
  other.join();
  loop.close();
  EXPECT_TRUE(watch.expired());
}

TEST_F(Threadsafe, ThreadsCompleteFuturesThroughTheLoop) {
  // The idiom for handing a result from a thread to a coroutine. Future
  // handles are loop-thread objects (their count is not atomic): the
  // worker only refers to one, and the loop thread does the rest.
  Future<int> fut = loop.create_future<int>();
  std::thread worker([&loop = loop, &fut] { loop.call_soon_threadsafe([&fut] { fut.set_result(99); }); });
  EXPECT_EQ(loop.run_until_complete(fut), 99);
  worker.join();
}

}  // namespace
}  // namespace aiouv::test
