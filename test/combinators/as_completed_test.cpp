// as_completed(): results in completion order, failures where they fall,
// timeout for the rest.
#include "support/coro_helpers.hpp"
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using AsCompleted = LoopTest;


TEST_F(AsCompleted, YieldsInCompletionOrder) {
  auto main = [&]() -> Coro<std::vector<int>> {
    // Each timer is armed against a fresh clock reading, one task's first
    // step after another: the gaps are wide enough that a stalled machine
    // between two of those steps cannot reorder the deadlines.
    std::vector<Task<int>> tasks{create_task(value_after(1, 200ms)), create_task(value_after(2, 1ms)),
                                 create_task(value_after(3, 100ms))};
    std::vector<int> order;
    for (Coro<int>& next : as_completed(tasks)) order.push_back(co_await next);
    co_return order;
  };
  EXPECT_EQ(loop.run_until_complete(main()), (std::vector<int>{2, 3, 1}));
}

TEST_F(AsCompleted, AFailureIsThrownByItsOwnAwaitable) {
  auto failing = []() -> Coro<int> {
    co_await sleep(1ms);
    throw std::runtime_error("first to finish");
  };
  auto main = [&]() -> Coro<std::vector<std::string>> {
    std::vector<Task<int>> tasks{create_task(value_after(5, 100ms)), create_task(failing())};
    std::vector<std::string> seen;
    for (Coro<int>& next : as_completed(tasks)) {
      try {
        seen.push_back(std::to_string(co_await next));
      } catch (const std::runtime_error& e) {
        seen.push_back(e.what());
      }
    }
    co_return seen;
  };
  EXPECT_EQ(loop.run_until_complete(main()), (std::vector<std::string>{"first to finish", "5"}));
}

TEST_F(AsCompleted, TimeoutFailsTheRestWithoutCancelling) {
  std::vector<Task<int>> tasks;
  auto main = [&]() -> Coro<std::vector<std::string>> {
    // The first is done before as_completed starts, and the deadline is
    // far: only one loop iteration separates its result from the caller.
    tasks = {create_task(value_after(1, 0ms)), create_task(value_after(2, 1h))};
    co_await tasks[0];
    std::vector<std::string> seen;
    for (Coro<int>& next : as_completed(tasks, 100ms)) {
      try {
        seen.push_back(std::to_string(co_await next));
      } catch (const TimeoutError&) {
        seen.push_back("timeout");
      }
    }
    co_return seen;
  };
  EXPECT_EQ(loop.run_until_complete(main()), (std::vector<std::string>{"1", "timeout"}));
  EXPECT_FALSE(tasks[1].done());
  tasks[1].cancel();
  EXPECT_THROW(loop.run_until_complete(tasks[1]), CancelledError);
}

TEST_F(AsCompleted, EmptyGivesNothing) {
  EXPECT_TRUE(as_completed(std::vector<Task<int>>{}).empty());
}

}  // namespace
}  // namespace aiouv::test
