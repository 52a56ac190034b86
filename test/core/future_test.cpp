// Future<T>: states, results, errors and messages, done callbacks.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Futures = LoopTest;

void run_once(EventLoop& loop) {
  loop.call_soon([&loop] { loop.stop(); });
  loop.run_forever();
}

TEST_F(Futures, PendingFutureState) {
  Future<int> f = loop.create_future<int>();
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(&f.get_loop(), &loop);
  EXPECT_FALSE(f.is_task());
  EXPECT_EQ(f.repr(), "<Future pending>");
  try {
    (void)f.result();
    FAIL();
  } catch (const InvalidStateError& e) {
    EXPECT_STREQ(e.what(), "Result is not ready.");
  }
  try {
    (void)f.exception();
    FAIL();
  } catch (const InvalidStateError& e) {
    EXPECT_STREQ(e.what(), "Exception is not set.");
  }
}

TEST_F(Futures, AnOverAlignedValueIsStoredAligned) {
  // The frame pool promises 16-byte alignment; a state whose value needs
  // more must not come from it. In the pooled build this check is weak:
  // blocks are cut from 64-byte aligned slabs, so a pooled state would be
  // misplaced only when its slab starts 64 bytes past a multiple of 128.
  // The sanitizer builds take blocks from malloc (16-byte aligned, rarely
  // 128) and UBSan checks every access, so there it is strong.
  struct alignas(128) Wide {
    int value;
  };
  std::vector<Future<Wide>> futures;
  for (int i = 0; i < 8; ++i) {
    futures.push_back(loop.create_future<Wide>());
    futures.back().set_result(Wide{i});
  }
  for (int i = 0; i < 8; ++i) {
    const Wide& wide = futures[static_cast<std::size_t>(i)].result();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&wide) % alignof(Wide), 0u) << i;
    EXPECT_EQ(wide.value, i);
  }
}

TEST_F(Futures, SetResultOnceThenInvalidState) {
  Future<std::string> f = loop.create_future<std::string>();
  f.set_result("value");
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(), "value");
  EXPECT_EQ(f.exception(), nullptr);
  try {
    f.set_result("again");
    FAIL();
  } catch (const InvalidStateError& e) {
    EXPECT_EQ(std::string(e.what()), "FINISHED: <Future finished>");
  }
  EXPECT_THROW(f.set_exception(std::runtime_error("x")), InvalidStateError);
  EXPECT_FALSE(f.cancel());
}

TEST_F(Futures, SetExceptionIsRethrownByResult) {
  Future<int> f = loop.create_future<int>();
  f.set_exception(std::out_of_range("too far"));
  EXPECT_TRUE(f.done());
  EXPECT_THROW((void)f.result(), std::out_of_range);
  EXPECT_EQ(what_of(f.exception()), "too far");
}

TEST_F(Futures, CancelWithMessage) {
  Future<int> f = loop.create_future<int>();
  EXPECT_TRUE(f.cancel("why not"));
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(f.repr(), "<Future cancelled>");
  try {
    (void)f.result();
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "why not");
  }
  EXPECT_THROW((void)f.exception(), CancelledError);
  try {
    f.set_result(1);
    FAIL();
  } catch (const InvalidStateError& e) {
    EXPECT_EQ(std::string(e.what()), "CANCELLED: <Future cancelled>");
  }
}

TEST_F(Futures, DoneCallbacksRunSoonNeverInline) {
  Future<int> f = loop.create_future<int>();
  std::vector<int> order;
  f.add_done_callback([&](Future<int>& done) { order.push_back(done.result()); });
  f.add_done_callback([&](AnyFuture& done) { order.push_back(done.done() ? 100 : -1); });
  f.add_done_callback([&] { order.push_back(200); });
  f.set_result(7);
  EXPECT_TRUE(order.empty()) << "done callbacks go through call_soon";
  run_once(loop);
  EXPECT_EQ(order, (std::vector<int>{7, 100, 200}));
}

TEST_F(Futures, CallbackAddedAfterDoneIsScheduledAtOnce) {
  Future<void> f = loop.create_future<void>();
  f.set_result();
  bool ran = false;
  f.add_done_callback([&] { ran = true; });
  EXPECT_FALSE(ran);
  run_once(loop);
  EXPECT_TRUE(ran);
}

TEST_F(Futures, RemoveDoneCallbackCountsRemovals) {
  Future<int> f = loop.create_future<int>();
  int calls = 0;
  auto a = f.add_done_callback([&] { calls += 1; });
  auto b = f.add_done_callback([&] { calls += 10; });
  auto c = f.add_done_callback([&] { calls += 100; });
  EXPECT_EQ(f.remove_done_callback(a), 1u);
  EXPECT_EQ(f.remove_done_callback(a), 0u);
  EXPECT_EQ(f.remove_done_callback(c), 1u);
  f.set_result(1);
  EXPECT_EQ(f.remove_done_callback(b), 0u) << "once done, callbacks are already scheduled";
  run_once(loop);
  EXPECT_EQ(calls, 10);
}

