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
    : loop_(&loop),
      // A task holds a reference to itself from birth (see TaskStateBase).
      refs_(is_task ? 1 : 0),
      slot_offset_(static_cast<std::uint8_t>(static_cast<char*>(slot) - reinterpret_cast<char*>(this))),
      flags_(is_task ? kIsTask | kHoldsSelf : 0) {
  // A task counts in live_tasks_ only (one counter to keep, not two).
  if (!is_task) ++loop.live_futures_;
}

inline TaskStateBase::TaskStateBase(EventLoop& loop, void* slot, std::coroutine_handle<> root,
                                    CoroPromiseBase& promise) noexcept
    : FutureStateBase(loop, slot, true),
      number_(++task_counter),
      root_address_(root.address()),
      leaf_address_(root.address()) {
  // Not in the registry yet: see join_registry().
  ++loop.live_tasks_;
  promise.task = this;
}

inline TaskStateBase::~TaskStateBase() {
  report_unretrieved_exception();
  // Only a task that never started still has its frame: every other path
  // that drops the frame also leaves the registry (drop_root_frame,
  // destroy_pending).
  if (root_address_) [[unlikely]] {
    std::coroutine_handle<>::from_address(root_address_).destroy();
    leave_registry();
  }
  --loop().live_tasks_;
}

// Joining costs a store into the loop's ring (no allocation once the ring
// has grown to the number of tasks in flight).
inline void TaskStateBase::join_registry() {
  if (flag(kRegistered)) return;
  registry_seq = loop().tasks_.add(this);
  set_flag(kRegistered);
}

// A task leaves the registry once, for good.
inline void TaskStateBase::leave_registry() noexcept {
  if (flag(kRegistered)) remove_from_registry();
}

inline void TaskStateBase::release_self() noexcept {
  if (flag(kHoldsSelf)) {
    clear_flag(kHoldsSelf);
    release();
  }
}

inline void TaskStateBase::abandon() noexcept { release_self(); }

inline void TaskStateBase::drop_root_frame() noexcept {
  std::coroutine_handle<>::from_address(std::exchange(root_address_, nullptr)).destroy();
  leave_registry();
}

inline void TaskStateBase::leave_loop_unseen() noexcept {
  leave_registry();
  EventLoop& owner = loop();
  owner.current_task_ = nullptr;
  --owner.live_tasks_;
}

inline void TaskStateBase::run_step() {
  EventLoop& owner = loop();
  if (done()) [[unlikely]] {
    step();
    return;
  }
  // What step() does in these cases, without the call.
  std::coroutine_handle<> leaf;
  if (flags_are(kMustCancel | kWaiting, 0)) [[likely]] {
    // A first step, or the one after sleep(0).
    leaf = std::coroutine_handle<>::from_address(leaf_address_);
  } else if (flags_are(kMustCancel | kWaiting, kWaiting)) {
    // Woken by the future it waited on (asyncio: self._fut_waiter = None).
    leaf = waiter_->leaf;
    clear_flag(kWaiting);
  } else {
    step();  // a cancellation to deliver
    return;
  }
  owner.current_task_ = this;
  leaf.resume();
  // As in step(): an unobserved root has freed this task already.
  if (!owner.current_task_) return;
  owner.current_task_ = nullptr;
  if (std::coroutine_handle<>::from_address(root_address_).done()) complete();
}

inline void TaskStep::operator()() const { task->run_step(); }

inline void TaskStateBase::start_soon() {
  // A raw pointer is enough: the self reference keeps us alive until the
  // step that completes us, and close() drops queued steps before it
  // destroys pending tasks. Every caller has checked that the loop is open.
  try {
    loop().enqueue_checked(TaskStep{this});
  } catch (...) {
    abandon();  // bad_alloc growing the queue: the task never starts
    throw;
  }
}

}  // namespace aiouv::detail

#endif
