// all_tasks() and close() over many tasks that end in any order: the loop's
// task registry keeps creation order through its ring's end moves and its
// squeezes, and close() still finds every pending task, also those that
// never suspended and so never joined the registry. Also the layout
// promise that makes tasks cheap (a Task<void> state is one cache line) and
// the registry ring shrinking back after a burst.
#include "support/loop_test.hpp"

#include <algorithm>
#include <numeric>

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using AllTasks = LoopTest;

/// "<prefix><i>". (Appending, not `"t" + std::to_string(i)`, which g++ 12
/// at -O2 reports as a bogus -Wrestrict overlap.)
std::string task_name(const std::string& prefix, std::size_t i) {
  std::string name = prefix;
  name += std::to_string(i);
  return name;
}

/// `count` tasks named "<prefix><i>", task i waiting on gates[i].
struct GatedTasks {
  std::vector<Future<void>> gates;
  std::vector<Task<void>> tasks;

  GatedTasks(EventLoop& loop, std::size_t count, const std::string& prefix = "t") {
    auto wait = [](Future<void> gate) -> Coro<void> { co_await gate; };
    for (std::size_t i = 0; i < count; ++i) {
      gates.push_back(loop.create_future<void>());
      tasks.push_back(loop.create_task(wait(gates.back()), task_name(prefix, i)));
    }
  }
};

/// Lets every step that is due run: one loop iteration.
void run_one_iteration(EventLoop& loop) {
  loop.run_until_complete([]() -> Coro<void> { co_await sleep(0ms); }());
}

std::vector<std::string> names_of_all_tasks(EventLoop& loop) {
  std::vector<std::string> names;
  for (const AnyTask& task : all_tasks(&loop)) names.push_back(task.get_name());
  return names;
}

/// Opens the gates in `order`, a few at a time, and checks after each batch
/// that all_tasks() lists exactly the unfinished tasks in creation order.
void end_in_order(EventLoop& loop, const std::vector<std::size_t>& order) {
  const std::size_t count = order.size();
  GatedTasks gated(loop, count);
  run_one_iteration(loop);  // every task now waits on its gate
  std::vector<bool> ended(count, false);
  constexpr std::size_t kBatch = 37;
  for (std::size_t done = 0; done < count;) {
    for (std::size_t k = 0; k < kBatch && done < count; ++k, ++done) {
      gated.gates[order[done]].set_result();
      ended[order[done]] = true;
    }
    run_one_iteration(loop);
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < count; ++i) {
      if (!ended[i]) expected.push_back(task_name("t", i));
    }
    ASSERT_EQ(names_of_all_tasks(loop), expected) << "after " << done << " of " << count << " ended";
  }
  for (const Task<void>& task : gated.tasks) EXPECT_TRUE(task.done());
}

std::vector<std::size_t> identity(std::size_t count) {
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  return order;
}

TEST_F(AllTasks, TasksEndingInCreationOrder) { end_in_order(loop, identity(500)); }

TEST_F(AllTasks, TasksEndingInReverseOrder) {
  std::vector<std::size_t> order = identity(500);
  std::reverse(order.begin(), order.end());
  end_in_order(loop, order);
}

TEST_F(AllTasks, TasksEndingInScatteredOrder) {
  // i * 7919 mod 500 visits every index once (7919 is prime): tasks end in
  // the middle of the ring, enough of them to squeeze it several times.
  std::vector<std::size_t> order(500);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i * 7919 % order.size();
  end_in_order(loop, order);
}

