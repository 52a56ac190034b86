// The callable behind every queued callback: inline storage, moves, cleanup.
#include <gtest/gtest.h>

#include <memory>

#include <aiouv/detail/small_function.hpp>

namespace aiouv::test {
namespace {

using detail::SmallFunction;

struct Counted {
  static inline int alive = 0;
  Counted() { ++alive; }
  Counted(const Counted&) { ++alive; }
  Counted(Counted&&) noexcept { ++alive; }
  ~Counted() { --alive; }
};

TEST(SmallFunction, ThreePointerCallablesAreStoredInline) {
  struct ThreePointers {
    void* a;
    void* b;
    void* c;
    void operator()() {}
  };
  static_assert(SmallFunction<void()>::fits_inline<ThreePointers>);
  struct FourPointers {
    void* a[4];
    void operator()() {}
  };
  static_assert(!SmallFunction<void()>::fits_inline<FourPointers>);
}

TEST(SmallFunction, InvokesWithArgumentsAndReturns) {
  SmallFunction<int(int, int)> add = [](int a, int b) { return a + b; };
  EXPECT_EQ(add(2, 3), 5);
}

TEST(SmallFunction, MoveTransfersAndResetDestroys) {
  Counted::alive = 0;
  {
    SmallFunction<void()> f = [c = Counted()] { (void)c; };
    EXPECT_EQ(Counted::alive, 1);
    SmallFunction<void()> g = std::move(f);
    EXPECT_FALSE(f);  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(g);
    EXPECT_EQ(Counted::alive, 1);
    g.reset();
    EXPECT_EQ(Counted::alive, 0);
    EXPECT_FALSE(g);
  }
  EXPECT_EQ(Counted::alive, 0);
}

TEST(SmallFunction, LargeCallablesUseTheHeapAndAreFreed) {
  Counted::alive = 0;
  {
    std::array<char, 128> pad{};
    pad[5] = 9;
    SmallFunction<int()> f = [pad, c = Counted()] { return pad[5]; };
    SmallFunction<int()> g = std::move(f);
    EXPECT_EQ(g(), 9);
    EXPECT_EQ(Counted::alive, 1);
    f = std::move(g);
    EXPECT_EQ(f(), 9);
  }
  EXPECT_EQ(Counted::alive, 0);
}

TEST(SmallFunction, MoveOnlyCaptures) {
  auto p = std::make_unique<int>(11);
  SmallFunction<int()> f = [p = std::move(p)] { return *p; };
  SmallFunction<int()> g;
  g = std::move(f);
  EXPECT_EQ(g(), 11);
}

}  // namespace
}  // namespace aiouv::test
