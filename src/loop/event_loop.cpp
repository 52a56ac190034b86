// EventLoop: scheduling, running, closing.
#include <aiouv/events.hpp>
#include <aiouv/detail/io_resource.hpp>
#include <aiouv/log.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>

#ifndef _WIN32
#include <csignal>
#include <signal.h>
#endif

#include <spdlog/spdlog.h>

#include "../core/describe.hpp"
#include "loop_core.hpp"
#include "running_loop.hpp"

namespace aiouv {

namespace detail {

/// A call_soon_threadsafe() callback, shared by the queue and the Handle
/// (which may cancel it from any thread).
struct ThreadsafeCall {
  explicit ThreadsafeCall(Callback&& cb) noexcept : callback(std::move(cb)) {}
  Callback callback;
  std::atomic<bool> cancelled{false};
  std::atomic<int> refs{2};  // the queue's and the Handle's

  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

namespace {

/// The ready-queue entry of a ThreadsafeCall; owns the queue's reference.
class RunThreadsafeCall {
 public:
  explicit RunThreadsafeCall(ThreadsafeCall* call) noexcept : call_(call) {}
  RunThreadsafeCall(RunThreadsafeCall&& other) noexcept : call_(std::exchange(other.call_, nullptr)) {}
  RunThreadsafeCall& operator=(RunThreadsafeCall&&) = delete;
  ~RunThreadsafeCall() {
    if (call_) call_->release();
  }
  void operator()() {
    if (!call_->cancelled.load(std::memory_order_acquire)) call_->callback();
  }

 private:
  ThreadsafeCall* call_;
};

/// Marks the time spent inside one of the loop's libuv callbacks: the loop
/// counts as running for get_running_loop() (a host's uv_run drives us) and
/// cannot be closed from there.
class CallbackScope {
 public:
  CallbackScope(EventLoop& loop, int& depth) noexcept : depth_(depth), running_(loop) { ++depth_; }
  ~CallbackScope() { --depth_; }

 private:
  int& depth_;
  RunningLoopScope running_;
};

}  // namespace
}  // namespace detail

// ---- Handle ----

Handle::Handle(Handle&& other) noexcept
    : loop_(std::exchange(other.loop_, nullptr)),
      ticket_(other.ticket_),
      threadsafe_(std::exchange(other.threadsafe_, nullptr)),
      cancelled_(other.cancelled_) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    if (threadsafe_) threadsafe_->release();
    loop_ = std::exchange(other.loop_, nullptr);
    ticket_ = other.ticket_;
    threadsafe_ = std::exchange(other.threadsafe_, nullptr);
    cancelled_ = other.cancelled_;
  }
  return *this;
}

void Handle::release_threadsafe() noexcept { threadsafe_->release(); }

void Handle::cancel() noexcept {
  if (cancelled_) return;
  cancelled_ = true;
  if (threadsafe_) {
    threadsafe_->cancelled.store(true, std::memory_order_release);
  } else if (loop_) {
    loop_->ready_.cancel(ticket_);
  }
}

void TimerHandle::cancel() noexcept {
  if (cancelled_) return;
  cancelled_ = true;
  if (loop_ && node_->generation == generation_) loop_->cancel_timer(node_);
}

TaskStart eager_task_factory(EventLoop&, AnyTask&) { return TaskStart::eager; }

// ---- construction and closing ----

EventLoop::EventLoop() : uv_loop_(new uv_loop_t), owns_uv_loop_(true) {
  if (int status = uv_loop_init(uv_loop_); status != 0) {
    delete uv_loop_;
    throw_uv_error(status, "uv_loop_init");
  }
  try {
    init_core();
  } catch (...) {
    uv_run(uv_loop_, UV_RUN_NOWAIT);  // lets a half-made core close itself
    uv_loop_close(uv_loop_);
    delete uv_loop_;
    throw;
  }
}

EventLoop::EventLoop(uv_loop_t* borrowed) : uv_loop_(borrowed) {
  if (!borrowed) throw std::invalid_argument("EventLoop: borrowed uv_loop_t is null");
  init_core();
}

