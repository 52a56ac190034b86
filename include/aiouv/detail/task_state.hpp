#ifndef AIOUV_DETAIL_TASK_STATE_HPP_INCLUDED
#define AIOUV_DETAIL_TASK_STATE_HPP_INCLUDED

#include <coroutine>
#include <cstdint>

#include <aiouv/detail/coro_promise.hpp>
#include <aiouv/detail/future_state.hpp>

namespace aiouv::detail {

/// Task names count per thread ("Task-N").
extern thread_local constinit std::uint32_t task_counter;

/// asyncio.Task minus the value type.
///
/// Invariant (as in CPython's tasks.py, where kWaiting is `_fut_waiter is
/// not None`): while the task is pending, either it is kWaiting on a future
/// and no step is scheduled, or it is not and exactly one step is scheduled
/// or running. A pending task holds a reference to itself from birth, so
/// dropping every Task handle does not destroy it (fire and forget is
/// safe); finishing releases it, and so does abandon() for a task that
/// never starts.
///
/// Layout: the state of a Task<void> is one 64-byte cache line (a test
/// checks it). Names, cancel messages, cancel counts and exceptions live in
/// FutureExtras, made on first use; the flags share a byte of the base; and
/// a waiting task keeps only a pointer to its TaskWaiter, which knows both
/// the future and the coroutine to resume.
///
/// The loop's TaskRegistry (all_tasks, close) holds a task from its first
/// suspension on, not from its creation: most fire-and-forget tasks finish
/// within their first step and never cost the registry a store. Until then
/// the loop finds the task elsewhere: its first step waits in the ready
/// queue as a TaskStep, or it is the current task (or the parent of an
/// eager one, which joins when the child starts).
class TaskStateBase : public FutureStateBase {
 public:
  // Inline (detail/state_lifetime.hpp): every create_task runs both.
  inline TaskStateBase(EventLoop& loop, void* slot, std::coroutine_handle<> root, CoroPromiseBase& promise) noexcept;
  inline ~TaskStateBase() override;

  bool cancel(std::string_view message) override;
  std::uint32_t cancelling() const noexcept {
    const FutureExtras* extras = extras_if_any();
    return extras ? extras->cancels_requested : 0;
  }
  std::uint32_t uncancel() noexcept;

  std::string name() const;
  void set_name(std::string name);
  std::string repr() const override;

  /// Schedules the first step (asyncio's default) or runs it now (eager).
  /// start_soon's caller has checked that the loop is open.
  inline void start_soon();
  void start_eager();
  /// For a task that will never start (its factory threw): drops its
  /// reference to itself, so that the last handle frees it and its frame.
  inline void abandon() noexcept;

  /// One asyncio `__step`: resumes the suspended coroutine. Every case,
  /// out of line; run_step() is the common one inline.
  void step();
  /// step() with its common cases inline (TaskStep calls it): a step that
  /// delivers no cancellation (a first step, a wake-up). Debug mode does not
  /// come here: its drain calls step() for a TaskStep.
  inline void run_step();

  /// Called by awaiters from await_suspend: park `leaf` until `future` is
  /// done. `waiter` lives in the awaiter and must stay put until woken.
  void suspend_on(FutureStateBase& future, TaskWaiter& waiter, std::coroutine_handle<> leaf);
  /// Park `leaf` for exactly one loop iteration (sleep(0)).
  void suspend_yield(std::coroutine_handle<> leaf);
  /// Called by awaiters from await_resume: throws CancelledError if this step
  /// was scheduled to deliver a cancellation.
  void throw_if_cancelled_on_resume() {
    if (flag(kCancelOnResume)) [[unlikely]] throw_cancel_on_resume();
  }

  /// Loop close: destroys the frame of a task that never finished and
  /// reports "Task was destroyed but it is pending!".
  void destroy_pending();

  /// Enters the loop's TaskRegistry unless it is there already. Throws
  /// only bad_alloc (growing the registry).
  inline void join_registry();
  /// Where the loop's TaskRegistry keeps this task (it renumbers tasks);
  /// meaningful while kRegistered is set.
  std::uint32_t registry_seq;
  /// How many tasks this thread made after this one: sorting by it, oldest
  /// first, gives creation order (for tasks made in the last 2^32).
  std::uint32_t age() const noexcept { return task_counter - number_; }

 protected:
  /// Moves the root coroutine's value into the slot; returns its exception
  /// instead if it failed.
  virtual std::exception_ptr take_root_result(std::coroutine_handle<> root) = 0;

