// Task<T>: scheduling, names, current_task/all_tasks, lifetime, reports,
// task factories.
#include <algorithm>

#include "support/coro_helpers.hpp"
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Tasks = LoopTest;


TEST_F(Tasks, CreateTaskSchedulesTheFirstStepWithCallSoon) {
  std::vector<std::string> order;
  auto body = [](std::vector<std::string>& out) -> Coro<void> {
    out.push_back("task");
    co_return;
  };
  Task<void> t = loop.create_task(body(order));
  order.push_back("after create_task");
  loop.call_soon([&] { order.push_back("soon"); });
  loop.run_until_complete(t);
  EXPECT_EQ(order, (std::vector<std::string>{"after create_task", "task", "soon"}));
}

TEST_F(Tasks, TasksRunConcurrently) {
  auto main = [this]() -> Coro<int> {
    const Clock::time_point start = loop.time();
    Task<int> a = create_task(value_after(1, 200ms));
    Task<int> b = create_task(value_after(2, 200ms));
    int sum = co_await a + co_await b;
    EXPECT_LT(loop.time() - start, 390ms) << "tasks must overlap, not run one after the other";
    co_return sum;
  };
  EXPECT_EQ(loop.run_until_complete(main()), 3);
}

TEST_F(Tasks, DefaultNamesAreTaskN) {
  Task<int> a = loop.create_task(value_after(1, 0ms));
  Task<int> b = loop.create_task(value_after(1, 0ms));
  const std::string na = a.get_name(), nb = b.get_name();
  ASSERT_EQ(na.rfind("Task-", 0), 0u);
  ASSERT_EQ(nb.rfind("Task-", 0), 0u);
  EXPECT_EQ(std::stoi(nb.substr(5)), std::stoi(na.substr(5)) + 1);
  Task<int> c = loop.create_task(value_after(1, 0ms), "custom");
  EXPECT_EQ(c.get_name(), "custom");
  c.set_name("renamed");
  EXPECT_EQ(c.get_name(), "renamed");
  EXPECT_EQ(c.repr(), "<Task pending name='renamed'>");
  loop.run_until_complete(c);
  EXPECT_EQ(c.repr(), "<Task finished name='renamed'>");
  loop.run_until_complete(a);
  loop.run_until_complete(b);
}

TEST_F(Tasks, CurrentTaskAndAllTasks) {
  EXPECT_THROW(current_task(), RuntimeError);
  EXPECT_FALSE(current_task(&loop));
  AnyTask seen;
  std::size_t all_count = 0;
  auto body = [&]() -> Coro<void> {
    seen = current_task();
    co_await sleep(1ms);
    all_count = all_tasks().size();
  };
  Task<void> t = loop.create_task(body(), "me");
  Task<int> other = loop.create_task(value_after(1, 50ms));
  EXPECT_EQ(all_tasks(&loop).size(), 2u);
  loop.run_until_complete(t);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen.get_name(), "me");
  EXPECT_TRUE(seen == AnyTask(t));
  EXPECT_EQ(all_count, 2u);
  EXPECT_EQ(all_tasks(&loop).size(), 1u) << "done tasks are not listed";
  EXPECT_FALSE(current_task(&loop)) << "no task runs between steps";
  loop.run_until_complete(other);
  EXPECT_TRUE(all_tasks(&loop).empty());
}

TEST_F(Tasks, FireAndForgetTaskRunsToCompletion) {
  bool finished = false;
  auto body = [](bool& flag) -> Coro<void> {
    co_await sleep(2ms);
    flag = true;
  };
  (void)loop.create_task(body(finished));  // handle dropped at once
  Future<void> later = loop.create_future<void>();
  loop.call_later(10ms, [later]() mutable { later.set_result(); });
  loop.run_until_complete(later);
  EXPECT_TRUE(finished);
}