namespace {

// Writing to a socket the peer has reset raises SIGPIPE, whose default
// action kills the process; libuv writes with write(2), so only the
// signal's disposition can prevent that. Python ignores SIGPIPE at start-up
// for this reason, and asyncio code expects EPIPE instead. Done once, and
// only if the program left SIGPIPE at its default: a handler the host
// installed is respected.
void ignore_sigpipe_once() {
#ifndef _WIN32  // Windows has no SIGPIPE
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      sigaction(SIGPIPE, &ignore, nullptr);
    }
  });
#endif
}

}  // namespace

void EventLoop::init_core() {
  ignore_sigpipe_once();
  core_ = detail::LoopCore::create(*this, uv_loop_);
}

EventLoop::~EventLoop() {
  if (running_) {
    logger()->critical("EventLoop destroyed while running");
    return;
  }
  try {
    close();
  } catch (const std::exception& e) {
    logger()->error("EventLoop: close() failed in destructor: {}", e.what());
  }
  if (live_futures_ + live_tasks_ > 0) {
    logger()->error("EventLoop destroyed while {} future(s) or task(s) still refer to it",
                    live_futures_ + live_tasks_);
  }
  if (core_) core_->detach();
}

void EventLoop::close() {
  if (running_ || callbacks_entered_ > 0) throw RuntimeError("Cannot close a running event loop");
  if (closed_) return;
  // Listed first, while a bad_alloc still leaves the loop as it was; and
  // before the callbacks go: the first step of a task that never ran is one
  // of them.
  std::vector<AnyTask> pending = unfinished_tasks();
  if (debug_) logger()->debug("Close event loop");
  closed_ = true;
  update_slow_path_flags();

  std::vector<detail::ThreadsafeCall*> dropped;
  {
    std::lock_guard lock(threadsafe_mutex_);
    threadsafe_closed_ = true;
    dropped.swap(threadsafe_pending_);
  }
  for (detail::ThreadsafeCall* call : dropped) call->release();

  last_stepped_task_.reset();
  // Callbacks first: they hold the entries that would run due timers.
  ready_.clear();
  timers_.clear();
  // Oldest first, as asyncio's run() cancels them; the handles keep each
  // task alive until all are reported, whatever their frames release.
  for (const AnyTask& task : pending) static_cast<detail::TaskStateBase*>(task.state())->destroy_pending();
  pending.clear();
  // Nothing joins the registry while frames are destroyed; be sure anyway.
  while (detail::TaskStateBase* task = tasks_.first()) task->destroy_pending();
  // Then what is still open: transports, servers, lookups. Each closes its
  // handles and cancels its requests without calling user code.
  signal_handlers_.clear();  // their watchers are closed with the rest
  fd_watchers_.clear();
  while (io_head_) {
    detail::IoResource* resource = io_head_;
    unlink_io(resource);
    resource->abandon();
  }
  // Destroying frames may have cancelled timers or dropped futures; nothing
  // can have been scheduled (closed_ is set), but clear again to be sure.
  ready_.clear();
  timers_.clear();
  ready_.release_retired();
  drain_ = 0;
  timer_armed_ = false;

  if (core_) core_->close();
  // libuv frees a handle only in its close callback, which runs in the
  // loop's next iteration: run it now so close() is synchronous, as
  // asyncio's is. For a borrowed loop this runs one non-blocking iteration
  // of the host's loop, which is why close() must not be called from inside
  // the host's uv_run.
  // A DNS lookup already running in libuv's thread pool cannot be
  // cancelled: this also waits for it.
  while (core_ || io_handles_ > 0 || io_requests_ > 0) uv_run(uv_loop_, UV_RUN_NOWAIT);

  if (owns_uv_loop_) {
    const int status = uv_loop_close(uv_loop_);
    if (status != 0) {
      // Some handle of ours is still open: a bug. Leak the loop rather than
      // free memory libuv still uses, and say which handles.
      uv_walk(
          uv_loop_,
          [](uv_handle_t* handle, void*) {
            logger()->error("EventLoop::close: handle still open: {}", uv_handle_type_name(handle->type));
          },
          nullptr);
      logger()->error("EventLoop::close: uv_loop_close failed: {}", uv_strerror(status));
    } else {
      delete uv_loop_;
    }
    uv_loop_ = nullptr;
  }
}

