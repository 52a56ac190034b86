#ifndef AIOUV_TEST_SUPPORT_WHEN_SETTLED_HPP_INCLUDED
#define AIOUV_TEST_SUPPORT_WHEN_SETTLED_HPP_INCLUDED

// when_settled(): the event cancellation tests wait for instead of a short
// timer. On a loaded machine a 1 ms timer can fire before a new task's first
// step, and a task cancelled then never enters its body (asyncio's too), so
// a test that expects the body to see the CancelledError would flake.

#include <functional>
#include <utility>

#include <uv.h>

#include <aiouv/aiouv.hpp>

namespace aiouv::test {

/// Calls `fn` once, the first time `loop` is about to block in poll: every
/// ready callback has run, so every task started so far waits at an await.
inline void when_settled(EventLoop& loop, std::function<void()> fn) {
  struct Watch {
    uv_prepare_t handle;
    std::function<void()> fn;
  };
  auto* watch = new Watch{{}, std::move(fn)};
  uv_prepare_init(loop.native_handle(), &watch->handle);
  watch->handle.data = watch;
  uv_prepare_start(&watch->handle, [](uv_prepare_t* handle) {
    // A zero poll timeout means ready work (an active idle handle) or a due
    // timer remains for this iteration: not settled yet.
    if (uv_backend_timeout(handle->loop) == 0) return;
    auto* fired = static_cast<Watch*>(handle->data);
    uv_prepare_stop(handle);
    uv_close(reinterpret_cast<uv_handle_t*>(handle),
             [](uv_handle_t* closed) { delete static_cast<Watch*>(closed->data); });
    fired->fn();
  });
}

}  // namespace aiouv::test

#endif