// A task nobody holds is freed by the step that finishes it: its value is
// destroyed once (with the frame, never published), it leaves all_tasks and
// the ledger at once. Named or not, cancelled mid-way or not, nothing leaks.
TEST_F(Tasks, AnUnheldTaskIsFreedByItsLastStep) {
  auto token = std::make_shared<int>(7);
  auto give = [](std::shared_ptr<int> value) -> Coro<std::shared_ptr<int>> { co_return value; };
  auto swallow_cancel = [](std::shared_ptr<int> value) -> Coro<std::shared_ptr<int>> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
    }
    co_return value;
  };
  (void)loop.create_task(give(token));
  (void)loop.create_task(give(token), "named");
  AnyTask cancelled = loop.create_task(swallow_cancel(token));
  EXPECT_EQ(token.use_count(), 4);
  std::size_t live_after_first_steps = 99;
  long uses_after_first_steps = 0;
  loop.call_soon([&] {
    // Both give() tasks finished in the steps just before this callback.
    live_after_first_steps = loop.counters().tasks;
    uses_after_first_steps = token.use_count();
    cancelled.cancel();
    cancelled = {};  // unheld now: its last step frees it
    loop.call_soon([&] { loop.call_soon([&] { loop.stop(); }); });
  });
  loop.run_forever();
  EXPECT_EQ(live_after_first_steps, 1u);
  EXPECT_EQ(uses_after_first_steps, 2);
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_TRUE(all_tasks(&loop).empty());
  EXPECT_EQ(loop.counters().tasks, 0u);
  EXPECT_EQ(loop.counters().futures, 0u);
}


// The root of an unheld task may end at the bottom of a chain of awaited
// coroutines, after suspensions, with other work queued: the task is freed
// inside that resume, and the step that ran it, the loop and the tasks after
// it carry on (no current task is left behind, every frame is freed once).
TEST_F(Tasks, AnUnheldTaskEndingAfterAnAwaitedChildIsFreedInThatStep) {
  auto token = std::make_shared<int>(7);
  std::vector<std::string> order;
  auto child = [](std::vector<std::string>& out) -> Coro<int> {
    co_await sleep(0ms);
    out.push_back("child done");
    co_return 5;
  };
  auto root = [&child](std::shared_ptr<int> held, std::vector<std::string>& out) -> Coro<int> {
    const int got = co_await child(out);
    co_await sleep(0ms);
    out.push_back("root returns");
    co_return got + *held;
  };
  (void)loop.create_task(root(token, order));
  (void)loop.create_task(root(token, order));
  EXPECT_EQ(token.use_count(), 3);
  Future<void> done = loop.create_future<void>();
  auto after = [&](std::shared_ptr<int> held) -> Coro<void> {
    // Runs after both roots ended: they freed themselves already.
    for (int i = 0; i < 3; ++i) co_await sleep(0ms);
    order.push_back("after: uses=" + std::to_string(held.use_count()) +
                    " tasks=" + std::to_string(all_tasks().size()) + " current=" + current_task().get_name());
    done.set_result();
  };
  Task<void> last = loop.create_task(after(std::make_shared<int>(1)), "after");
  loop.run_until_complete(done);
  loop.run_until_complete(last);
  EXPECT_EQ(order, (std::vector<std::string>{"child done", "child done", "root returns", "root returns",
                                             "after: uses=1 tasks=1 current=after"}));
  EXPECT_FALSE(current_task(&loop));
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_TRUE(all_tasks(&loop).empty());
  last = {};
  EXPECT_EQ(loop.counters().tasks, 0u);
}
TEST_F(Tasks, SetResultAndSetExceptionAreRefusedOnTasks) {
  Task<int> t = loop.create_task(value_after(1, 0ms));
  try {
    t.set_result(1);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Task does not support set_result() operation");
  }
  try {
    t.set_exception(std::runtime_error("x"));
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Task does not support set_exception() operation");
  }
  EXPECT_EQ(loop.run_until_complete(t), 1);
}

TEST_F(Tasks, ExceptionIsStoredAndRethrownToAwaiters) {
  auto failing = []() -> Coro<int> {
    co_await sleep(0ms);
    throw std::domain_error("bad domain");
  };
  Task<int> t = loop.create_task(failing());
  auto awaiter = [](Task<int> task) -> Coro<std::string> {
    try {
      co_await task;
    } catch (const std::domain_error& e) {
      co_return e.what();
    }
    co_return "no error";
  };
  EXPECT_EQ(loop.run_until_complete(awaiter(t)), "bad domain");
  EXPECT_TRUE(t.done());
  EXPECT_EQ(what_of(t.exception()), "bad domain");
  EXPECT_NE(t.repr().find("exception=bad domain"), std::string::npos);
}

