#ifndef AIOUV_RUNNERS_HPP_INCLUDED
#define AIOUV_RUNNERS_HPP_INCLUDED

/// \file
/// asyncio.run and asyncio.Runner.

#include <functional>
#include <memory>
#include <optional>

#include <aiouv/events.hpp>
#include <aiouv/tasks.hpp>

namespace aiouv {

/// asyncio.Runner: runs coroutines on one loop it creates on first use and
/// closes at close() or destruction, after cancelling the tasks left over
/// and waiting for them. While it lives, its loop is this thread's current
/// loop (set_event_loop), unless a loop factory was given.
class Runner {
 public:
  /// Makes a loop with new_event_loop(), or with `loop_factory`; `debug`
  /// sets the loop's debug mode if given.
  explicit Runner(std::optional<bool> debug = std::nullopt,
                  std::function<std::unique_ptr<EventLoop>()> loop_factory = {});
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  ~Runner();

  /// Runs `coro` as a task to completion and returns its result.
  /// RuntimeError if a loop is already running in this thread or the runner
  /// is closed. While it runs in the main thread, SIGINT (if its handling
  /// is still the default) cancels the task, and run() then throws KeyboardInterrupt
  /// unless the task swallowed the cancellation; a second SIGINT stops the
  /// loop and throws KeyboardInterrupt at once, as asyncio.Runner does.
  template <class T>
  T run(Coro<T> coro) {
    prepare_run();
    Task<T> task = loop_->create_task(std::move(coro));
    SigintScope sigint(*this, task);
    try {
      return loop_->run_until_done(task, true);
    } catch (const CancelledError&) {
      if (interrupts_ > 0 && task.uncancel() == 0) throw KeyboardInterrupt();
      throw;
    } catch (const RuntimeError&) {
      if (interrupts_ > 1) throw KeyboardInterrupt();  // stopped by the second SIGINT
      throw;
    }
  }

  /// Cancels and awaits leftover tasks, then closes the loop. Idempotent.
  void close();
  /// The runner's loop (created now if need be).
  EventLoop& get_loop();

 private:
  /// Handles SIGINT for the duration of one run().
  class SigintScope {
   public:
    SigintScope(Runner& runner, AnyTask main_task);
    SigintScope(const SigintScope&) = delete;
    SigintScope& operator=(const SigintScope&) = delete;
    ~SigintScope();

   private:
    Runner& runner_;
    std::weak_ptr<int> installed_;  // expires if someone replaced our handler
  };

  void prepare_run();
  void lazy_init();
  void cancel_all_tasks();

  std::optional<bool> debug_;
  std::function<std::unique_ptr<EventLoop>()> loop_factory_;
  std::unique_ptr<EventLoop> loop_;
  bool closed_ = false;
  bool set_event_loop_ = false;
  int interrupts_ = 0;
};

/// asyncio.run(): runs `main` on a new loop, cancels the tasks it left
/// behind, closes the loop and returns main's result (or rethrows).
/// RuntimeError("asyncio.run() cannot be called from a running event loop").
template <class T>
T run(Coro<T> main, std::optional<bool> debug = std::nullopt) {
  if (detail::running_loop()) throw RuntimeError("asyncio.run() cannot be called from a running event loop");
  Runner runner(debug);
  return runner.run(std::move(main));
}

}  // namespace aiouv

#endif
