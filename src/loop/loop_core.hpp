#ifndef AIOUV_SRC_LOOP_LOOP_CORE_HPP_INCLUDED
#define AIOUV_SRC_LOOP_LOOP_CORE_HPP_INCLUDED

#include <uv.h>

#include <aiouv/events.hpp>

namespace aiouv::detail {

/// The libuv handles behind an EventLoop, in one heap block that outlives
/// the EventLoop if need be: libuv owns a handle's memory from uv_close
/// until its close callback, so the block frees itself in the last one.
///
///  - idle: active only while the ready queue is not empty, which makes
///    libuv poll with a zero timeout (and keeps a host's uv_run going).
///    Work queued by a read callback in the poll phase does without it:
///    the check handle is next anyway (see drain_after_poll()).
///  - check: drains the ready queue once per iteration, right after libuv
///    polled for I/O, as asyncio's _run_once runs its ready callbacks right
///    after select(): a callback scheduled by an I/O callback (a task woken
///    by data_received) runs in the same iteration, not one poll later.
///    Always active, unreferenced: it never keeps the loop alive itself.
///  - timer: fires at the earliest aiouv deadline; stopped when none.
///  - wakeup: uv_async_t for call_soon_threadsafe; unreferenced except
///    during run_forever, so it never keeps a host's uv_run alive.
/// For libuv callbacks made in the poll phase (a read, on Unix): the
/// check handle runs right after poll, in the same iteration, and will
/// drain what the callback queues, so enqueueing needs no idle handle to
/// keep poll from blocking. Saves a uv_idle_start/uv_idle_stop pair per
/// wake-up, the biggest single cost of a request in streams mode. Never
/// call it from anywhere else: work queued outside the poll phase would
/// wait for the next I/O event.
inline void drain_after_poll(EventLoop& loop) noexcept {
#ifndef _WIN32  // Windows runs read callbacks before its poll phase
  loop.drain_ |= EventLoop::kCheckDrains;
#else
  (void)loop;
#endif
}

class LoopCore {
 public:
  /// Opens the handles on `loop`; std::system_error if libuv refuses.
  static LoopCore* create(EventLoop& owner, uv_loop_t* loop);
  LoopCore(const LoopCore&) = delete;
  LoopCore& operator=(const LoopCore&) = delete;

  /// Closes all handles; the block deletes itself once libuv is done, and
  /// tells the owner (unless detach() was called) so it can stop waiting.
  void close() noexcept;
  /// The owner is going away before the close callbacks ran.
  void detach() noexcept { owner_ = nullptr; }
  int open_handles() const noexcept { return open_handles_; }

  uv_idle_t idle;
  uv_check_t check;
  uv_timer_t timer;
  uv_async_t wakeup;

  static void on_idle(uv_idle_t* handle);
  static void on_check(uv_check_t* handle);
  static void on_timer(uv_timer_t* handle);

 private:
  explicit LoopCore(EventLoop& owner) noexcept : owner_(&owner) {}
  ~LoopCore() = default;
  int init(uv_loop_t* loop);
  static void on_wakeup(uv_async_t* handle);
  static void on_closed(uv_handle_t* handle);

  EventLoop* owner_;
  int open_handles_ = 0;
};

}  // namespace aiouv::detail

#endif
