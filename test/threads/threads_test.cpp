// Executors and threads: run_in_executor on libuv's pool and on
// ThreadPoolExecutor, to_thread, cancellation before a job starts,
// shutdown_default_executor, run_coroutine_threadsafe from many threads,
// ConcurrentFuture and wrap_future.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <future>
#include <stdexcept>
#include <thread>

#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Threads = LoopTest;

TEST_F(Threads, RunInExecutorRunsOnAnotherThreadAndGivesTheResult) {
  const auto loop_thread = std::this_thread::get_id();
  auto main = [&]() -> Coro<void> {
    std::thread::id worker;
    int sum = co_await loop.run_in_executor(
        nullptr,
        [&](int a, int b) {
          worker = std::this_thread::get_id();
          return a + b;
        },
        40, 2);
    EXPECT_EQ(sum, 42);
    EXPECT_NE(worker, loop_thread);
    std::string error;
    try {
      co_await loop.run_in_executor(nullptr, [] { throw std::range_error("from the pool"); });
    } catch (const std::range_error& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "from the pool") << "the exception crosses threads with its type";
    auto text = co_await to_thread([](std::string s, int n) { return s + std::to_string(n); }, std::string("n="), 7);
    EXPECT_EQ(text, "n=7");
    co_await to_thread([] {});
  };
  loop.run_until_complete(main());
}

TEST_F(Threads, ThreadPoolExecutorKeepsToMaxWorkers) {
  ThreadPoolExecutor pool(2);
  EXPECT_EQ(pool.max_workers(), 2u);
  std::atomic<int> running{0}, peak{0};
  auto job = [&](int i) {
    const int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(2ms);  // work that overlaps, not a settle wait
    --running;
    return i * i;
  };
  auto main = [&]() -> Coro<void> {
    std::vector<Future<int>> futures;
    for (int i = 0; i < 8; ++i) futures.push_back(loop.run_in_executor(&pool, job, i));
    std::vector<int> squares = co_await gather(futures);
    EXPECT_EQ(squares, (std::vector<int>{0, 1, 4, 9, 16, 25, 36, 49}));
  };
  loop.run_until_complete(main());
  EXPECT_LE(peak.load(), 2);
  pool.shutdown();
  std::string error;
  try {
    (void)loop.run_in_executor(&pool, [] {});
  } catch (const RuntimeError& e) {
    error = e.what();
  }
  EXPECT_EQ(error, "cannot schedule new futures after shutdown");
  EXPECT_THROW(ThreadPoolExecutor(0), std::invalid_argument);
}

TEST(ThreadPool, TwoQuickSubmitsRunSideBySideWhenOneThreadIsIdle) {
  ThreadPoolExecutor pool(2);
  std::promise<void> warmed;
  pool.submit([&] { warmed.set_value(); });  // one thread, soon idle
  warmed.get_future().wait();
  // Each job waits for the other to start: on one thread they never would.
  std::mutex mutex;
  std::condition_variable changed;
  int started = 0;
  bool met[2] = {false, false};
  for (int i = 0; i < 2; ++i) {
    pool.submit([&, i] {
      std::unique_lock lock(mutex);
      ++started;
      changed.notify_all();
      met[i] = changed.wait_for(lock, 30s, [&] { return started == 2; });
    });
  }
  pool.shutdown(true);
  EXPECT_TRUE(met[0] && met[1]) << "the two jobs ran one after the other";
}

TEST_F(Threads, ACancelledJobThatHasNotStartedNeverRuns) {
  ThreadPoolExecutor pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> second_ran{false};
  auto main = [&]() -> Coro<void> {
    Future<void> first = loop.run_in_executor(&pool, [released] { released.wait(); });
    Future<void> second = loop.run_in_executor(&pool, [&] { second_ran = true; });
    EXPECT_TRUE(second.cancel());
    EXPECT_TRUE(second.cancelled());
    release.set_value();
    co_await first;
  };
  loop.run_until_complete(main());
  pool.shutdown(true);  // the queue is empty once this returns
  EXPECT_FALSE(second_ran.load());
}

TEST_F(Threads, ShutdownDefaultExecutorWaitsAndThenRefuses) {
  auto pool = std::make_shared<ThreadPoolExecutor>(2);
  loop.set_default_executor(pool);
  std::atomic<int> done{0};
  auto main = [&]() -> Coro<void> {
    Future<void> slow = loop.run_in_executor(nullptr, [&] {
      std::this_thread::sleep_for(20ms);
      ++done;
    });
    Future<void> on_uv = loop.run_in_executor(pool.get(), [&] { ++done; });
    co_await loop.shutdown_default_executor();
    EXPECT_EQ(done.load(), 2) << "the accepted jobs finished first";
    co_await slow;
    co_await on_uv;
    std::string error;
    try {
      co_await to_thread([] {});
    } catch (const RuntimeError& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "Executor shutdown has been called");
  };
  loop.run_until_complete(main());
}