TEST_F(AllTasks, ALongLivedTaskAmongManyShortOnes) {
  // A server's shape: one task lives on while thousands come and go after
  // it, ending out of order, so the registry's oldest entry never moves and
  // only squeezes reclaim the blanks behind it.
  GatedTasks server(loop, 1, "server");
  for (int round = 0; round < 20; ++round) {
    GatedTasks clients(loop, 200, "client");
    run_one_iteration(loop);
    for (std::size_t i = 0; i < clients.gates.size(); i += 2) clients.gates[i].set_result();  // every other one
    run_one_iteration(loop);
    for (std::size_t i = 1; i < clients.gates.size(); i += 2) clients.gates[i].set_result();
    run_one_iteration(loop);
    ASSERT_EQ(names_of_all_tasks(loop), std::vector<std::string>{"server0"}) << "round " << round;
  }
  server.gates[0].set_result();
  run_one_iteration(loop);
  EXPECT_TRUE(all_tasks(&loop).empty());
}

TEST_F(AllTasks, CloseReportsEveryPendingTaskOldestFirst) {
  record_exceptions();
  {
    GatedTasks gated(loop, 300);
    run_one_iteration(loop);
    // End two thirds, scattered, so that close() walks a squeezed ring.
    for (std::size_t i = 0; i < 300; ++i) {
      if (i % 3 != 0) gated.gates[i].set_result();
    }
    run_one_iteration(loop);
  }
  loop.close();
  ASSERT_EQ(reported.size(), 100u);
  for (std::size_t k = 0; k < reported.size(); ++k) {
    EXPECT_EQ(reported[k].message, "Task was destroyed but it is pending!");
    EXPECT_NE(reported[k].object.find("name='" + task_name("t", 3 * k) + "'"), std::string::npos)
        << reported[k].object;
  }
  reported.clear();
}

// A task joins the registry only when it first suspends; the tests below
// cover where all_tasks() and close() find it before that.

TEST_F(AllTasks, TasksWhoseFirstStepIsQueuedAreListed) {
  auto quick = []() -> Coro<void> { co_return; };
  Task<void> a = loop.create_task(quick(), "a");
  Task<void> b = loop.create_task(quick(), "b");
  EXPECT_EQ(names_of_all_tasks(loop), (std::vector<std::string>{"a", "b"}));
  b.cancel();  // still pending until its first step runs
  EXPECT_EQ(names_of_all_tasks(loop), (std::vector<std::string>{"a", "b"}));
  run_one_iteration(loop);
  EXPECT_TRUE(a.done());
  EXPECT_TRUE(b.cancelled());
  EXPECT_TRUE(all_tasks(&loop).empty());
}

TEST_F(AllTasks, AFirstStepSeesItsOwnTaskAndTheQueuedOnes) {
  std::vector<std::string> seen;
  auto look = [](std::vector<std::string>* out) -> Coro<void> {
    for (const AnyTask& task : all_tasks()) out->push_back(task.get_name());
    co_return;
  };
  auto later = []() -> Coro<void> { co_return; };
  Task<void> first = loop.create_task(look(&seen), "first");
  Task<void> second = loop.create_task(later(), "second");
  loop.run_until_complete(second);
  EXPECT_EQ(seen, (std::vector<std::string>{"first", "second"}));
}

TEST_F(AllTasks, AnEagerTaskSeesTheTaskThatMadeItAndCreationOrderHolds) {
  // The child joins the registry before its factory runs, the parent when
  // the eager child starts and the sibling when it suspends: the registry
  // holds child, parent, sibling, but all_tasks() lists them as made.
  std::vector<std::string> seen_by_child;
  Future<void> gate = loop.create_future<void>();
  auto child = [](std::vector<std::string>* out, Future<void> wait) -> Coro<void> {
    for (const AnyTask& task : all_tasks()) out->push_back(task.get_name());
    co_await wait;
  };
  auto parent = [&child](std::vector<std::string>* out, Future<void> wait) -> Coro<void> {
    get_running_loop().set_task_factory(eager_task_factory);
    Task<void> made = create_task(child(out, wait), "child");
    get_running_loop().set_task_factory(nullptr);
    co_await made;
  };
  auto sibling = [](Future<void> wait) -> Coro<void> { co_await wait; };
  Task<void> p = loop.create_task(parent(&seen_by_child, gate), "parent");
  Task<void> s = loop.create_task(sibling(gate), "sibling");
  // One iteration without a driving task of our own, which would be listed.
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(seen_by_child, (std::vector<std::string>{"parent", "sibling", "child"}));
  EXPECT_EQ(names_of_all_tasks(loop), (std::vector<std::string>{"parent", "sibling", "child"}));
  gate.set_result();
  loop.run_until_complete(p);
  loop.run_until_complete(s);
  EXPECT_TRUE(all_tasks(&loop).empty());
}