void EventLoop::throw_closed() { throw RuntimeError("Event loop is closed"); }

void EventLoop::check_thread() const {
  if (running_ && thread_id_ != std::this_thread::get_id()) {
    throw RuntimeError("Non-thread-safe operation invoked on an event loop other than the current one");
  }
}

LoopCounters EventLoop::counters() const noexcept {
  LoopCounters c;
  c.uv_handles = (core_ ? static_cast<std::size_t>(core_->open_handles()) : 0) + io_handles_;
  c.uv_requests = io_requests_;
  c.callback_handles = ready_.size() + timers_.live();
  c.futures = live_futures_ + live_tasks_;
  c.tasks = live_tasks_;
  return c;
}

// ---- running ----

void EventLoop::run_forever() {
  check_open();
  if (running_) throw RuntimeError("This event loop is already running");
  if (EventLoop* other = detail::running_loop(); other && other != this) {
    throw RuntimeError("Cannot run the event loop while another loop is running");
  }
  running_ = true;
  thread_id_ = std::this_thread::get_id();
  detail::RunningLoopScope running(*this);
  auto* wakeup = reinterpret_cast<uv_handle_t*>(&core_->wakeup);
  // Referenced while we run: with nothing else to do, run_forever waits for
  // call_soon_threadsafe() or stop() like asyncio's, instead of returning.
  uv_ref(wakeup);
  struct Reset {
    EventLoop& loop;
    uv_handle_t* wakeup;
    ~Reset() {
      if (loop.core_) uv_unref(wakeup);
      loop.running_ = false;
      loop.stopping_ = false;
      loop.thread_id_ = {};
    }
  } reset{*this, wakeup};
  for (;;) {
    // After stop() (even one made before run_forever) the iteration that
    // follows must not block: asyncio runs exactly one more batch.
    uv_run(uv_loop_, stopping_ ? UV_RUN_NOWAIT : UV_RUN_ONCE);
    if (stopping_) break;
  }
}

void EventLoop::stop() noexcept {
  stopping_ = true;
  if (running_) uv_stop(uv_loop_);
}

// ---- the ready queue ----

void EventLoop::start_idle() {
  uv_idle_start(&core_->idle, &detail::LoopCore::on_idle);
  drain_ |= kIdleStarted;
}

void EventLoop::run_ready() {
  detail::CallbackScope scope(*this, callbacks_entered_);
  // What the callbacks below queue needs the idle handle again.
  drain_ &= static_cast<std::uint8_t>(~kCheckDrains);
  if (debug_) {
    run_ready_debug();
  } else {
    // Exactly the callbacks queued before this pass: what they schedule runs
    // in the next iteration (asyncio's _run_once).
    const std::uint64_t end = ready_.tail_ticket();
    while (ready_.head_ticket() != end) {
      detail::Callback& callback = ready_.pop_front();
      if (!callback) continue;
      try {
        callback();
      } catch (...) {
        report_callback_exception(std::current_exception(), "<Handle>");
      }
      callback.reset();
    }
  }
  ready_.release_retired();
  if (ready_.empty() && (drain_ & kIdleStarted)) {
    uv_idle_stop(&core_->idle);
    drain_ &= static_cast<std::uint8_t>(~kIdleStarted);
  }
}

void EventLoop::run_ready_debug() {
  const std::uint64_t end = ready_.tail_ticket();
  while (ready_.head_ticket() != end) {
    detail::Callback& callback = ready_.pop_front();
    if (!callback) continue;
    last_stepped_task_.reset();  // an eager step run outside a drain set it
    const Clock::time_point started = Clock::now();
    std::string label = "<Handle>";
    try {
      // A task's step goes the general way, which keeps the task alive
      // until it is named below (TaskStep's inline path does not).
      if (const detail::TaskStep* step = callback.target<detail::TaskStep>()) {
        step->task->step();
      } else {
        callback();
      }
    } catch (...) {
      report_callback_exception(std::current_exception(), "<Handle>");
    }
    const Clock::duration took = Clock::now() - started;
    if (took >= slow_callback_duration) {
      if (last_stepped_task_) label = last_stepped_task_->repr();
      logger()->warn("Executing {} took {:.3f} seconds", label,
                     std::chrono::duration<double>(took).count());
    }
    last_stepped_task_.reset();  // may delete a task that this step finished
    callback.reset();
  }
}