TEST_F(Threads, ShutdownDefaultExecutorWaitsForLibuvPoolJobs) {
  std::atomic<bool> finished{false};
  auto main = [&]() -> Coro<void> {
    Future<void> job = loop.run_in_executor(nullptr, [&] {
      std::this_thread::sleep_for(20ms);
      finished = true;
    });
    co_await loop.shutdown_default_executor();
    EXPECT_TRUE(finished.load());
    EXPECT_TRUE(job.done());
  };
  loop.run_until_complete(main());
}

TEST_F(Threads, RunCoroutineThreadsafeFromEightThreadsAtOnce) {
  auto doubled = [](int i) -> Coro<int> {
    co_await sleep(1ms);
    co_return i * 2;
  };
  std::vector<int> results(8, -1);
  std::vector<std::thread> threads;
  std::atomic<int> finished{0};
  loop.call_soon([&] {
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        ConcurrentFuture<int> future = run_coroutine_threadsafe(doubled(i), loop);
        results[static_cast<std::size_t>(i)] = future.result(30s);
        if (++finished == 8) loop.call_soon_threadsafe([&] { loop.stop(); });
      });
    }
  });
  loop.run_forever();
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(results, (std::vector<int>{0, 2, 4, 6, 8, 10, 12, 14}));
}

TEST_F(Threads, ConcurrentFutureTimesOutAndCancelsTheTask) {
  std::atomic<bool> task_cancelled{false};
  std::promise<void> started;  // a task cancelled before it starts never enters its body
  auto forever = [&]() -> Coro<int> {
    try {
      started.set_value();
      co_await sleep(1h);
    } catch (const CancelledError&) {
      task_cancelled = true;
      throw;
    }
    co_return 0;
  };
  std::string outcome;
  std::thread client;
  loop.call_soon([&] {
    client = std::thread([&] {
      ConcurrentFuture<int> future = run_coroutine_threadsafe(forever(), loop);
      started.get_future().wait();
      try {
        (void)future.result(10ms);
      } catch (const TimeoutError&) {
        outcome = "timeout";
      }
      EXPECT_TRUE(future.cancel());
      EXPECT_TRUE(future.cancelled());
      EXPECT_FALSE(future.cancel());
      try {
        (void)future.result();
      } catch (const CancelledError&) {
        outcome += ", cancelled";
      }
      loop.call_soon_threadsafe([&] {
        // Let the task see its cancellation before stopping.
        loop.call_soon([&] { loop.call_soon([&] { loop.stop(); }); });
      });
    });
  });
  loop.run_forever();
  client.join();
  EXPECT_EQ(outcome, "timeout, cancelled");
  EXPECT_TRUE(task_cancelled.load());
}

TEST_F(Threads, RunCoroutineThreadsafePassesExceptions) {
  auto failing = []() -> Coro<void> {
    co_await sleep(0s);
    throw std::logic_error("bad");
  };
  std::string error;
  std::thread client;
  loop.call_soon([&] {
    client = std::thread([&] {
      ConcurrentFuture<void> future = run_coroutine_threadsafe(failing(), loop);
      try {
        future.result();
      } catch (const std::logic_error& e) {
        error = e.what();
      }
      EXPECT_NE(future.exception(), nullptr);
      loop.call_soon_threadsafe([&] { loop.stop(); });
    });
  });
  loop.run_forever();
  client.join();
  EXPECT_EQ(error, "bad");
}

TEST_F(Threads, WrapFutureBringsAThreadsResultIntoTheLoop) {
  auto main = [&]() -> Coro<void> {
    auto state = std::make_shared<detail::ConcurrentState<std::string>>();
    ConcurrentFuture<std::string> concurrent(state);
    Future<std::string> wrapped = wrap_future(concurrent);
    std::thread producer([state] { state->finish([&] { state->outcome.emplace<1>("from a thread"); }); });
    EXPECT_EQ(co_await wrapped, "from a thread");
    producer.join();

    auto other = std::make_shared<detail::ConcurrentState<int>>();
    ConcurrentFuture<int> pending(other);
    Future<int> wrapped_pending = wrap_future(pending);
    wrapped_pending.cancel();
    co_await sleep(0s);
    EXPECT_TRUE(pending.cancelled()) << "cancelling the wrapper cancels the concurrent future";
  };
  loop.run_until_complete(main());
}

TEST_F(Threads, ClosingTheLoopWithAJobStillRunningIsClean) {
  ThreadPoolExecutor pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto main = [&]() -> Coro<void> {
    (void)loop.run_in_executor(&pool, [released] { released.wait(); });
    (void)loop.run_in_executor(nullptr, [] { std::this_thread::sleep_for(5ms); });
    co_return;
  };
  loop.run_until_complete(main());
  loop.close();  // the fixture then checks uv_loop_close() == 0 and the ledger
  release.set_value();
  pool.shutdown(true);
}

TEST(ThreadsRunner, RunShutsDownTheDefaultExecutor) {
  std::atomic<bool> finished{false};
  auto main = [&]() -> Coro<int> {
    (void)get_running_loop().run_in_executor(nullptr, [&] {
      std::this_thread::sleep_for(20ms);
      finished = true;
    });
    co_return co_await to_thread([] { return 5; });
  };
  EXPECT_EQ(run(main()), 5);
  EXPECT_TRUE(finished.load()) << "asyncio.run waits for the default executor";
}

}  // namespace
}  // namespace aiouv::test