  /// Publishes how the root coroutine ended (value, exception or
  /// cancellation), schedules the done callbacks and drops the self
  /// reference, which may delete this.
  void complete();
  /// True if nothing but the task's own reference could ever see it finish
  /// and no member owns anything: no handle, no done callback, no
  /// cancellation pending, no extras (name, cancel count, exception), no
  /// future waited on. Most fire-and-forget tasks end this way.
  ///
  /// Only asked as the root ends, inside the task's own step: every resume
  /// of a task's coroutines happens in step() or run_step(), which clear
  /// kWaiting and make the task current first, and a task holds itself
  /// (kHoldsSelf) until that step completes it. No flag needs a look: a
  /// cancellation requested meanwhile (kMustCancel) counted itself in the
  /// extras, which tasks never give back.
  bool unobserved_at_root_end() const noexcept { return sole_reference_without_callbacks() && !extras_if_any(); }
  /// Destroys the root coroutine's frame and leaves all_tasks: the end of
  /// every observed task that ran or was cancelled before its first step.
  inline void drop_root_frame() noexcept;
  /// The unobserved end: leaves all_tasks and the leak ledger as the
  /// destructors would, and tells step() that this task is gone by clearing
  /// the current task. The caller frees the storage; the finished root
  /// frame destroys itself afterwards.
  inline void leave_loop_unseen() noexcept;

 private:
  void complete_with_error(const std::exception_ptr& error);
  inline void release_self() noexcept;
  inline void leave_registry() noexcept;
  void remove_from_registry() noexcept;
  [[noreturn]] void throw_cancel_on_resume();

  /// The coroutine the next step resumes.
  std::coroutine_handle<> leaf() const noexcept {
    return flag(kWaiting) ? waiter_->leaf : std::coroutine_handle<>::from_address(leaf_address_);
  }
  /// The future waited on, or null.
  FutureStateBase* awaited_future() const noexcept { return flag(kWaiting) ? waiter_->future : nullptr; }

  std::uint32_t number_;  // "Task-N"
  void* root_address_;    // the root coroutine's frame; null once destroyed
  union {
    void* leaf_address_;  // not kWaiting: the innermost suspended coroutine
    TaskWaiter* waiter_;  // kWaiting: it knows that coroutine and the future
  };
};

/// The callable that queues a task's step. all_tasks() and close() look for
/// it in the ready queue: one for a task not in the registry is its first.
struct TaskStep {
  TaskStateBase* task;
  inline void operator()() const;  // detail/state_lifetime.hpp: run_step()
};

/// The TaskWaiter an awaiter embeds: unlinks itself if its frame is
/// destroyed while still waiting (a pending task destroyed at close()).
class ScopedWaiter : public TaskWaiter {
 public:
  ScopedWaiter() noexcept = default;
  ScopedWaiter(const ScopedWaiter&) = delete;
  ScopedWaiter& operator=(const ScopedWaiter&) = delete;
  ~ScopedWaiter() {
    if (linked && future) future->remove_waiter(*this);
  }
};

/// A task state for Coro<T>::promise_type (P) producing T.
template <class T, class Promise>
class TaskState final : public TaskStateBase {
 public:
  TaskState(EventLoop& loop, std::coroutine_handle<Promise> root)
      : TaskStateBase(loop, &slot_, root, root.promise()) {}
  // Takes no room for void: a Task<void> state is one cache line.
  [[no_unique_address]] ResultSlot<T> slot_;
  static_assert(alignof(ResultSlot<T>) <= 128, "the slot must lie within 256 bytes of the state");

  /// Called by the final_suspend() of a root that did not fail (through
  /// the free end_unobserved_root below), before its frame goes away, in
  /// the task's own step. If nobody can see how the task ends
  /// (unobserved_at_root_end()), the task frees itself, clears the loop's
  /// current task so that step() knows, and returns true: the frame then
  /// destroys itself. Otherwise false, and step() publishes the result as
  /// usual (complete()).
  bool end_unobserved_root() noexcept {
    if (!unobserved_at_root_end()) return false;
    // Nobody can read the result: skip publishing it and free at once. The
    // frame (with the value, if any) destroys itself when we return, which
    // saves step() a trip through it. Every member is empty (no waiter,
    // extras or callback; an unread slot; the frame is the caller's), so
    // the destructors would only test them. An object's lifetime may end
    // without its destructor when nothing depends on what it does: settle
    // the books and hand the storage straight back to the pool.
    leave_loop_unseen();
    PoolAllocated::free_storage(this);
    return true;
  }

 private:
  std::exception_ptr take_root_result(std::coroutine_handle<> root) override {
    Promise& promise = std::coroutine_handle<Promise>::from_address(root.address()).promise();
    if (auto error = promise.take_error()) [[unlikely]] return error;
    if constexpr (!std::is_void_v<T>) slot_.value.emplace(promise.take());
    return nullptr;
  }
};

template <class Promise>
inline bool end_unobserved_root(Promise& promise) noexcept {
  // Only a task's root has a task and no coroutine to resume (a root that
  // failed has forgotten its task: see forget_task_if_root()), and the task
  // create_task made for a root with this promise type is this TaskState
  // (no virtual call on the way out of every task).
  if (!promise.task || promise.continuation) return false;
  using State = TaskState<typename Promise::value_type, Promise>;
  return static_cast<State*>(promise.task)->end_unobserved_root();
}

}  // namespace aiouv::detail

#endif