TEST_F(AllTasks, ATaskFactorySeesTheNewTask) {
  std::vector<std::string> seen;
  loop.set_task_factory([&seen](EventLoop& target, AnyTask&) {
    for (const AnyTask& task : all_tasks(&target)) seen.push_back(task.get_name());
    return TaskStart::soon;
  });
  auto quick = []() -> Coro<void> { co_return; };
  Task<void> a = loop.create_task(quick(), "a");
  Task<void> b = loop.create_task(quick(), "b");
  loop.set_task_factory(nullptr);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "a", "b"}));
  run_one_iteration(loop);
  EXPECT_TRUE(a.done() && b.done());
}

TEST_F(AllTasks, CloseReportsTasksThatNeverRanInCreationOrder) {
  record_exceptions();
  auto quick = []() -> Coro<void> { co_return; };
  Future<void> gate = loop.create_future<void>();
  auto wait = [](Future<void> on) -> Coro<void> { co_await on; };
  {
    // "waits" suspends (joins the registry) before "late" is even made.
    Task<void> early = loop.create_task(quick(), "early");
    early.cancel();  // runs its (body-less) first step and ends
    Task<void> waits = loop.create_task(wait(gate), "waits");
    run_one_iteration(loop);
    (void)loop.create_task(quick(), "late");
    (void)loop.create_task(quick(), "later");
  }
  loop.close();
  ASSERT_EQ(reported.size(), 3u);
  const char* expected[] = {"waits", "late", "later"};
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(reported[k].message, "Task was destroyed but it is pending!");
    EXPECT_NE(reported[k].object.find(std::string("name='") + expected[k] + "'"), std::string::npos)
        << reported[k].object;
  }
  reported.clear();
}

/// Distinct non-null task pointers for driving a TaskRegistry directly;
/// removing from either end never dereferences them.
std::vector<detail::TaskStateBase*> fake_tasks(std::vector<std::uint64_t>& storage) {
  std::vector<detail::TaskStateBase*> tasks;
  for (std::uint64_t& word : storage) tasks.push_back(reinterpret_cast<detail::TaskStateBase*>(&word));
  return tasks;
}

TEST(TaskRegistry, AfterABurstTheRingShrinksBackAndKeepsItsOrder) {
  constexpr std::uint32_t kBurst = 20000;
  std::vector<std::uint64_t> storage(kBurst);
  const std::vector<detail::TaskStateBase*> tasks = fake_tasks(storage);
  for (bool oldest_first : {true, false}) {
    detail::TaskRegistry registry;
    std::vector<std::uint32_t> seqs;
    for (detail::TaskStateBase* task : tasks) seqs.push_back(registry.add(task));
    EXPECT_GE(registry.capacity(), kBurst);
    std::uint32_t widest = registry.capacity();
    for (std::uint32_t removed = 0; removed < kBurst; ++removed) {
      const std::uint32_t index = oldest_first ? removed : kBurst - 1 - removed;
      registry.remove(seqs[index]);
      const std::uint32_t left = kBurst - removed - 1;
      ASSERT_EQ(registry.size(), left);
      // Never more than four times the span once past the size it keeps.
      if (registry.capacity() > detail::TaskRegistry::kKeepCapacity) {
        ASSERT_LE(registry.capacity(), 4 * left) << "after " << removed + 1 << " removals";
      }
      widest = std::max(widest, registry.capacity());
      if (left > 0) {
        ASSERT_EQ(registry.first(), tasks[oldest_first ? removed + 1 : 0]);
      }
    }
    EXPECT_EQ(widest, 32768u);  // it never grew while shrinking
    EXPECT_EQ(registry.capacity(), detail::TaskRegistry::kKeepCapacity);
    EXPECT_EQ(registry.first(), nullptr);
  }
}

