// Queue, LifoQueue, PriorityQueue: ordering, bounds, join, shutdown
// (3.13), move-only items and cancellation without lost items.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Queues = LoopTest;

TEST_F(Queues, FifoLifoAndPriorityOrder) {
  Queue<int> fifo;
  LifoQueue<int> lifo;
  PriorityQueue<int> prio;
  for (int v : {3, 1, 2}) {
    fifo.put_nowait(v);
    lifo.put_nowait(v);
    prio.put_nowait(v);
  }
  EXPECT_EQ(fifo.qsize(), 3u);
  std::vector<int> f, l, p;
  for (int i = 0; i < 3; ++i) {
    f.push_back(fifo.get_nowait());
    l.push_back(lifo.get_nowait());
    p.push_back(prio.get_nowait());
  }
  EXPECT_EQ(f, (std::vector<int>{3, 1, 2}));
  EXPECT_EQ(l, (std::vector<int>{2, 1, 3}));
  EXPECT_EQ(p, (std::vector<int>{1, 2, 3}));
  PriorityQueue<int, std::greater<int>> largest_first;
  for (int v : {3, 1, 2}) largest_first.put_nowait(v);
  EXPECT_EQ(largest_first.get_nowait(), 3);
}

TEST_F(Queues, NowaitErrorsAndBounds) {
  Queue<int> q(1);
  EXPECT_EQ(q.maxsize(), 1);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(q.get_nowait(), QueueEmpty);
  q.put_nowait(1);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(2), QueueFull);
  Queue<int> unbounded;
  for (int i = 0; i < 1000; ++i) unbounded.put_nowait(i);
  EXPECT_FALSE(unbounded.full());
}

TEST_F(Queues, MoveOnlyItems) {
  Queue<std::unique_ptr<int>> q;
  auto body = [&]() -> Coro<int> {
    co_await q.put(std::make_unique<int>(5));
    std::unique_ptr<int> p = co_await q.get();
    co_return *p;
  };
  EXPECT_EQ(loop.run_until_complete(body()), 5);

  struct ByValue {
    bool operator()(const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) const { return *a < *b; }
  };
  PriorityQueue<std::unique_ptr<int>, ByValue> heap;
  for (int v : {4, 2, 9}) heap.put_nowait(std::make_unique<int>(v));
  EXPECT_EQ(*heap.get_nowait(), 2);
  EXPECT_EQ(*heap.get_nowait(), 4);
}

TEST_F(Queues, BoundedProducerWaitsForConsumer) {
  Queue<int> q(2);
  std::vector<std::string> log_lines;
  auto producer = [&]() -> Coro<void> {
    for (int i = 0; i < 5; ++i) {
      co_await q.put(i);
      log_lines.push_back("put " + std::to_string(i));
    }
  };
  auto consumer = [&]() -> Coro<int> {
    int sum = 0;
    for (int i = 0; i < 5; ++i) {
      EXPECT_LE(q.qsize(), 2u);
      sum += co_await q.get();
      q.task_done();
    }
    co_return sum;
  };
  Task<void> p = loop.create_task(producer());
  Task<int> c = loop.create_task(consumer());
  EXPECT_EQ(loop.run_until_complete(c), 10);
  loop.run_until_complete(p);
  EXPECT_EQ(log_lines.size(), 5u);
  loop.run_until_complete(q.join());
}

TEST_F(Queues, GettersAreServedInFifoOrder) {
  Queue<int> q;
  std::vector<std::string> got;
  auto getter = [&](std::string name) -> Coro<void> { got.push_back(name + std::to_string(co_await q.get())); };
  Task<void> a = loop.create_task(getter("a"));
  Task<void> b = loop.create_task(getter("b"));
  loop.call_later(1ms, [&] {
    q.put_nowait(1);
    q.put_nowait(2);
  });
  loop.run_until_complete(a);
  loop.run_until_complete(b);
  EXPECT_EQ(got, (std::vector<std::string>{"a1", "b2"}));
}

TEST_F(Queues, CancelledGetterDoesNotLoseTheItem) {
  Queue<int> q;
  auto main = [&]() -> Coro<int> {
    Task<int> a = create_task(q.get());
    Task<int> b = create_task(q.get());
    co_await sleep(0s);
    q.put_nowait(42);  // wakes a ...
    a.cancel();        // ... which is cancelled: the item must reach b
    try {
      co_await a;
    } catch (const CancelledError&) {
    }
    co_return co_await b;
  };
  EXPECT_EQ(loop.run_until_complete(main()), 42);
  EXPECT_TRUE(q.empty());
}

TEST_F(Queues, CancelledPutterDoesNotPutAndPassesTheSlotOn) {
  Queue<int> q(1);
  q.put_nowait(0);
  auto main = [&]() -> Coro<std::vector<int>> {
    Task<void> a = create_task(q.put(1));
    Task<void> b = create_task(q.put(2));
    co_await sleep(0s);
    (void)q.get_nowait();  // frees a slot, wakes a ...
    a.cancel();            // ... which gives it to b
    try {
      co_await a;
    } catch (const CancelledError&) {
    }
    co_await b;
    std::vector<int> rest;
    while (!q.empty()) rest.push_back(q.get_nowait());
    co_return rest;
  };
  EXPECT_EQ(loop.run_until_complete(main()), (std::vector<int>{2}));
}

TEST_F(Queues, JoinWaitsForTaskDone) {
  Queue<int> q;
  q.put_nowait(1);
  q.put_nowait(2);
  bool joined = false;
  auto joiner = [&]() -> Coro<void> {
    co_await q.join();
    joined = true;
  };
  Task<void> j = loop.create_task(joiner());
  auto worker = [&]() -> Coro<void> {
    for (int i = 0; i < 2; ++i) {
      (void)co_await q.get();
      co_await sleep(1ms);
      EXPECT_FALSE(joined);
      q.task_done();
    }
  };
  loop.run_until_complete(worker());
  loop.run_until_complete(j);
  EXPECT_TRUE(joined);
  try {
    q.task_done();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "task_done() called too many times");
  }
}

TEST_F(Queues, ShutdownLetsGettersDrainThenFails) {
  Queue<int> q;
  q.put_nowait(1);
  q.shutdown();
  EXPECT_THROW(q.put_nowait(2), QueueShutDown);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_THROW(q.get_nowait(), QueueShutDown);
  EXPECT_THROW(loop.run_until_complete(q.get()), QueueShutDown);
  EXPECT_THROW(loop.run_until_complete(q.put(3)), QueueShutDown);
}

TEST_F(Queues, ShutdownWakesBlockedGettersAndPutters) {
  Queue<int> empty_q;
  Queue<int> full_q(1);
  full_q.put_nowait(0);
  Task<int> getter = loop.create_task(empty_q.get());
  Task<void> putter = loop.create_task(full_q.put(1));
  loop.call_later(1ms, [&] {
    empty_q.shutdown();
    full_q.shutdown();
  });
  EXPECT_THROW(loop.run_until_complete(getter), QueueShutDown);
  EXPECT_THROW(loop.run_until_complete(putter), QueueShutDown);
}

TEST_F(Queues, ImmediateShutdownDropsItemsAndReleasesJoin) {
  Queue<int> q;
  for (int i = 0; i < 3; ++i) q.put_nowait(i);
  Task<void> j = loop.create_task(q.join());
  loop.call_later(1ms, [&] { q.shutdown(true); });
  loop.run_until_complete(j);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(q.get_nowait(), QueueShutDown);
}

}  // namespace
}  // namespace aiouv::test
