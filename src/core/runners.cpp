// asyncio.Runner.
#include <aiouv/log.hpp>
#include <aiouv/runners.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>

namespace aiouv {
namespace {

/// asyncio installs its SIGINT handler only over Python's default one; here,
/// only while SIGINT still has its default action (no handler of the host's,
/// nor one of libuv's for another loop).
bool sigint_is_default() noexcept {
#ifdef _WIN32
  return true;  // no way to ask; libuv's console handler chains anyway
#else
  struct sigaction current {};
  return sigaction(SIGINT, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
         current.sa_handler == SIG_DFL;
#endif
}

/// The thread that loaded the library: the program's main thread, unless
/// the library is loaded later from another one (dlopen).
const std::thread::id main_thread = std::this_thread::get_id();

}  // namespace

Runner::SigintScope::SigintScope(Runner& runner, AnyTask main_task) : runner_(runner) {
  runner_.interrupts_ = 0;
  // asyncio: only a runner in the main thread takes over Ctrl-C; signals
  // go to the process, so a runner in a worker thread would steal them.
  if (std::this_thread::get_id() != main_thread || !sigint_is_default()) return;
  auto marker = std::make_shared<int>(0);
  installed_ = marker;
  runner_.loop_->add_signal_handler(SIGINT, [&runner = runner_, main_task, marker]() mutable {
    ++runner.interrupts_;
    if (runner.interrupts_ == 1 && !main_task.done()) {
      main_task.cancel();
      return;
    }
    runner.loop_->stop();  // asyncio raises KeyboardInterrupt from the handler
  });
}

Runner::SigintScope::~SigintScope() {
  // Only our own handler: the main task may have set its own since.
  if (!installed_.expired() && !runner_.loop_->is_closed()) runner_.loop_->remove_signal_handler(SIGINT);
}

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
