// asyncio.Task's step machine.
#include <aiouv/events.hpp>

#include "describe.hpp"


namespace aiouv::detail {

// asyncio's _task_name_counter is process-wide; per thread is enough for
// names (each loop sees Task-1, Task-2, ... in creation order) and keeps an
// atomic off the create_task path.
thread_local constinit std::uint32_t task_counter = 0;

std::uint32_t TaskStateBase::uncancel() noexcept {
  if (cancelling() == 0) return 0;
  // cancelling() > 0: the extras exist.
  const std::uint32_t left = --extras().cancels_requested;
  if (left == 0) clear_flag(kMustCancel);
  return left;
}

std::string TaskStateBase::name() const {
  const FutureExtras* extras = extras_if_any();
  return extras && extras->name ? *extras->name : "Task-" + std::to_string(number_);
}

void TaskStateBase::set_name(std::string name) { extras().name = std::move(name); }

std::string TaskStateBase::repr() const {
  std::string text = "<Task ";
  switch (status()) {
    case Status::pending: text += cancelling() > 0 ? "cancelling" : "pending"; break;
    case Status::cancelled: text += "cancelled"; break;
    case Status::finished: text += "finished"; break;
  }
  text += " name='" + name() + "'";
  const std::exception_ptr exception = peek_exception();
  if (status() == Status::finished && exception) text += " exception=" + describe_exception(exception);
  return text + ">";
}

bool TaskStateBase::cancel(std::string_view message) {
  if (done()) return false;
  ++extras().cancels_requested;
  // Cancelling what we wait on wakes us with its CancelledError.
  if (FutureStateBase* future = awaited_future(); future && future->cancel(message)) return true;
  // Otherwise the next step throws CancelledError into the coroutine.
  set_flag(kMustCancel);
  set_cancel_message(message);
  return true;
}

void TaskStateBase::remove_from_registry() noexcept {
  clear_flag(kRegistered);
  loop().tasks_.remove(registry_seq);
}

void TaskStateBase::start_eager() {
  // The parent (the task whose step makes this one) joins the registry: the
  // loop no longer finds it as the current task. step() runs with no
  // current task and leaves none; the parent's comes back afterwards, even
  // if joining or the step throws.
  EventLoop& owner = loop();
  struct RestoreParent {
    EventLoop& owner;
    TaskStateBase* parent;
    ~RestoreParent() { owner.current_task_ = parent; }
  } restore{owner, owner.swap_current_task(nullptr)};
  if (restore.parent) restore.parent->join_registry();
  Ref<TaskStateBase> keep(this);
  step();
}

void TaskStateBase::step() {
  // Steps do not nest (an eager start clears the current task first), so
  // there is no previous current task to put back.
  if (done()) return;  // a pending task has its frame: close() drops steps first
  const std::coroutine_handle<> leaf = this->leaf();
  clear_flag(kWaiting);  // asyncio: self._fut_waiter = None
  EventLoop& owner = loop();
  if (flag(kMustCancel)) {
    clear_flag(kMustCancel);
    // A task joins the registry when it first suspends (every suspension
    // goes through suspend_on() or suspend_yield()), so between steps one
    // outside it has never run.
    if (!flag(kRegistered)) {
      // asyncio throws into a coroutine that never ran: its body does not run.
      drop_root_frame();
      mark_cancelled();
      release_self();
      return;
    }
    set_flag(kCancelOnResume);
  }
  owner.current_task_ = this;
  // Debug mode names a slow step after it ends, so it keeps the task alive
  // until then, even if this step finishes it and nobody else holds it.
  if (owner.debug_) [[unlikely]] owner.last_stepped_task_ = Ref<TaskStateBase>(this);
  leaf.resume();
  // A root whose end nobody could observe has freed this task already, and
  // said so by clearing the current task (end_unobserved_root).
  if (!owner.current_task_) return;
  owner.current_task_ = nullptr;
  if (std::coroutine_handle<>::from_address(root_address_).done()) complete();
}

void TaskStateBase::complete() {
  clear_flag(kCancelOnResume);
  std::exception_ptr error = take_root_result(std::coroutine_handle<>::from_address(root_address_));
  drop_root_frame();
  if (error) [[unlikely]] {
    complete_with_error(error);
  } else if (flag(kMustCancel)) [[unlikely]] {
    // Cancelled right before the coroutine returned (asyncio does the same).
    clear_flag(kMustCancel);
    mark_cancelled();
  } else {
    finish_with_value();
  }
  release_self();  // may delete this
}

void TaskStateBase::complete_with_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const CancelledError& e) {
    set_cancel_message(e.message());
    mark_cancelled();
  } catch (...) {
    set_exception(error);
  }
}

void TaskStateBase::suspend_on(FutureStateBase& future, TaskWaiter& waiter, std::coroutine_handle<> leaf) {
  if (&future == this) throw RuntimeError("Task cannot await on itself: " + repr());
  if (&future.loop() != &loop()) {
    throw RuntimeError("Task " + repr() + " got Future " + future.repr() + " attached to a different loop");
  }
  join_registry();  // first, so that bad_alloc changes nothing
  waiter.task = this;
  waiter.future = &future;
  waiter.leaf = leaf;
  future.add_waiter(waiter);
  waiter_ = &waiter;
  set_flag(kWaiting);
  if (flag(kMustCancel) && future.cancel(cancel_message())) clear_flag(kMustCancel);
}

void TaskStateBase::suspend_yield(std::coroutine_handle<> leaf) {
  join_registry();
  leaf_address_ = leaf.address();
  loop().enqueue(TaskStep{this});
}

void TaskStateBase::throw_cancel_on_resume() {
  clear_flag(kCancelOnResume);
  throw make_cancelled_error();
}

void TaskStateBase::destroy_pending() {
  Ref<TaskStateBase> keep(this);
  // Out of all_tasks first, so the exception handler no longer sees it.
  void* const root = std::exchange(root_address_, nullptr);
  if (root) leave_registry();
  ExceptionContext context;
  context.message = "Task was destroyed but it is pending!";
  context.future = AnyFuture(this);
  context.object = repr();
  loop().call_exception_handler(context);
  // The frame first: its awaiter unlinks from the future it waits on.
  if (root) std::coroutine_handle<>::from_address(root).destroy();
  clear_flag(kWaiting);
  drop_callbacks();  // this task will never finish; e.g. a gather waiting on it must not be kept alive
  release_self();
}

// ---- sleep ----

void SleepAwaiter::suspend(TaskStateBase& task, std::coroutine_handle<> awaiting) {
  task_ = &task;
  if (delay_ == Clock::duration::zero()) {
    task.suspend_yield(awaiting);
    return;
  }
  EventLoop& loop = task.loop();
  future_ = Ref<FutureStateBase>(new FutureState<void>(loop));
  timer_ = loop.call_later(delay_, [future = future_] {
    if (!future->done()) future->finish_with_value();
  });
  waiter_.future = future_.get();
  task.suspend_on(*future_, waiter_, awaiting);
}

void SleepAwaiter::await_resume() {
  timer_.cancel();
  task_->throw_if_cancelled_on_resume();
  if (future_) future_->check_result();
}

}  // namespace aiouv::detail
