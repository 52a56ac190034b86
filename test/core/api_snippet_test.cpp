// The example of ../shared/API.md ("Core types"), verbatim but for main():
// the contract says every snippet there compiles and behaves as described.
#include <gtest/gtest.h>

#include <aiouv/aiouv.hpp>
using namespace std::chrono_literals;

namespace {

aiouv::Coro<int> answer() { co_await aiouv::sleep(10ms); co_return 42; }

aiouv::Coro<void> say_hello() {
  co_await aiouv::sleep(1s);
  std::puts("Hello, World!");
}

aiouv::Coro<int> main_coro() {
  aiouv::Task<void> t1 = aiouv::create_task(say_hello());
  aiouv::Task<void> t2 = aiouv::create_task(say_hello(), "second");
  co_await t1;
  co_await t2;                       // both finish after ~1 s, not 2 s
  int x = co_await answer();         // inline, no task
  co_return x;
}

int api_main() {
  aiouv::EventLoop loop;
  int x = loop.run_until_complete(main_coro());   // 42
  loop.close();
  return aiouv::run(main_coro()) == x ? 0 : 1;    // asyncio.run equivalent
}

TEST(ApiSnippet, CoreTypesExampleRunsAsDescribed) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(api_main(), 0);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 2s) << "two runs of ~1 s each";
  EXPECT_LT(took, 3800ms) << "the two sleeps of each run overlap";
}

}  // namespace
