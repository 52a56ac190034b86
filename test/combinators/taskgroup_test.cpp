// TaskGroup: waiting for children, the first failure cancelling the rest,
// ExceptionGroup, outer cancellation, misuse messages. Expected orders and
// messages were taken from CPython 3.12/3.13 running the same scenarios.
#include "support/coro_helpers.hpp"
#include "support/loop_test.hpp"
#include "support/when_settled.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using TaskGroups = LoopTest;

Coro<void> fail_after(std::chrono::milliseconds delay, std::string message) {
  co_await sleep(delay);
  throw std::invalid_argument(message);
}

/// Sleeps an hour; records its cancellation in `log` as "<name> cancelled".
Coro<void> slow(std::vector<std::string>& log, std::string name) {
  try {
    co_await sleep(1h);
  } catch (const CancelledError&) {
    log.push_back(name + " cancelled");
    throw;
  }
}

std::vector<std::string> messages_of(const ExceptionGroup& group) {
  std::vector<std::string> out;
  for (const auto& e : group.exceptions()) out.push_back(what_of(e));
  return out;
}

TEST_F(TaskGroups, WaitsForEveryChild) {
  std::vector<int> finished;
  auto child = [&](int n, std::chrono::milliseconds d) -> Coro<int> {
    co_await sleep(d);
    finished.push_back(n);
    co_return n * 10;
  };
  auto main = [&]() -> Coro<int> {
    Task<int> a;
    Task<int> b;
    TaskGroup group;
    auto body = [&]() -> Coro<std::string> {
      // Armed first but due last; the gap outlasts any stall between the
      // two children's first steps.
      a = group.create_task(child(1, 100ms));
      b = group.create_task(child(2, 1ms), "second");
      EXPECT_EQ(b.get_name(), "second");
      EXPECT_EQ(group.repr(), "<TaskGroup tasks=2 entered>");
      co_return "body done";
    };
    EXPECT_EQ(co_await group.run(body()), "body done");
    EXPECT_TRUE(a.done());
    EXPECT_TRUE(b.done());
    EXPECT_EQ(group.repr(), "<TaskGroup entered>");
    co_return a.result() + b.result();
  };
  EXPECT_EQ(loop.run_until_complete(main()), 30);
  EXPECT_EQ(finished, (std::vector<int>{2, 1}));
}

TEST_F(TaskGroups, CallableBodyForm) {
  int sum = 0;
  auto add = [&](int n) -> Coro<void> {
    co_await sleep(1ms);
    sum += n;
  };
  auto main = [&]() -> Coro<void> {
    co_await TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
      for (int i = 1; i <= 10; ++i) tg.create_task(add(i));
      co_return;
    });
  };
  loop.run_until_complete(main());
  EXPECT_EQ(sum, 55);
}

TEST_F(TaskGroups, FirstFailureCancelsSiblingsAndBody) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    TaskGroup group;
    auto body = [&]() -> Coro<void> {
      group.create_task(slow(log, "a"));
      group.create_task(fail_after(1ms, "x"));
      group.create_task(slow(log, "b"));
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {
        log.push_back("body cancelled");
        throw;
      }
    };
    try {
      co_await group.run(body());
    } catch (const ExceptionGroup& e) {
      EXPECT_STREQ(e.what(), "unhandled errors in a TaskGroup (1 sub-exception)");
      EXPECT_EQ(messages_of(e), (std::vector<std::string>{"x"}));
      log.push_back("group failed");
    }
    EXPECT_EQ(current_task().cancelling(), 0u) << "the group took back its cancel of this task";
    co_await sleep(1ms);  // and this task goes on normally
    log.push_back("went on");
  };
  loop.run_until_complete(main());
  EXPECT_EQ(log, (std::vector<std::string>{"a cancelled", "b cancelled", "body cancelled", "group failed", "went on"}));
}