void EventLoop::report_callback_exception(std::exception_ptr error, const char* what) noexcept {
  ExceptionContext context;
  try {
    context.message = std::string("Exception in callback ") + what;
    context.object = what;
  } catch (...) {
  }
  context.exception = std::move(error);
  call_exception_handler(context);
}

// ---- timers ----


TimerHandle EventLoop::schedule_timer(Clock::time_point when, detail::Callback&& callback) {
  check_open();
  detail::TimerNode* node = timers_.add(when, std::move(callback));
  if (!timer_armed_ || when < armed_deadline_) {
    arm_timer();
  } else if (timer_unreferenced_) {
    reference_timer(true);  // armed early enough already: on_timer re-arms
  }
  return TimerHandle(this, node, when);
}

void EventLoop::cancel_timer(detail::TimerNode* node) noexcept {
  timers_.cancel(node);
  // The armed uv_timer_t may now be early; on_timer re-arms. With no timer
  // left it must not keep a host's uv_run going, but stopping it would make
  // the next call_later re-arm (two clock reads, a libuv heap update): the
  // pattern of wait_for() and timeout(), arm then cancel, would pay that
  // every time. So it stays armed, unreferenced; if it fires, it finds
  // nothing due and stops.
  if (timers_.empty() && timer_armed_ && core_) reference_timer(false);
}

void EventLoop::reference_timer(bool referenced) noexcept {
  if (timer_unreferenced_ != referenced) return;
  timer_unreferenced_ = !referenced;
  if (referenced) {
    uv_ref(reinterpret_cast<uv_handle_t*>(&core_->timer));
  } else {
    uv_unref(reinterpret_cast<uv_handle_t*>(&core_->timer));
  }
}

void EventLoop::arm_timer() {
  if (!core_) return;
  if (timers_.empty()) {
    if (timer_armed_) uv_timer_stop(&core_->timer);
    timer_armed_ = false;
    return;
  }
  const Clock::time_point next = timers_.earliest();
  if (timer_armed_ && next == armed_deadline_) return;
  // libuv counts from its cached millisecond clock, rounded down and maybe
  // stale: refresh it and round the delay up. It can still fire a little
  // early against Clock (a coarse clock lags); on_timer then re-arms.
  uv_update_time(uv_loop_);
  const Clock::time_point now = Clock::now();
  std::uint64_t delay_ms = 0;
  if (next > now) {
    delay_ms = static_cast<std::uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(next - now).count());
  }
  uv_timer_start(&core_->timer, &detail::LoopCore::on_timer, delay_ms, 0);
  reference_timer(true);
  timer_armed_ = true;
  armed_deadline_ = next;
}

void EventLoop::on_timer() {
  detail::CallbackScope scope(*this, callbacks_entered_);
  timer_armed_ = false;
  timers_.pop_due(Clock::now(), [this](detail::TimerNode* node) {
    ready_.push([this, node] { timers_.run_due(node); });
  });
  if (!ready_.empty() && !(drain_ & kIdleStarted)) start_idle();
  arm_timer();
}

// ---- call_soon_threadsafe ----

Handle EventLoop::enqueue_threadsafe(detail::Callback&& callback) {
  auto* call = new detail::ThreadsafeCall(std::move(callback));
  {
    std::lock_guard lock(threadsafe_mutex_);
    if (threadsafe_closed_) {
      delete call;
      throw_closed();
    }
    threadsafe_pending_.push_back(call);
    // Under the lock, so close() cannot free the handle meanwhile. libuv
    // coalesces sends; on_wakeup takes everything queued.
    uv_async_send(&core_->wakeup);
  }
  return Handle(call);
}

void EventLoop::on_wakeup() {
  detail::CallbackScope scope(*this, callbacks_entered_);
  std::vector<detail::ThreadsafeCall*> calls;
  {
    std::lock_guard lock(threadsafe_mutex_);
    calls.swap(threadsafe_pending_);
  }
  for (std::size_t i = 0; i < calls.size(); ++i) {
    try {
      ready_.push(detail::RunThreadsafeCall(calls[i]));
    } catch (...) {
      for (std::size_t j = i; j < calls.size(); ++j) calls[j]->release();
      report_callback_exception(std::current_exception(), "<call_soon_threadsafe>");
      break;
    }
  }
  if (!ready_.empty() && !(drain_ & kIdleStarted)) start_idle();
}

