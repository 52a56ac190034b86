// wait(): FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, timeout.
#include "support/coro_helpers.hpp"
#include "support/loop_test.hpp"
#include "support/when_settled.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Wait = LoopTest;


Coro<int> fail_after(std::chrono::milliseconds d) {
  co_await sleep(d);
  throw std::runtime_error("failed");
}

TEST_F(Wait, AllCompleted) {
  auto main = [&]() -> Coro<void> {
    std::vector<Task<int>> tasks{create_task(value_after(1, 2ms)), create_task(value_after(2, 1ms))};
    auto [done, pending] = co_await wait(tasks);
    EXPECT_EQ(done.size(), 2u);
    EXPECT_TRUE(pending.empty());
    EXPECT_EQ(done[0].result(), 1) << "input order is kept";
  };
  loop.run_until_complete(main());
}

TEST_F(Wait, FirstCompleted) {
  std::vector<Task<int>> tasks;
  auto main = [&]() -> Coro<void> {
    tasks = {create_task(value_after(1, 50ms)), create_task(value_after(2, 1ms))};
    auto [done, pending] = co_await wait(tasks, FIRST_COMPLETED);
    EXPECT_EQ(done.size(), 1u);
    EXPECT_EQ(pending.size(), 1u);
    EXPECT_EQ(done[0].result(), 2);
    EXPECT_FALSE(pending[0].done()) << "nothing is cancelled";
  };
  loop.run_until_complete(main());
  loop.run_until_complete(tasks[0]);
}

TEST_F(Wait, FirstExceptionStopsAtTheFirstFailure) {
  std::vector<Task<int>> tasks;
  auto main = [&]() -> Coro<void> {
    tasks = {create_task(value_after(1, 1ms)), create_task(fail_after(3ms)), create_task(value_after(3, 1h))};
    auto [done, pending] = co_await wait(tasks, FIRST_EXCEPTION);
    EXPECT_EQ(done.size(), 2u);
    EXPECT_EQ(pending.size(), 1u);
    EXPECT_EQ(what_of(done[1].exception()), "failed");
  };
  loop.run_until_complete(main());
  tasks[2].cancel();
  EXPECT_THROW(loop.run_until_complete(tasks[2]), CancelledError);
}

TEST_F(Wait, FirstExceptionWithoutFailuresWaitsForAll) {
  auto main = [&]() -> Coro<std::size_t> {
    std::vector<Task<int>> tasks{create_task(value_after(1, 1ms)), create_task(value_after(2, 2ms))};
    auto result = co_await wait(tasks, FIRST_EXCEPTION);
    co_return result.done.size();
  };
  EXPECT_EQ(loop.run_until_complete(main()), 2u);
}

TEST_F(Wait, TimeoutReturnsWhatIsDoneAndCancelsNothing) {
  std::vector<Task<int>> tasks;
  auto main = [&]() -> Coro<void> {
    // The first is done before the wait starts: a finish racing the 20 ms
    // deadline would make the test depend on the machine's load.
    tasks = {create_task(value_after(1, 0ms)), create_task(value_after(2, 1h))};
    co_await tasks[0];
    auto [done, pending] = co_await wait(tasks, ALL_COMPLETED, 20ms);
    EXPECT_EQ(done.size(), 1u);
    EXPECT_EQ(pending.size(), 1u);
  };
  loop.run_until_complete(main());
  EXPECT_FALSE(tasks[1].done());
  tasks[1].cancel();
  EXPECT_THROW(loop.run_until_complete(tasks[1]), CancelledError);
  EXPECT_EQ(loop.counters().callback_handles, 0u);
}

TEST_F(Wait, EmptyIsAnError) {
  auto main = [&]() -> Coro<std::string> {
    try {
      co_await wait(std::vector<Task<int>>{});
    } catch (const std::invalid_argument& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_EQ(loop.run_until_complete(main()), "Set of Tasks/Futures is empty.");
}

TEST_F(Wait, CancellingTheWaiterLeavesTheFuturesAlone) {
  std::vector<Task<int>> tasks;
  auto main = [&]() -> Coro<void> {
    tasks = {create_task(value_after(1, 10ms))};
    co_await wait(tasks);
  };
  Task<void> t = loop.create_task(main());
  when_settled(loop, [&] { t.cancel(); });
  EXPECT_THROW(loop.run_until_complete(t), CancelledError);
  EXPECT_EQ(loop.run_until_complete(tasks[0]), 1);
}

}  // namespace
}  // namespace aiouv::test