TEST_F(TaskGroups, AllFailuresSurfaceTogetherInOrder) {
  auto bad_cleanup = []() -> Coro<void> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      throw std::runtime_error("cleanup failed");
    }
  };
  auto main = [&]() -> Coro<std::vector<std::string>> {
    try {
      co_await TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
        tg.create_task(fail_after(1ms, "1"));
        tg.create_task(fail_after(1ms, "2"));
        tg.create_task(bad_cleanup());
        co_await sleep(1h);
      });
    } catch (const ExceptionGroup& e) {
      co_return messages_of(e);
    }
    co_return {};
  };
  EXPECT_EQ(loop.run_until_complete(main()), (std::vector<std::string>{"1", "2", "cleanup failed"}));
}

TEST_F(TaskGroups, BodyFailureCancelsChildrenAndIsGrouped) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    TaskGroup group;
    auto body = [&]() -> Coro<void> {
      group.create_task(slow(log, "a"));
      co_await sleep(1ms);
      throw std::out_of_range("body");
    };
    try {
      co_await group.run(body());
    } catch (const ExceptionGroup& e) {
      EXPECT_EQ(messages_of(e), (std::vector<std::string>{"body"}));
      log.push_back("group failed");
    }
    EXPECT_EQ(error_of([&] { (void)group.create_task(slow(log, "late")); }),
              "TaskGroup <TaskGroup cancelling> is finished");
  };
  loop.run_until_complete(main());
  EXPECT_EQ(log, (std::vector<std::string>{"a cancelled", "group failed"}));
}

TEST_F(TaskGroups, OuterCancellationPropagatesAsCancelledError) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    co_await TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
      tg.create_task(slow(log, "a"));
      tg.create_task(slow(log, "b"));
      co_await slow(log, "body");
    });
  };
  Task<void> task = loop.create_task(main());
  when_settled(loop, [&] { task.cancel(); });
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_EQ(log, (std::vector<std::string>{"body cancelled", "a cancelled", "b cancelled"}));
}

TEST_F(TaskGroups, CancellationWhileWaitingForChildrenPropagates) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    co_await TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
      tg.create_task(slow(log, "child"));
      co_return;  // the group now waits in its exit
    });
    log.push_back("not reached");
  };
  Task<void> task = loop.create_task(main());
  when_settled(loop, [&] { task.cancel(); });
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_EQ(log, (std::vector<std::string>{"child cancelled"}));
}

TEST_F(TaskGroups, ChildErrorsWinOverAnOuterCancellation) {
  // Outer cancel() and a child's failure: ExceptionGroup is thrown, and the
  // outer cancellation stays pending for the task's next await (3.13).
  std::vector<std::string> log;
  auto fail_now = []() -> Coro<void> {
    throw std::invalid_argument("child");
    co_return;
  };
  auto main = [&]() -> Coro<void> {
    try {
      co_await TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
        tg.create_task(fail_now());
        current_task().cancel();
        co_await sleep(1h);
      });
    } catch (const ExceptionGroup& e) {
      log.push_back("group: " + messages_of(e).at(0));
    }
    EXPECT_EQ(current_task().cancelling(), 1u);
    co_await sleep(1h);  // the pending cancellation lands here
  };
  Task<void> task = loop.create_task(main());
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  EXPECT_EQ(log, (std::vector<std::string>{"group: child"}));
}

TEST_F(TaskGroups, UnderATimeoutTheExpiryBecomesTimeoutError) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    Timeout t = timeout(std::nullopt);
    try {
      co_await t.run(TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
        tg.create_task(slow(log, "child"));
        co_await sleep(0s);  // the child starts (a child cancelled before that never enters its body)
        t.reschedule_in(5ms);
      }));
    } catch (const TimeoutError&) {
      log.push_back("timeout");
    }
    EXPECT_EQ(current_task().cancelling(), 0u);
  };
  loop.run_until_complete(main());
  EXPECT_EQ(log, (std::vector<std::string>{"child cancelled", "timeout"}));
}

TEST_F(TaskGroups, CancelledChildrenAreNotErrors) {
  auto main = [&]() -> Coro<int> {
    int value = 0;
    co_await TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
      Task<void> doomed = tg.create_task(sleep(1h));
      Task<int> kept = tg.create_task(value_after(4, 2ms));
      doomed.cancel();
      value = co_await kept;
    });
    co_return value;
  };
  EXPECT_EQ(loop.run_until_complete(main()), 4);
}

