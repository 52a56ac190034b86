// Lock, Event, Semaphore, BoundedSemaphore: asyncio's semantics, FIFO
// fairness, and cancellation at every await point.
#include "support/loop_test.hpp"
#include "support/when_settled.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Locks = LoopTest;

TEST_F(Locks, UncontendedLockDoesNotTouchTheLoop) {
  Lock lock;
  std::vector<std::string> order;
  auto body = [&]() -> Coro<void> {
    loop.call_soon([&] { order.push_back("callback"); });
    co_await lock.acquire();
    EXPECT_TRUE(lock.locked());
    lock.release();
    co_await lock.acquire();
    lock.release();
    order.push_back("task done");
  };
  loop.run_until_complete(body());
  EXPECT_EQ(order, (std::vector<std::string>{"task done", "callback"}));
  EXPECT_FALSE(lock.locked());
}

TEST_F(Locks, ReleasingAnUnlockedLockIsAnError) {
  Lock lock;
  EXPECT_EQ(error_of([&] { lock.release(); }), "Lock is not acquired.");
}

TEST_F(Locks, WaitersGetTheLockInFifoOrder) {
  Lock lock;
  std::vector<int> order;
  auto worker = [&](int id) -> Coro<void> {
    co_await lock.acquire();
    order.push_back(id);
    co_await sleep(1ms);
    lock.release();
  };
  std::vector<Task<void>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(loop.create_task(worker(i)));
  for (auto& t : tasks) loop.run_until_complete(t);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(Locks, CancelledWaiterLeavesTheQueueAndNeverHoldsTheLock) {
  Lock lock;
  std::vector<std::string> events;
  auto holder = [&]() -> Coro<void> {
    co_await lock.acquire();
    co_await sleep(5ms);
    lock.release();
  };
  auto waiter = [&](std::string name) -> Coro<void> {
    co_await lock.acquire();
    events.push_back(name + " got it");
    lock.release();
  };
  Task<void> h = loop.create_task(holder());
  Task<void> a = loop.create_task(waiter("a"));
  Task<void> b = loop.create_task(waiter("b"));
  loop.call_later(1ms, [&] { a.cancel(); });
  loop.run_until_complete(b);
  EXPECT_TRUE(a.cancelled());
  EXPECT_EQ(events, (std::vector<std::string>{"b got it"}));
  EXPECT_FALSE(lock.locked());
  loop.run_until_complete(h);
}

TEST_F(Locks, WakeUpIsNotLostWhenTheWokenWaiterIsCancelled) {
  // release() wakes "a"; "a" is cancelled before it runs. The lock must go
  // to "b", not stay free with "b" asleep.
  Lock lock;
  std::vector<std::string> events;
  auto waiter = [&](std::string name) -> Coro<void> {
    co_await lock.acquire();
    events.push_back(name);
    lock.release();
  };
  auto main = [&]() -> Coro<void> {
    co_await lock.acquire();
    Task<void> a = create_task(waiter("a"));
    Task<void> b = create_task(waiter("b"));
    co_await sleep(0s);  // both now wait
    lock.release();      // wakes a ...
    a.cancel();          // ... which is cancelled before it runs
    try {
      co_await a;
    } catch (const CancelledError&) {
      events.push_back("a cancelled");
    }
    co_await b;
  };
  loop.run_until_complete(main());
  // a's cancellation passes the wake-up on to b before main hears of it.
  EXPECT_EQ(events, (std::vector<std::string>{"b", "a cancelled"}));
  EXPECT_FALSE(lock.locked());
}

TEST_F(Locks, ScopedGuardReleases) {
  Lock lock;
  auto body = [&]() -> Coro<void> {
    {
      auto guard = co_await lock.scoped();
      EXPECT_TRUE(lock.locked());
    }
    EXPECT_FALSE(lock.locked());
    auto guard = co_await lock.scoped();
    guard.unlock();
    EXPECT_FALSE(lock.locked());
  };
  loop.run_until_complete(body());
}

TEST_F(Locks, SemaphoreScopedGuardGivesTheSlotBack) {
  Semaphore sem(2);
  auto body = [&]() -> Coro<void> {
    {
      auto a = co_await sem.scoped();
      auto b = co_await sem.scoped();
      EXPECT_TRUE(sem.locked());
      b.release();
      EXPECT_FALSE(sem.locked());
      auto c = co_await sem.scoped();
      EXPECT_TRUE(sem.locked());
    }
    EXPECT_FALSE(sem.locked());
    auto d = co_await sem.scoped();
    auto e = co_await sem.scoped();  // both slots taken again: all were given back
    EXPECT_TRUE(sem.locked());
  };
  loop.run_until_complete(body());
  EXPECT_FALSE(sem.locked());
}

TEST_F(Locks, LockUsedFromTwoLoopsIsAnError) {
  Lock lock;
  auto contend = [&]() -> Coro<void> {
    co_await lock.acquire();
    co_await lock.acquire();  // waits: binds the lock to this loop
  };
  Task<void> t = loop.create_task(contend());
  when_settled(loop, [&] { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  lock.release();
  EventLoop other;
  auto elsewhere = [&]() -> Coro<std::string> {
    co_await lock.acquire();
    try {
      co_await lock.acquire();
    } catch (const RuntimeError& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_EQ(other.run_until_complete(elsewhere()), "<asyncio.locks.Lock> is bound to a different event loop");
  other.close();
}

TEST_F(Locks, EventWakesEveryWaiter) {
  Event event;
  EXPECT_FALSE(event.is_set());
  int woken = 0;
  auto waiter = [&]() -> Coro<void> {
    EXPECT_TRUE(co_await event.wait());
    ++woken;
  };
  std::vector<Task<void>> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(loop.create_task(waiter()));
  loop.call_later(1ms, [&] { event.set(); });
  for (auto& t : tasks) loop.run_until_complete(t);
  EXPECT_EQ(woken, 4);
  EXPECT_TRUE(event.is_set());
}

TEST_F(Locks, EventSetWaitReturnsAtOnceAndClearBlocksAgain) {
  Event event;
  event.set();
  loop.run_until_complete(event.wait());
  event.clear();
  EXPECT_FALSE(event.is_set());
  Task<bool> t = loop.create_task(event.wait());
  loop.call_later(2ms, [&] { event.set(); });
  EXPECT_TRUE(loop.run_until_complete(t));
}

TEST_F(Locks, CancelledEventWaiterLeavesNoTrace) {
  Event event;
  Task<bool> t = loop.create_task(event.wait());
  loop.call_later(1ms, [&] { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  event.set();  // nobody left to wake: must not touch the dead waiter
  loop.run_until_complete(event.wait());
}

TEST_F(Locks, SemaphoreLimitsConcurrency) {
  Semaphore sem(2);
  int inside = 0, peak = 0;
  auto worker = [&]() -> Coro<void> {
    co_await sem.acquire();
    peak = std::max(peak, ++inside);
    co_await sleep(1ms);
    --inside;
    sem.release();
  };
  std::vector<Task<void>> tasks;
  for (int i = 0; i < 8; ++i) tasks.push_back(loop.create_task(worker()));
  for (auto& t : tasks) loop.run_until_complete(t);
  EXPECT_EQ(peak, 2);
  EXPECT_FALSE(sem.locked());
}

TEST_F(Locks, SemaphoreIsFifo) {
  Semaphore sem(1);
  std::vector<int> order;
  auto worker = [&](int id) -> Coro<void> {
    co_await sem.acquire();
    order.push_back(id);
    co_await sleep(0s);
    sem.release();
  };
  std::vector<Task<void>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(loop.create_task(worker(i)));
  for (auto& t : tasks) loop.run_until_complete(t);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(Locks, CancelledSemaphoreWaiterGivesBackAHandedSlot) {
  Semaphore sem(1);
  std::vector<std::string> events;
  auto waiter = [&](std::string name) -> Coro<void> {
    co_await sem.acquire();
    events.push_back(name);
    sem.release();
  };
  auto main = [&]() -> Coro<void> {
    co_await sem.acquire();
    Task<void> a = create_task(waiter("a"));
    Task<void> b = create_task(waiter("b"));
    co_await sleep(0s);
    sem.release();  // hands the slot to a ...
    a.cancel();     // ... which will not take it
    try {
      co_await a;
    } catch (const CancelledError&) {
      events.push_back("a cancelled");
    }
    co_await b;
  };
  loop.run_until_complete(main());
  EXPECT_EQ(events, (std::vector<std::string>{"b", "a cancelled"}));
  EXPECT_FALSE(sem.locked());
}

TEST_F(Locks, SemaphoreArgumentErrors) {
  EXPECT_EQ(error_of([] { Semaphore s(-1); }), "Semaphore initial value must be >= 0");
  BoundedSemaphore bounded(1);
  EXPECT_EQ(error_of([&] { bounded.release(); }), "BoundedSemaphore released too many times");
  loop.run_until_complete(bounded.acquire());
  EXPECT_TRUE(bounded.locked());
  bounded.release();
  EXPECT_FALSE(bounded.locked());
}

TEST_F(Locks, ConditionNotifyWakesInFifoOrderWithTheLockHeld) {
  Condition cond;
  std::vector<int> order;
  auto waiter = [&](int id) -> Coro<void> {
    auto guard = co_await cond.scoped();
    EXPECT_TRUE(co_await cond.wait());
    EXPECT_TRUE(cond.locked());
    order.push_back(id);
  };
  std::vector<Task<void>> tasks;
  for (int i = 0; i < 3; ++i) tasks.push_back(loop.create_task(waiter(i)));
  auto notifier = [&]() -> Coro<void> {
    co_await sleep(1ms);
    auto guard = co_await cond.scoped();
    cond.notify(2);
    co_await sleep(1ms);  // still holding: nobody gets past wait() yet
    EXPECT_TRUE(order.empty());
    guard.unlock();
    co_await sleep(1ms);
    auto again = co_await cond.scoped();
    cond.notify_all();
  };
  loop.run_until_complete(notifier());
  for (auto& t : tasks) loop.run_until_complete(t);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST_F(Locks, ConditionErrorsWithoutTheLock) {
  Condition cond;
  EXPECT_EQ(error_of([&] { cond.notify(); }), "cannot notify on un-acquired lock");
  EXPECT_EQ(error_of([&] { loop.run_until_complete(cond.wait()); }), "cannot wait on un-acquired lock");
}

TEST_F(Locks, ConditionWaitForAPredicate) {
  Condition cond;
  int value = 0;
  auto consumer = [&]() -> Coro<int> {
    auto guard = co_await cond.scoped();
    co_await cond.wait_for([&] { return value >= 3; });
    co_return value;
  };
  auto producer = [&]() -> Coro<void> {
    for (int i = 0; i < 3; ++i) {
      co_await sleep(0s);
      auto guard = co_await cond.scoped();
      ++value;
      cond.notify_all();
    }
  };
  Task<int> c = loop.create_task(consumer());
  loop.run_until_complete(producer());
  EXPECT_EQ(loop.run_until_complete(c), 3);
}

TEST_F(Locks, CancelledConditionWaiterReacquiresAndPassesTheNotificationOn) {
  Condition cond;
  std::vector<std::string> events;
  auto waiter = [&](std::string name) -> Coro<void> {
    auto guard = co_await cond.scoped();
    try {
      co_await cond.wait();
      events.push_back(name + " notified");
    } catch (const CancelledError&) {
      EXPECT_TRUE(cond.locked()) << "the lock is held again even when cancelled";
      events.push_back(name + " cancelled");
      throw;
    }
  };
  auto main = [&]() -> Coro<void> {
    Task<void> a = create_task(waiter("a"));
    Task<void> b = create_task(waiter("b"));
    co_await sleep(0s);
    {
      auto guard = co_await cond.scoped();
      cond.notify(1);  // meant for a ...
      a.cancel();      // ... which is cancelled: b must get it instead
    }
    try {
      co_await a;
    } catch (const CancelledError&) {
    }
    co_await b;
  };
  loop.run_until_complete(main());
  EXPECT_EQ(events, (std::vector<std::string>{"a cancelled", "b notified"}));
  EXPECT_FALSE(cond.locked());
}

TEST_F(Locks, BarrierReleasesAllPartiesTogetherAndIsReusable) {
  Barrier barrier(3);
  EXPECT_EQ(barrier.parties(), 3u);
  std::vector<std::size_t> indices;
  int passed = 0;
  auto party = [&]() -> Coro<void> {
    for (int round = 0; round < 2; ++round) {
      indices.push_back(co_await barrier.wait());
      ++passed;
    }
  };
  std::vector<Task<void>> tasks;
  for (int i = 0; i < 3; ++i) tasks.push_back(loop.create_task(party()));
  for (auto& t : tasks) loop.run_until_complete(t);
  EXPECT_EQ(passed, 6);
  std::sort(indices.begin(), indices.end());
  EXPECT_EQ(indices, (std::vector<std::size_t>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(barrier.n_waiting(), 0u);
  EXPECT_FALSE(barrier.broken());
}

TEST_F(Locks, BarrierAbortAndResetBreakWaiters) {
  Barrier barrier(3);
  auto party = [&]() -> Coro<std::string> {
    try {
      co_await barrier.wait();
    } catch (const BrokenBarrierError& e) {
      co_return e.what();
    }
    co_return "passed";
  };
  Task<std::string> a = loop.create_task(party());
  auto resetter = [&]() -> Coro<void> {
    co_await sleep(1ms);
    EXPECT_EQ(barrier.n_waiting(), 1u);
    co_await barrier.reset();
  };
  loop.run_until_complete(resetter());
  EXPECT_EQ(loop.run_until_complete(a), "Abort or reset of barrier");
  EXPECT_FALSE(barrier.broken());

  Task<std::string> b = loop.create_task(party());
  auto aborter = [&]() -> Coro<void> {
    co_await sleep(1ms);
    co_await barrier.abort();
  };
  loop.run_until_complete(aborter());
  EXPECT_EQ(loop.run_until_complete(b), "Abort or reset of barrier");
  EXPECT_TRUE(barrier.broken());
  EXPECT_EQ(loop.run_until_complete(party()), "Barrier aborted");
  EXPECT_EQ(error_of([] { Barrier zero(0); }), "parties must be > 0");
}

}  // namespace
}  // namespace aiouv::test
