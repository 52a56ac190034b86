#ifndef AIOUV_TEST_SUPPORT_CORO_HELPERS_HPP_INCLUDED
#define AIOUV_TEST_SUPPORT_CORO_HELPERS_HPP_INCLUDED

// Small coroutines the combinator tests share.

#include <chrono>

#include <aiouv/aiouv.hpp>

namespace aiouv::test {

/// Returns `v` after `d`.
inline Coro<int> value_after(int v, std::chrono::milliseconds d) {
  co_await sleep(d);
  co_return v;
}

}  // namespace aiouv::test

#endif