TEST_F(TaskGroups, MisuseHasAsyncioMessages) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    TaskGroup group;
    EXPECT_EQ(error_of([&] { (void)group.create_task(slow(log, "x")); }),
              "TaskGroup <TaskGroup> has not been entered");
    co_await group.run(sleep(0s));
    EXPECT_EQ(error_of([&] { (void)group.create_task(slow(log, "x")); }),
              "TaskGroup <TaskGroup entered> is finished");
    std::string second;
    try {
      co_await group.run(sleep(0s));
    } catch (const RuntimeError& e) {
      second = e.what();
    }
    EXPECT_EQ(second, "TaskGroup <TaskGroup entered> has already been entered");

    TaskGroup failing;
    std::string late;
    auto body = [&]() -> Coro<void> {
      failing.create_task(fail_after(0ms, "x"));
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {
        late = error_of([&] { (void)failing.create_task(slow(log, "late")); });
        throw;
      }
    };
    EXPECT_THROW(co_await failing.run(body()), ExceptionGroup);
    EXPECT_EQ(late, "TaskGroup <TaskGroup errors=1 cancelling> is shutting down");
  };
  loop.run_until_complete(main());
  EXPECT_TRUE(log.empty()) << "refused coroutines never ran";
}

TEST_F(TaskGroups, EagerChildrenThatFinishAtOnce) {
  loop.set_task_factory(eager_task_factory);
  auto instant = []() -> Coro<int> { co_return 1; };
  auto instant_fail = []() -> Coro<int> {
    throw std::invalid_argument("eager failure");
    co_return 0;
  };
  auto main = [&]() -> Coro<std::vector<std::string>> {
    Task<int> done;
    try {
      co_await TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
        done = tg.create_task(instant());
        EXPECT_TRUE(done.done());
        tg.create_task(instant_fail());
        co_await sleep(1h);
      });
    } catch (const ExceptionGroup& e) {
      co_return messages_of(e);
    }
    co_return {};
  };
  EXPECT_EQ(loop.run_until_complete(main()), (std::vector<std::string>{"eager failure"}));
}

TEST_F(TaskGroups, NestedGroups) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<std::vector<std::string>> {
    try {
      co_await TaskGroup().run([&](TaskGroup& outer) -> Coro<void> {
        outer.create_task(slow(log, "outer child"));
        co_await TaskGroup().run([&](TaskGroup& inner) -> Coro<void> {
          inner.create_task(fail_after(1ms, "inner failure"));
          co_await slow(log, "inner body");
        });
      });
    } catch (const ExceptionGroup& e) {
      // The inner group's ExceptionGroup is the outer body's failure.
      std::vector<std::string> out = messages_of(e);
      try {
        std::rethrow_exception(e.exceptions().at(0));
      } catch (const ExceptionGroup& inner) {
        out.push_back(messages_of(inner).at(0));
      }
      co_return out;
    }
    co_return {};
  };
  EXPECT_EQ(loop.run_until_complete(main()),
            (std::vector<std::string>{"unhandled errors in a TaskGroup (1 sub-exception)", "inner failure"}));
  EXPECT_EQ(log, (std::vector<std::string>{"inner body cancelled", "outer child cancelled"}));
}

TEST_F(TaskGroups, LoopCloseWithARunningGroupLeavesNothingBehind) {
  std::vector<std::string> log;
  auto main = [&]() -> Coro<void> {
    co_await TaskGroup().run([&](TaskGroup& tg) -> Coro<void> {
      tg.create_task(slow(log, "child"));
      co_await sleep(1h);
    });
  };
  {
    Task<void> task = loop.create_task(main());
    loop.call_later(1ms, [&] { loop.stop(); });
    loop.run_forever();
  }
  record_exceptions();
  loop.close();
  EXPECT_EQ(reported.size(), 2u) << "the parent and the child";
  reported.clear();
}

}  // namespace
}  // namespace aiouv::test
