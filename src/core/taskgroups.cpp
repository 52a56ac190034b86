// TaskGroup, following CPython 3.13's taskgroups.py step by step.
#include <aiouv/taskgroups.hpp>

namespace aiouv {

TaskGroup::~TaskGroup() {
  // Normally run() has waited for every child. A group whose task was
  // destroyed at loop close still has some: they must not call back here.
  for (auto& [key, child] : tasks_) child.task.remove_done_callback(child.callback_id);
}

std::string TaskGroup::repr() const {
  std::string text = "<TaskGroup";
  if (!tasks_.empty()) text += " tasks=" + std::to_string(tasks_.size());
  if (!errors_.empty()) text += " errors=" + std::to_string(errors_.size());
  if (aborting_) {
    text += " cancelling";
  } else if (entered_) {
    text += " entered";
  }
  return text + ">";
}

void TaskGroup::enter() {
  if (entered_) throw RuntimeError("TaskGroup " + repr() + " has already been entered");
  EventLoop& loop = get_running_loop();
  AnyTask parent = current_task(&loop);
  if (!parent) throw RuntimeError("TaskGroup " + repr() + " cannot determine the parent task");
  loop_ = &loop;
  parent_ = std::move(parent);
  entered_ = true;
}

void TaskGroup::check_can_create() const {
  if (!entered_) throw RuntimeError("TaskGroup " + repr() + " has not been entered");
  if (exiting_ && tasks_.empty()) throw RuntimeError("TaskGroup " + repr() + " is finished");
  if (aborting_) throw RuntimeError("TaskGroup " + repr() + " is shutting down");
}

void TaskGroup::adopt(AnyTask task) {
  const std::uint64_t key = next_key_++;
  if (task.done()) {
    // Finished eagerly: no callback needed.
    on_task_done(task, key);
    return;
  }
  const std::uint64_t id = task.add_done_callback([this, key](AnyFuture& done) { on_task_done(done, key); });
  tasks_.emplace(key, Child{std::move(task), id});
}

void TaskGroup::on_task_done(AnyFuture& task, std::uint64_t key) {
  tasks_.erase(key);
  if (on_completed_ && tasks_.empty() && !on_completed_.done()) on_completed_.set_result();
  if (task.cancelled()) return;
  std::exception_ptr error = task.exception();
  if (!error) return;
  errors_.push_back(error);
  if (parent_.done()) {
    loop_->call_exception_handler(ExceptionContext{
        "Task " + task.repr() + " has errored out but its parent task " + parent_.repr() +
            " is already completed",
        error, task, task.repr()});
    return;
  }
  if (!aborting_ && !parent_cancel_requested_) {
    // Interrupt the body; exit() takes this cancellation back.
    abort();
    parent_cancel_requested_ = true;
    parent_.cancel();
  }
}

void TaskGroup::abort() {
  aborting_ = true;
  // Cancelling may finish a child eagerly and erase it: iterate a copy.
  std::vector<AnyTask> children;
  children.reserve(tasks_.size());
  for (auto& [key, child] : tasks_) children.push_back(child.task);
  for (AnyTask& child : children) {
    if (!child.done()) child.cancel();
  }
}

Coro<void> TaskGroup::exit(std::exception_ptr error) {
  exiting_ = true;
  const bool body_cancelled = detail::is_cancelled_error(error);
  std::exception_ptr propagate_cancellation = body_cancelled ? error : nullptr;
  if (error && !aborting_) {
    // The parent task is being cancelled, or the body failed.
    abort();
  }

  // A loop: the parent may be cancelled again while it waits here.
  while (!tasks_.empty()) {
    if (!on_completed_) on_completed_ = loop_->create_future<void>();
    try {
      co_await on_completed_;
    } catch (const CancelledError&) {
      if (!aborting_) {
        // Whoever runs the group was cancelled while the children run.
        propagate_cancellation = std::current_exception();
        abort();
      }
    }
    on_completed_ = Future<void>();
  }

  if (parent_cancel_requested_ && parent_.uncancel() == 0) {
    // Our own cancellation of the parent, and nobody else's: not to be
    // propagated.
    propagate_cancellation = nullptr;
  }
  if (propagate_cancellation && errors_.empty()) std::rethrow_exception(propagate_cancellation);
  if (error && !body_cancelled) errors_.push_back(error);
  if (!errors_.empty()) {
    if (parent_.cancelling() > 0) {
      // Cancelled from outside too: keep its count as it was, and the
      // cancellation pending for the parent's next await (asyncio 3.13).
      parent_.uncancel();
      parent_.cancel();
    }
    std::vector<std::exception_ptr> errors = std::exchange(errors_, {});  // repr() shows none after
    throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors));
  }
}

}  // namespace aiouv
