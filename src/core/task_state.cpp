// asyncio.Task's step machine.
#include <aiouv/events.hpp>

#include "describe.hpp"


namespace aiouv::detail {

// asyncio's _task_name_counter is process-wide; per thread is enough for
// names (each loop sees Task-1, Task-2, ... in creation order) and keeps an
// atomic off the create_task path.
thread_local constinit std::uint32_t task_counter = 0;

std::uint32_t TaskStateBase::uncancel() noexcept {
  if (cancels_requested_ > 0) {
    --cancels_requested_;
    if (cancels_requested_ == 0) must_cancel_ = false;
  }
  return cancels_requested_;
}

std::string TaskStateBase::name() const {
  return name_ ? *name_ : "Task-" + std::to_string(number_);
}

void TaskStateBase::set_name(std::string name) { name_ = std::make_unique<std::string>(std::move(name)); }

std::string TaskStateBase::repr() const {
  std::string text = "<Task ";
  switch (status()) {
    case Status::pending: text += cancels_requested_ > 0 ? "cancelling" : "pending"; break;
    case Status::cancelled: text += "cancelled"; break;
    case Status::finished: text += "finished"; break;
  }
  text += " name='" + name() + "'";
  if (status() == Status::finished && peek_exception()) text += " exception=" + describe_exception(peek_exception());
  return text + ">";
}

bool TaskStateBase::cancel(std::string_view message) {
  if (done()) return false;
  ++cancels_requested_;
  // Cancelling what we wait on wakes us with its CancelledError.
  if (fut_waiter_ && fut_waiter_->cancel(message)) return true;
  // Otherwise the next step throws CancelledError into the coroutine.
  must_cancel_ = true;
  set_cancel_message(message);
  return true;
}

void TaskStateBase::start_eager() {
  add_ref();
  holds_self_ = true;
  Ref<TaskStateBase> keep(this);
  step();
}

void TaskStateBase::step() {
  if (done() || !root_) return;
  fut_waiter_.reset();
  EventLoop& owner = loop();
  if (must_cancel_) {
    must_cancel_ = false;
    if (!started_) {
      // asyncio throws into a coroutine that never ran: its body does not run.
      drop_root_frame();
      mark_cancelled();
      release_self();
      return;
    }
    cancel_on_resume_ = true;
  }
  started_ = true;
  TaskStateBase* previous = owner.swap_current_task(this);
  // Debug mode names a slow step after it ends, so it keeps the task alive
  // until then, even if this step finishes it and nobody else holds it.
  if (owner.debug_) [[unlikely]] owner.last_stepped_task_ = Ref<TaskStateBase>(this);
  leaf_.resume();
  // A root whose end nobody could observe has freed this task already, and
  // said so by clearing the current task (end_unobserved_root).
  if (!owner.swap_current_task(previous)) return;
  if (root_.done()) complete();
}

void TaskStateBase::complete() {
  cancel_on_resume_ = false;
  std::exception_ptr error = take_root_result(root_);
  drop_root_frame();
  if (error) [[unlikely]] {
    complete_with_error(error);
  } else if (must_cancel_) [[unlikely]] {
    // Cancelled right before the coroutine returned (asyncio does the same).
    must_cancel_ = false;
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
  waiter.task = this;
  future.add_waiter(waiter);
  leaf_ = leaf;
  fut_waiter_ = Ref<FutureStateBase>(&future);
  if (must_cancel_ && future.cancel(cancel_message())) must_cancel_ = false;
}

void TaskStateBase::suspend_yield(std::coroutine_handle<> leaf) {
  leaf_ = leaf;
  loop().enqueue([this] { step(); });
}

void TaskStateBase::throw_cancel_on_resume() {
  cancel_on_resume_ = false;
  throw make_cancelled_error();
}

void TaskStateBase::destroy_pending() {
  Ref<TaskStateBase> keep(this);
  // Out of all_tasks first, so the exception handler no longer sees it.
  std::coroutine_handle<> root = std::exchange(root_, nullptr);
  if (root) unlink_from_loop();
  ExceptionContext context;
  context.message = "Task was destroyed but it is pending!";
  context.future = AnyFuture(this);
  context.object = repr();
  loop().call_exception_handler(context);
  // The frame first: its awaiter unlinks from fut_waiter_, still alive.
  if (root) root.destroy();
  fut_waiter_.reset();
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
