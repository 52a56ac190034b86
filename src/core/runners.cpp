// asyncio.Runner.
#include <aiouv/log.hpp>
#include <aiouv/runners.hpp>

#include <spdlog/spdlog.h>

namespace aiouv {

Runner::Runner(std::optional<bool> debug, std::function<std::unique_ptr<EventLoop>()> loop_factory)
    : debug_(debug), loop_factory_(std::move(loop_factory)) {}

Runner::~Runner() {
  try {
    close();
  } catch (const std::exception& e) {
    logger()->error("Runner: close() failed in destructor: {}", e.what());
  }
}

void Runner::lazy_init() {
  if (closed_) throw RuntimeError("Runner is closed");
  if (loop_) return;
  if (loop_factory_) {
    loop_ = loop_factory_();
    if (!loop_) throw RuntimeError("Runner: loop factory returned no loop");
  } else {
    loop_ = new_event_loop();
    set_event_loop(loop_.get());
    set_event_loop_ = true;
  }
  if (debug_) loop_->set_debug(*debug_);
}

void Runner::prepare_run() {
  if (detail::running_loop()) throw RuntimeError("Runner.run() cannot be called from a running event loop");
  lazy_init();
}

EventLoop& Runner::get_loop() {
  lazy_init();
  return *loop_;
}

void Runner::close() {
  if (closed_ || !loop_) {
    closed_ = true;
    return;
  }
  struct Finally {
    Runner& runner;
    ~Finally() {
      if (runner.set_event_loop_) set_event_loop(nullptr);
      runner.loop_->close();
      runner.loop_.reset();
      runner.closed_ = true;
    }
  } finally{*this};
  cancel_all_tasks();
  // asyncio.Runner.close(): then the default executor.
  loop_->run_until_complete(loop_->shutdown_default_executor());
}

void Runner::cancel_all_tasks() {
  std::vector<AnyTask> leftovers = all_tasks(loop_.get());
  if (leftovers.empty()) return;
  for (AnyTask& task : leftovers) task.cancel();

  // gather(*leftovers, return_exceptions=True): done when all are.
  Future<void> all_done = loop_->create_future<void>();
  auto remaining = std::make_shared<std::size_t>(leftovers.size());
  for (AnyTask& task : leftovers) {
    task.add_done_callback([all_done, remaining]() mutable {
      if (--*remaining == 0 && !all_done.done()) all_done.set_result();
    });
  }
  loop_->run_until_complete(all_done);

  for (AnyTask& task : leftovers) {
    if (task.cancelled()) continue;
    if (std::exception_ptr error = task.exception()) {
      ExceptionContext context;
      context.message = "unhandled exception during asyncio.run() shutdown";
      context.exception = error;
      context.future = task;
      context.object = task.repr();
      loop_->call_exception_handler(context);
    }
  }
}

}  // namespace aiouv