TEST_F(Futures, CancelSchedulesCallbacks) {
  Future<int> f = loop.create_future<int>();
  bool saw_cancelled = false;
  f.add_done_callback([&](Future<int>& d) { saw_cancelled = d.cancelled(); });
  f.cancel();
  run_once(loop);
  EXPECT_TRUE(saw_cancelled);
}

TEST_F(Futures, CallbackThatAddsCallbacksToTheSameFuture) {
  Future<int> f = loop.create_future<int>();
  std::vector<int> order;
  f.add_done_callback([&](Future<int>& d) {
    order.push_back(1);
    for (int i = 0; i < 20; ++i) d.add_done_callback([&order] { order.push_back(2); });
  });
  f.set_result(0);
  run_once(loop);
  run_once(loop);
  EXPECT_EQ(order.size(), 21u);
}

TEST_F(Futures, CopiesShareState) {
  Future<int> a = loop.create_future<int>();
  Future<int> b = a;
  EXPECT_TRUE(a == b);
  b.set_result(3);
  EXPECT_TRUE(a.done());
  EXPECT_EQ(a.result(), 3);
}

TEST_F(Futures, MoveOnlyResult) {
  Future<std::unique_ptr<int>> f = loop.create_future<std::unique_ptr<int>>();
  f.set_result(std::make_unique<int>(5));
  EXPECT_EQ(*f.result(), 5) << "lvalue access does not move";
  std::unique_ptr<int> taken = std::move(f).result();
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, 5);
}

TEST_F(Futures, AwaitingLvalueGivesAccessRvalueMovesOut) {
  Future<std::unique_ptr<int>> f = loop.create_future<std::unique_ptr<int>>();
  auto consumer = [](Future<std::unique_ptr<int>> fut) -> Coro<int> {
    const std::unique_ptr<int>& peek = co_await fut;
    int seen = *peek;
    std::unique_ptr<int> owned = co_await std::move(fut);
    co_return seen + *owned + (fut.result() == nullptr ? 1000 : 0);
  };
  loop.call_later(1ms, [f]() mutable { f.set_result(std::make_unique<int>(21)); });
  EXPECT_EQ(loop.run_until_complete(consumer(f)), 1042);
}

TEST_F(Futures, ManyAwaitersOfOneFutureAllWakeInOrder) {
  Future<int> f = loop.create_future<int>();
  std::vector<int> woke;
  auto waiter = [](Future<int> fut, std::vector<int>& out, int id) -> Coro<void> {
    int v = co_await fut;
    out.push_back(id * 100 + v);
  };
  std::vector<Task<void>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(loop.create_task(waiter(f, woke, i)));
  loop.call_later(1ms, [f]() mutable { f.set_result(1); });
  for (auto& t : tasks) loop.run_until_complete(t);
  EXPECT_EQ(woke, (std::vector<int>{1, 101, 201, 301, 401}));
}

TEST_F(Futures, UnretrievedExceptionIsReportedWhenTheFutureDies) {
  record_exceptions();
  {
    Future<int> f = loop.create_future<int>();
    f.set_exception(std::runtime_error("lost"));
  }
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message, "Future exception was never retrieved");
  EXPECT_EQ(what_of(reported[0].exception), "lost");
}

TEST_F(Futures, RetrievedExceptionIsNotReported) {
  record_exceptions();
  {
    Future<int> f = loop.create_future<int>();
    f.set_exception(std::runtime_error("seen"));
    (void)f.exception();
  }
  {
    Future<int> f = loop.create_future<int>();
    f.set_exception(std::runtime_error("seen"));
    EXPECT_THROW((void)f.result(), std::runtime_error);
  }
  EXPECT_TRUE(reported.empty());
}

TEST_F(Futures, SetNullExceptionIsRejected) {
  Future<int> f = loop.create_future<int>();
  EXPECT_THROW(f.set_exception(std::exception_ptr()), std::invalid_argument);
  EXPECT_FALSE(f.done());
}

TEST_F(Futures, AwaitingAFutureOfAnotherLoopIsAnError) {
  EventLoop other;
  Future<int> foreign = other.create_future<int>();
  auto waiter = [](Future<int> f) -> Coro<int> { co_return co_await f; };
  try {
    loop.run_until_complete(waiter(foreign));
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("attached to a different loop"), std::string::npos);
  }
  foreign = {};
  other.close();
}

TEST_F(Futures, RunUntilCompleteOfAForeignFutureIsRejected) {
  EventLoop other;
  Future<int> foreign = other.create_future<int>();
  EXPECT_THROW(loop.run_until_complete(foreign), std::invalid_argument);
  foreign = {};
  other.close();
}

}  // namespace
}  // namespace aiouv::test
