#ifndef AIOUV_TASKGROUPS_HPP_INCLUDED
#define AIOUV_TASKGROUPS_HPP_INCLUDED

/// \file
/// asyncio.TaskGroup: structured concurrency.

#include <concepts>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <aiouv/tasks.hpp>

namespace aiouv {

/// asyncio.TaskGroup (3.11+ semantics). Python's
///
///     async with asyncio.TaskGroup() as tg:
///         tg.create_task(a()); tg.create_task(b())
///
/// reads
///
///     co_await aiouv::TaskGroup().run([](aiouv::TaskGroup& tg) -> aiouv::Coro<void> {
///       tg.create_task(a());
///       tg.create_task(b());
///       co_return;
///     });
///
/// or, with a named group, `co_await group.run(body())` where `body` is a
/// coroutine that uses `group`. run() waits for every child. The first child
/// to fail cancels the other children and the body; every failure (the
/// body's included) is then thrown together as ExceptionGroup("unhandled
/// errors in a TaskGroup"). Cancelling the task that runs the group cancels
/// the children and comes out as CancelledError, not swallowed.
///
/// Neither copyable nor movable: the children's done callbacks refer to it.
class TaskGroup {
 public:
  TaskGroup() = default;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup();

  /// Starts `coro` as a child task. RuntimeError "TaskGroup <...> has not
  /// been entered" before run(), "... is finished" once run() is done with
  /// every child, "... is shutting down" after a failure or cancellation.
  /// The coroutine is destroyed unrun on error.
  template <class T>
  Task<T> create_task(Coro<T> coro, std::string name = {});

  /// Runs `body` inline in the current task as the group's `async with`
  /// block, then waits for every child; gives the body's result.
  /// RuntimeError "TaskGroup <...> has already been entered" on a second
  /// run, "... cannot determine the parent task" outside a task.
  template <class T>
  Coro<T> run(Coro<T> body);

  /// As run(body(*this)), keeping `body` (a lambda with captures, say)
  /// alive until the group is done.
  template <class F>
    requires std::invocable<F&, TaskGroup&>
  auto run(F body) -> std::invoke_result_t<F&, TaskGroup&>;

  /// asyncio's repr: "<TaskGroup tasks=2 entered>", "<TaskGroup cancelling>".
  std::string repr() const;

 private:
  struct Child {
    AnyTask task;
    std::uint64_t callback_id;
  };

  void enter();
  void check_can_create() const;
  void adopt(AnyTask task);
  void on_task_done(AnyFuture& task, std::uint64_t key);
  void abort();
  /// The end of the `async with` block, which ended with `error` (nullptr:
  /// normally): waits for the children, then throws what asyncio would.
  Coro<void> exit(std::exception_ptr error);

  EventLoop* loop_ = nullptr;
  AnyTask parent_;
  std::map<std::uint64_t, Child> tasks_;  // by creation order: cancelled in that order
  std::uint64_t next_key_ = 0;
  std::vector<std::exception_ptr> errors_;
  Future<void> on_completed_;
  bool entered_ = false;
  bool exiting_ = false;
  bool aborting_ = false;
  bool parent_cancel_requested_ = false;
};

template <class T>
Task<T> TaskGroup::create_task(Coro<T> coro, std::string name) {
  check_can_create();
  Task<T> task = loop_->create_task(std::move(coro), std::move(name));
  adopt(task);
  return task;
}

template <class T>
Coro<T> TaskGroup::run(Coro<T> body) {
  enter();
  detail::Outcome<T> outcome = co_await detail::settle(std::move(body));
  co_await exit(outcome.error);
  // asyncio's __aexit__ does not swallow: what exit() did not replace goes on.
  co_return outcome.take();
}

template <class F>
  requires std::invocable<F&, TaskGroup&>
auto TaskGroup::run(F body) -> std::invoke_result_t<F&, TaskGroup&> {
  // A coroutine taking `body` by value: it lives in this frame until done.
  co_return co_await run(body(*this));
}

}  // namespace aiouv

#endif
