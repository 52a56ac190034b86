// run_in_executor()'s compiled half: jobs on libuv's thread pool
// (uv_queue_work) or on a user's Executor, their way back to the loop, and
// shutdown_default_executor(); plus ThreadPoolExecutor.
#include <aiouv/detail/io_resource.hpp>
#include <aiouv/threads.hpp>

#include <uv.h>

#include <algorithm>

namespace aiouv {
namespace detail {

/// A job on libuv's thread pool: the request is in flight until libuv's
/// after-work callback, which settles the future on the loop's thread.
class UvWorkJob final : public IoResource {
 public:
  UvWorkJob(EventLoop& loop, std::unique_ptr<ExecutorJob> job) : IoResource(loop), job_(std::move(job)) {
    request_.data = this;
  }
  int start(uv_loop_t* uv_loop) {
    const int status = uv_queue_work(uv_loop, &request_, &on_work, &on_after_work);
    if (status == 0) {
      request_started();
      ++loop().default_jobs_in_flight_;
    }
    return status;
  }
  void abandon() noexcept override {
    job_->drop_future();
    uv_cancel(reinterpret_cast<uv_req_t*>(&request_));
  }

 private:
  static void on_work(uv_work_t* request) { static_cast<UvWorkJob*>(request->data)->job_->run(); }
  static void on_after_work(uv_work_t* request, int) {
    auto* self = static_cast<UvWorkJob*>(request->data);
    self->request_finished();
    EventLoop& loop = self->loop();
    self->job_->settle();  // a cancelled request left the job unrun: nothing to settle
    delete self;
    if (--loop.default_jobs_in_flight_ == 0) {
      for (Future<void>& waiter : std::exchange(loop.default_jobs_drained_, {})) {
        if (!waiter.done() && !loop.is_closed()) waiter.set_result();
      }
    }
  }

  uv_work_t request_{};
  std::unique_ptr<ExecutorJob> job_;
};

namespace {

/// What a job on a user's executor shares with the thread running it. The
/// loop pointer is cleared (under the mutex) when the loop closes first, so
/// the worker never touches a closed loop.
struct ForeignCall {
  std::mutex mutex;
  EventLoop* loop;
  std::unique_ptr<ExecutorJob> job;
  class Link* link = nullptr;  // loop thread only
};

/// The loop's side of a ForeignCall, so that close() can let go of it.
class Link final : public IoResource {
 public:
  Link(EventLoop& loop, std::shared_ptr<ForeignCall> call) : IoResource(loop), call_(std::move(call)) {
    call_->link = this;
  }
  void abandon() noexcept override {
    {
      std::lock_guard lock(call_->mutex);
      call_->loop = nullptr;
      call_->job->drop_future();
    }
    call_->link = nullptr;
    delete this;
  }
  /// Loop thread, once the job ran (or was skipped).
  void finish() noexcept {
    call_->job->settle();
    // The worker may let go of the call last: it must find no Future.
    call_->job->drop_future();
    call_->link = nullptr;
    delete this;
  }

 private:
  std::shared_ptr<ForeignCall> call_;
};

/// The job a user's executor runs: the call, then the way home.
void run_foreign(const std::shared_ptr<ForeignCall>& call) {
  call->job->run();
  std::lock_guard lock(call->mutex);
  if (!call->loop) return;
  try {
    call->loop->call_soon_threadsafe([call] {
      if (call->link) call->link->finish();
    });
  } catch (const RuntimeError&) {
    // Closing right now: close() is about to abandon the link.
  }
}

}  // namespace
}  // namespace detail

void EventLoop::submit_job(Executor* executor, std::unique_ptr<detail::ExecutorJob> job) {
  if (!executor) {
    if (default_executor_shut_down_) throw RuntimeError("Executor shutdown has been called");
    executor = default_executor_.get();
  }
  if (!executor) {
    auto* work = new detail::UvWorkJob(*this, std::move(job));
    if (const int status = work->start(uv_loop_); status < 0) {
      delete work;
      throw_uv_error(status, "run_in_executor");
    }
    return;
  }
  auto call = std::make_shared<detail::ForeignCall>();
  call->loop = this;
  call->job = std::move(job);
  auto* link = new detail::Link(*this, call);
  try {
    executor->submit([call] { detail::run_foreign(call); });
  } catch (...) {
    call->link = nullptr;
    call->job->drop_future();
    delete link;
    throw;
  }
}

void EventLoop::set_default_executor(std::shared_ptr<Executor> executor) {
  check_open();
  default_executor_ = std::move(executor);
}

Coro<void> EventLoop::shutdown_default_executor() {
  default_executor_shut_down_ = true;
  if (default_jobs_in_flight_ > 0) {
    Future<void> drained = create_future<void>();
    default_jobs_drained_.push_back(drained);
    co_await drained;
  }
  if (std::shared_ptr<Executor> executor = std::exchange(default_executor_, nullptr)) {
    // As asyncio: shutdown(wait=True) in a thread of its own, so the loop
    // keeps running while the executor's jobs finish.
    // The thread only copies the shared_ptr, never the Future (loop thread
    // only); this frame holds it until after join(), so the last owner is
    // always on the loop's thread.
    auto joined = std::make_shared<Future<void>>(create_future<void>());
    std::thread joiner([this, executor, joined] {
      executor->shutdown(true);
      try {
        call_soon_threadsafe([joined] {
          if (!joined->done()) joined->set_result();
        });
      } catch (const RuntimeError&) {
      }
    });
    std::exception_ptr error;
    try {
      co_await *joined;
    } catch (...) {
      error = std::current_exception();
    }
    joiner.join();
    if (error) std::rethrow_exception(error);
  }
}

// ---- ThreadPoolExecutor ----

std::size_t ThreadPoolExecutor::default_max_workers() noexcept {
  return std::min<std::size_t>(32, std::max(1u, std::thread::hardware_concurrency()) + 4);
}

ThreadPoolExecutor::ThreadPoolExecutor(std::size_t max_workers) : max_workers_(max_workers) {
  if (max_workers == 0) throw std::invalid_argument("max_workers must be greater than 0");
}

ThreadPoolExecutor::~ThreadPoolExecutor() { shutdown(true); }

void ThreadPoolExecutor::submit(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  if (shutdown_) throw RuntimeError("cannot schedule new futures after shutdown");
  queue_.push_back(std::move(job));
  // Python's rule: start a thread unless an idle one will take the job, up
  // to max_workers. Each idle thread takes one queued job, so jobs beyond
  // the idle count need threads (two quick submits must not both count on
  // the one thread that is idle).
  if (queue_.size() > idle_ && threads_.size() < max_workers_) {
    threads_.emplace_back([this] { work(); });
  } else {
    wake_.notify_one();
  }
}

void ThreadPoolExecutor::shutdown(bool wait) {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
    if (wait) threads.swap(threads_);
  }
  wake_.notify_all();
  // Without `wait` the threads finish the queue on their own; the
  // destructor joins them.
  for (std::thread& thread : threads) thread.join();
}

void ThreadPoolExecutor::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!queue_.empty()) {
      std::function<void()> job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      job();
      job = nullptr;
      lock.lock();
      continue;
    }
    if (shutdown_) return;
    ++idle_;
    wake_.wait(lock, [this] { return shutdown_ || !queue_.empty(); });
    --idle_;
  }
}

}  // namespace aiouv
