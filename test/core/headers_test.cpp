// Links the generated one-header translation units: each public header
// compiles on its own, and twice in one program without ODR errors.
#include <gtest/gtest.h>

#include <aiouv/aiouv.hpp>

TEST(Headers, UmbrellaHeaderGivesTheWholeApi) {
  static_assert(std::is_class_v<aiouv::EventLoop>);
  static_assert(std::is_class_v<aiouv::Future<int>>);
  static_assert(std::is_class_v<aiouv::Task<void>>);
  static_assert(std::is_class_v<aiouv::Coro<int>>);
  static_assert(std::is_class_v<aiouv::Runner>);
  SUCCEED();
}