TEST_F(Tasks, NeverRetrievedTaskExceptionIsReported) {
  record_exceptions();
  auto failing = []() -> Coro<void> {
    throw std::runtime_error("nobody looked");
    co_return;
  };
  (void)loop.create_task(failing(), "careless");
  loop.call_soon([this] { loop.call_soon([this] { loop.stop(); }); });
  loop.run_forever();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message, "Task exception was never retrieved");
  EXPECT_EQ(what_of(reported[0].exception), "nobody looked");
  EXPECT_NE(reported[0].object.find("careless"), std::string::npos);
}

// A root that fails leaves its exception to the task even when nobody holds
// the task and it has no name: it is reported, not freed unseen. Void and
// valued roots, failing at once, after a suspension or in an awaited child.
TEST_F(Tasks, AnUnheldUnnamedTaskThatFailsIsStillReported) {
  record_exceptions();
  auto fail_void = []() -> Coro<void> {
    throw std::runtime_error("void at once");
    co_return;
  };
  auto fail_int_later = []() -> Coro<int> {
    co_await sleep(0ms);
    throw std::runtime_error("int after a suspension");
    co_return 1;
  };
  auto child = []() -> Coro<int> {
    throw std::runtime_error("in the child");
    co_return 2;
  };
  auto fail_through_child = [&child]() -> Coro<void> { (void)co_await child(); };
  (void)loop.create_task(fail_void());
  (void)loop.create_task(fail_int_later());
  (void)loop.create_task(fail_through_child());
  loop.call_soon([this] { loop.call_soon([this] { loop.call_soon([this] { loop.stop(); }); }); });
  loop.run_forever();
  ASSERT_EQ(reported.size(), 3u);
  std::vector<std::string> seen;
  for (const ExceptionContext& context : reported) {
    EXPECT_EQ(context.message, "Task exception was never retrieved");
    EXPECT_NE(context.object.find("name='Task-"), std::string::npos) << context.object;
    seen.push_back(what_of(context.exception));
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"in the child", "int after a suspension", "void at once"}));
  EXPECT_TRUE(all_tasks(&loop).empty());
  EXPECT_EQ(loop.counters().tasks, 0u);
}

TEST_F(Tasks, TaskCannotAwaitItself) {
  Task<void> self;
  auto body = [&self]() -> Coro<void> {
    co_await sleep(0ms);
    co_await self;
  };
  self = loop.create_task(body(), "narcissus");
  try {
    loop.run_until_complete(self);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "Task cannot await on itself: <Task pending name='narcissus'>");
  }
  self = {};
}

TEST_F(Tasks, AwaitingADoneFutureDoesNotSuspend) {
  Future<int> ready = loop.create_future<int>();
  ready.set_result(5);
  std::vector<std::string> order;
  auto body = [&]() -> Coro<void> {
    order.push_back("before");
    int v = co_await ready;
    order.push_back("after " + std::to_string(v));
  };
  loop.call_soon([&] { order.push_back("other callback"); });
  loop.run_until_complete(body());
  // No trip through the loop: "after" comes right after "before".
  EXPECT_EQ(order, (std::vector<std::string>{"other callback", "before", "after 5"}));
}

TEST_F(Tasks, OneDispatchPerWakeup) {
  // A task woken by a future resumes in the iteration after set_result,
  // through one call_soon: a callback queued right after set_result runs
  // before it.
  Future<void> gate = loop.create_future<void>();
  std::vector<std::string> order;
  auto body = [&]() -> Coro<void> {
    co_await gate;
    order.push_back("task resumed");
  };
  Task<void> t = loop.create_task(body());
  loop.call_later(1ms, [&] {
    gate.set_result();
    loop.call_soon([&] { order.push_back("queued after set_result"); });
  });
  loop.run_until_complete(t);
  EXPECT_EQ(order, (std::vector<std::string>{"task resumed", "queued after set_result"}));
}

