#ifndef AIOUV_DETAIL_STATE_LIFETIME_HPP_INCLUDED
#define AIOUV_DETAIL_STATE_LIFETIME_HPP_INCLUDED

// The constructors of future and task states, the task's destructor, its
// first scheduling, its all_tasks links and the release of its self
// reference. They are inline because every create_task runs each of them
// once, and they live here because they touch the loop (its ledger, its
// task list, its ready queue), so they need the complete EventLoop
// (events.hpp includes this file after defining it). The future's
// destructor stays in future_state.cpp: the vtable of every FutureState<T>
// needs it, even where only futures.hpp is included.

#include <aiouv/detail/future_state.hpp>
#include <aiouv/detail/task_state.hpp>

namespace aiouv::detail {

inline FutureStateBase::FutureStateBase(EventLoop& loop, void* slot, bool is_task) noexcept
    : loop_(&loop), slot_(slot), is_task_(is_task) {
  // A task counts in live_tasks_ only (one counter to keep, not two).
  if (!is_task) ++loop.live_futures_;
}

inline TaskStateBase::TaskStateBase(EventLoop& loop, void* slot, std::coroutine_handle<> root,
                                    CoroPromiseBase& promise)
    : FutureStateBase(loop, slot, true), root_(root), leaf_(root), number_(++task_counter) {
  promise.task = this;
  link_into_loop();
}

inline TaskStateBase::~TaskStateBase() {
  report_unretrieved_exception();
  // Only a task that never started still has its frame, and is still in
  // all_tasks: every path that drops the frame also unlinks
  // (drop_root_frame, destroy_pending).
  if (root_) [[unlikely]] {
    root_.destroy();
    unlink_from_loop();
  }
  --loop().live_tasks_;
}

// all_tasks() is an intrusive list through the task states, so registering
// costs two pointer writes and no allocation.
inline void TaskStateBase::link_into_loop() noexcept {
  EventLoop& owner = loop();
  next_task = owner.tasks_head_;
  if (next_task) next_task->prev_task = this;
  owner.tasks_head_ = this;
  ++owner.live_tasks_;
}

inline void TaskStateBase::unlink_from_loop() noexcept {
  // Read both links first: the stores below could alias them otherwise.
  TaskStateBase* const prev = prev_task;
  TaskStateBase* const next = next_task;
  if (prev) {
    prev->next_task = next;
  } else {
    loop().tasks_head_ = next;
  }
  if (next) next->prev_task = prev;
  // prev_task and next_task keep stale values: a task leaves all_tasks once,
  // for good, and nothing reads them after.
}

inline void TaskStateBase::release_self() noexcept {
  if (holds_self_) {
    holds_self_ = false;
    release();
  }
}

inline void TaskStateBase::drop_root_frame() noexcept {
  std::exchange(root_, nullptr).destroy();
  unlink_from_loop();
}

inline void TaskStateBase::leave_loop_at_end() noexcept {
  root_ = nullptr;
  unlink_from_loop();
  loop().current_task_ = nullptr;
}

inline bool TaskStateBase::in_own_step() const noexcept { return loop().current_task_ == this; }

inline void TaskStateBase::forget_in_ledger() noexcept {
  EventLoop& owner = loop();
  --owner.live_tasks_;
}

inline void TaskStateBase::start_soon() {
  add_ref();
  holds_self_ = true;
  // A raw pointer is enough: the self reference keeps us alive until the
  // step that completes us, and close() drops queued steps before it
  // destroys pending tasks. Every caller has checked that the loop is open.
  loop().enqueue_checked([this] { step(); });
}

}  // namespace aiouv::detail

#endif