// ---- tasks ----

void EventLoop::link_io(detail::IoResource* resource) noexcept {
  resource->prev_ = nullptr;
  resource->next_ = io_head_;
  if (io_head_) io_head_->prev_ = resource;
  io_head_ = resource;
  resource->linked_ = true;
}

void EventLoop::unlink_io(detail::IoResource* resource) noexcept {
  if (!resource->linked_) return;
  if (resource->prev_) {
    resource->prev_->next_ = resource->next_;
  } else {
    io_head_ = resource->next_;
  }
  if (resource->next_) resource->next_->prev_ = resource->prev_;
  resource->prev_ = resource->next_ = nullptr;
  resource->linked_ = false;
}

void EventLoop::start_task(AnyTask& task) {
  // The factory may call all_tasks(): as in asyncio, the task is in it.
  static_cast<detail::TaskStateBase*>(task.state())->join_registry();
  const TaskStart mode = task_factory_(*this, task);
  check_open();  // the factory may have closed the loop
  auto* state = static_cast<detail::TaskStateBase*>(task.state());
  // As asyncio's eager tasks: eager only while the loop runs (here: also
  // inside callbacks a host's uv_run drives); otherwise the first step waits.
  if (mode == TaskStart::eager && (running_ || callbacks_entered_ > 0)) {
    state->start_eager();
  } else {
    state->start_soon();
  }
}

AnyTask current_task(EventLoop* loop) {
  EventLoop& target = loop ? *loop : get_running_loop();
  return AnyTask(target.current_task_);
}

std::vector<AnyTask> all_tasks(EventLoop* loop) {
  EventLoop& target = loop ? *loop : get_running_loop();
  return target.unfinished_tasks();
}

std::vector<AnyTask> EventLoop::unfinished_tasks() const {
  using detail::TaskStateBase;
  // The registry holds the tasks that have suspended; see TaskStateBase for
  // where the others are.
  std::vector<TaskStateBase*> found;
  found.reserve(tasks_.size() + 1);
  tasks_.for_each([&found](TaskStateBase* task) {
    if (!task->done()) found.push_back(task);
  });
  if (current_task_ && !current_task_->flag(TaskStateBase::kRegistered)) found.push_back(current_task_);
  ready_.for_each([&found](const detail::Callback& callback) {
    const detail::TaskStep* step = callback.target<detail::TaskStep>();
    if (step && !step->task->flag(TaskStateBase::kRegistered) && !step->task->done()) found.push_back(step->task);
  });
  // Creation order, oldest first.
  std::sort(found.begin(), found.end(),
            [](const TaskStateBase* a, const TaskStateBase* b) { return a->age() > b->age(); });
  std::vector<AnyTask> tasks;
  tasks.reserve(found.size());
  for (TaskStateBase* task : found) tasks.emplace_back(task);
  return tasks;
}

// ---- exception handling ----

void EventLoop::default_exception_handler(const ExceptionContext& context) {
  std::string text = context.message.empty() ? "Unhandled exception in event loop" : context.message;
  if (!context.object.empty()) text += "\nobject: " + context.object;
  if (context.exception) text += "\nexception: " + detail::describe_exception(context.exception);
  logger()->error("{}", text);
}

void EventLoop::call_exception_handler(const ExceptionContext& context) noexcept {
  if (!exception_handler_) {
    try {
      default_exception_handler(context);
    } catch (...) {
      // Nothing left to report to; asyncio also swallows this.
    }
    return;
  }
  try {
    exception_handler_(*this, context);
  } catch (...) {
    try {
      ExceptionContext nested;
      nested.message = "Unhandled error in exception handler";
      nested.exception = std::current_exception();
      nested.future = context.future;
      nested.object = "while handling: " + context.message;
      default_exception_handler(nested);
    } catch (...) {
    }
  }
}

}  // namespace aiouv
