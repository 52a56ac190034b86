// all_tasks() and close() over many tasks that end in any order: the loop's
// task registry keeps creation order through its ring's end moves and its
// squeezes, and close() still finds every pending task. Also the layout
// promise that makes tasks cheap: a Task<void> state is one cache line.
#include "support/loop_test.hpp"

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