TEST(TaskRegistry, AShrunkRingStillListsEveryTaskInOrder) {
  // 10000 registered, the oldest 9000 removed: the ring shrinks under the
  // newest 1000, which keep their sequence numbers.
  std::vector<std::uint64_t> storage(10000);
  const std::vector<detail::TaskStateBase*> tasks = fake_tasks(storage);
  detail::TaskRegistry registry;
  std::vector<std::uint32_t> seqs;
  for (detail::TaskStateBase* task : tasks) seqs.push_back(registry.add(task));
  for (std::size_t i = 0; i < 9000; ++i) registry.remove(seqs[i]);
  EXPECT_EQ(registry.capacity(), detail::TaskRegistry::kKeepCapacity);
  std::vector<detail::TaskStateBase*> listed;
  registry.for_each([&listed](detail::TaskStateBase* task) { listed.push_back(task); });
  EXPECT_EQ(listed, std::vector<detail::TaskStateBase*>(tasks.begin() + 9000, tasks.end()));
  // And it grows again as usual.
  for (std::size_t i = 0; i < 5000; ++i) seqs.push_back(registry.add(tasks[i]));
  EXPECT_EQ(registry.size(), 6000u);
  EXPECT_EQ(registry.capacity(), 8192u);
  EXPECT_EQ(registry.first(), tasks[9000]);
}

TEST_F(AllTasks, ABurstOfTasksAroundALongLivedOneEndsInAnyOrder) {
  // Real tasks: thousands join behind a long-lived one and end scattered,
  // so squeezes and shrinks of the registry interleave; the long-lived one
  // is listed throughout and close() finds nothing left.
  GatedTasks server(loop, 1, "server");
  GatedTasks burst(loop, 6000, "burst");
  run_one_iteration(loop);
  EXPECT_EQ(all_tasks(&loop).size(), 6001u);
  for (std::size_t k = 0; k < burst.gates.size(); ++k) burst.gates[k * 7919 % burst.gates.size()].set_result();
  run_one_iteration(loop);
  ASSERT_EQ(names_of_all_tasks(loop), std::vector<std::string>{"server0"});
  GatedTasks after(loop, 3, "after");
  run_one_iteration(loop);
  EXPECT_EQ(names_of_all_tasks(loop), (std::vector<std::string>{"server0", "after0", "after1", "after2"}));
  for (Future<void>& gate : after.gates) gate.set_result();
  server.gates[0].set_result();
  run_one_iteration(loop);
  EXPECT_TRUE(all_tasks(&loop).empty());
}

TEST_F(AllTasks, AVoidTaskStateIsOneCacheLine) {
  // What makes create_task cheap with many tasks in flight (see the README's
  // benchmark notes): names, cancel state and exceptions live elsewhere.
  if constexpr (sizeof(void*) == 8) {
    EXPECT_EQ(sizeof(detail::TaskState<void, Coro<void>::promise_type>), 64u);
    EXPECT_EQ(sizeof(detail::FutureState<void>), 40u);
  }
}

TEST_F(AllTasks, DoneCallbackIdsAreUniqueAcrossFutures) {
  // Ids count per loop, so an id kept from one future never removes a
  // callback of another.
  Future<void> a = loop.create_future<void>();
  Future<void> b = loop.create_future<void>();
  int calls = 0;
  const std::uint64_t id_a = a.add_done_callback([&] { ++calls; });
  const std::uint64_t id_b = b.add_done_callback([&] { ++calls; });
  EXPECT_NE(id_a, id_b);
  EXPECT_EQ(b.remove_done_callback(id_a), 0u);
  EXPECT_EQ(a.remove_done_callback(id_a), 1u);
  a.set_result();
  b.set_result();
  run_one_iteration(loop);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace aiouv::test