TEST_F(Tasks, VoidAndMoveOnlyTasks) {
  auto make = []() -> Coro<std::unique_ptr<std::string>> {
    co_await sleep(0ms);
    co_return std::make_unique<std::string>("moved");
  };
  auto main = [&]() -> Coro<std::string> {
    Task<std::unique_ptr<std::string>> t = create_task(make());
    std::unique_ptr<std::string> s = co_await std::move(t);
    co_return *s;
  };
  EXPECT_EQ(loop.run_until_complete(main()), "moved");
}

TEST_F(Tasks, EagerTaskFactoryRunsTheFirstStepInsideCreateTask) {
  loop.set_task_factory(eager_task_factory);
  ASSERT_TRUE(loop.get_task_factory());
  std::vector<std::string> order;
  auto body = [&]() -> Coro<int> {
    order.push_back("eager step");
    co_await sleep(1ms);
    order.push_back("second step");
    co_return 1;
  };
  auto immediate = []() -> Coro<int> { co_return 7; };
  auto main = [&]() -> Coro<void> {
    Task<int> t = create_task(body());
    order.push_back("after create_task");
    Task<int> done_at_once = create_task(immediate());
    EXPECT_TRUE(done_at_once.done()) << "a coroutine that never suspends finishes in create_task";
    EXPECT_EQ(done_at_once.result(), 7);
    co_await t;
  };
  loop.run_until_complete(main());
  EXPECT_EQ(order, (std::vector<std::string>{"eager step", "after create_task", "second step"}));
  loop.set_task_factory(nullptr);
  EXPECT_FALSE(loop.get_task_factory());
}

TEST_F(Tasks, EagerTaskOutsideARunningLoopStartsSoon) {
  // asyncio: an eager task only starts eagerly if the loop is running.
  loop.set_task_factory(eager_task_factory);
  bool ran = false;
  auto body = [&]() -> Coro<void> {
    ran = true;
    co_return;
  };
  Task<void> t = loop.create_task(body());
  EXPECT_FALSE(ran);
  loop.run_until_complete(t);
  EXPECT_TRUE(ran);
}

TEST_F(Tasks, EagerTaskSeesItselfAsCurrentTask) {
  loop.set_task_factory(eager_task_factory);
  AnyTask inside;
  auto body = [&]() -> Coro<void> {
    inside = current_task();
    co_return;
  };
  auto outer = [&]() -> Coro<void> {
    AnyTask me = current_task();
    Task<void> child = create_task(body(), "child");
    EXPECT_TRUE(current_task() == me) << "the creator is current again after the eager step";
    co_await child;
  };
  loop.run_until_complete(outer());
  ASSERT_TRUE(inside);
  EXPECT_EQ(inside.get_name(), "child");
  inside = {};
}

TEST_F(Tasks, CustomTaskFactoryCanRenameAndChooseStart) {
  int made = 0;
  loop.set_task_factory([&](EventLoop&, AnyTask& task) {
    ++made;
    task.set_name("factory-" + std::to_string(made));
    return TaskStart::soon;
  });
  Task<int> t = loop.create_task(value_after(3, 0ms));
  EXPECT_EQ(t.get_name(), "factory-1");
  EXPECT_EQ(loop.run_until_complete(t), 3);
  EXPECT_EQ(made, 1);
  t = {};
  loop.run_until_complete(value_after(1, 0ms));
  EXPECT_EQ(made, 2) << "run_until_complete(coro) goes through the factory too";
}

TEST_F(Tasks, ReusingAConsumedCoroIsAnError) {
  Coro<int> c = value_after(1, 0ms);
  Task<int> t = loop.create_task(std::move(c));
  try {
    (void)loop.create_task(std::move(c));  // NOLINT(bugprone-use-after-move): the point of the test
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "cannot reuse already awaited coroutine");
  }
  loop.run_until_complete(t);
}

}  // namespace
}  // namespace aiouv::test
