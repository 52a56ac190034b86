#ifndef AIOUV_THREADS_HPP_INCLUDED
#define AIOUV_THREADS_HPP_INCLUDED

/// \file
/// Threads and executors: `Executor`, `ThreadPoolExecutor`,
/// `EventLoop::run_in_executor`, `to_thread`, `run_coroutine_threadsafe`
/// with its thread-safe `ConcurrentFuture`, and `wrap_future`. Mirrors
/// asyncio's threads.py plus the executor parts of base_events.py and
/// concurrent.futures.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <aiouv/tasks.hpp>

namespace aiouv {

/// Runs jobs on other threads (concurrent.futures.Executor). Subclass it
/// to hand run_in_executor() your own thread pool.
class Executor {
 public:
  virtual ~Executor() = default;
  /// Runs `job` once on some thread. RuntimeError("cannot schedule new
  /// futures after shutdown") once shutdown() was called.
  virtual void submit(std::function<void()> job) = 0;
  /// Stops accepting jobs; with `wait`, returns once every job accepted
  /// has run and the threads are gone.
  virtual void shutdown(bool wait = true) = 0;
};

/// concurrent.futures.ThreadPoolExecutor: up to `max_workers` threads,
/// started as jobs arrive, fed from one FIFO queue.
class ThreadPoolExecutor final : public Executor {
 public:
  /// std::invalid_argument("max_workers must be greater than 0") for 0.
  /// The default is Python's: min(32, hardware threads + 4).
  explicit ThreadPoolExecutor(std::size_t max_workers = default_max_workers());
  /// shutdown(true).
  ~ThreadPoolExecutor() override;
  void submit(std::function<void()> job) override;
  void shutdown(bool wait = true) override;
  std::size_t max_workers() const noexcept { return max_workers_; }
  /// Python's default worker count.
  static std::size_t default_max_workers() noexcept;

 private:
  void work();

  const std::size_t max_workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;  // threads waiting for a job
  bool shutdown_ = false;
};

namespace detail {

/// What a run_in_executor() call shares with the thread that runs it: the
/// callable, its outcome, and whether it may still start. The future is
/// only touched on the loop's thread.
class ExecutorJob {
 public:
  enum Phase : int { pending, running, cancelled };
  virtual ~ExecutorJob() = default;
  /// Worker thread: runs the callable unless the future was cancelled first.
  void run() noexcept {
    int expected = pending;
    if (phase->compare_exchange_strong(expected, running)) invoke();
  }
  /// Loop thread: moves the outcome into the future (if still wanted).
  virtual void settle() noexcept = 0;
  /// Loop thread, when the loop closes first: forget the future.
  virtual void drop_future() noexcept = 0;

  std::shared_ptr<std::atomic<int>> phase = std::make_shared<std::atomic<int>>(pending);

 protected:
  virtual void invoke() noexcept = 0;
};

/// The state of a run_in_executor() future: cancelling it keeps a job
/// that has not started from ever running (asyncio cancels the
/// concurrent future it wraps).
template <class R>
class ExecutorFutureState final : public FutureStateBase {
 public:
  ExecutorFutureState(EventLoop& loop, std::shared_ptr<std::atomic<int>> phase) noexcept
      : FutureStateBase(loop, &slot_, false), phase_(std::move(phase)) {}
  bool cancel(std::string_view message) override {
    if (!done()) {
      int expected = ExecutorJob::pending;
      phase_->compare_exchange_strong(expected, ExecutorJob::cancelled);
    }
    return FutureStateBase::cancel(message);
  }
  ResultSlot<R> slot_;

 private:
  std::shared_ptr<std::atomic<int>> phase_;
};

template <class R, class Fn>
class ExecutorJobImpl final : public ExecutorJob {
 public:
  ExecutorJobImpl(EventLoop& loop, Fn fn)
      : future(Future<R>(new ExecutorFutureState<R>(loop, phase))), fn_(std::move(fn)) {}

  void settle() noexcept override {
    if (!future || future.done() || future.get_loop().is_closed()) return;
    if (outcome_.index() == 2) {
      future.set_exception(std::get<2>(outcome_));
    } else if (outcome_.index() == 1) {
      if constexpr (std::is_void_v<R>) {
        future.set_result();
      } else {
        future.set_result(std::move(std::get<1>(outcome_)));
      }
    }
  }
  void drop_future() noexcept override { future = Future<R>(); }

  Future<R> future;

 private:
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  void invoke() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        fn_();
        outcome_.template emplace<1>();
      } else {
        outcome_.template emplace<1>(fn_());
      }
    } catch (...) {
      outcome_.template emplace<2>(std::current_exception());
    }
  }

  Fn fn_;
  std::variant<std::monostate, Value, std::exception_ptr> outcome_;
};

}  // namespace detail

template <class F, class... Args>
Future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> EventLoop::run_in_executor(Executor* executor,
                                                                                                  F&& f,
                                                                                                  Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  check_open();
  auto call = [fn = std::forward<F>(f), ... bound = std::forward<Args>(args)]() mutable -> R {
    return std::invoke(fn, bound...);
  };
  auto job = std::make_unique<detail::ExecutorJobImpl<R, decltype(call)>>(*this, std::move(call));
  Future<R> future = job->future;
  submit_job(executor, std::move(job));
  return future;
}

/// asyncio.to_thread: runs `f(args...)` on the default executor and gives
/// its result (or rethrows its exception) in the awaiting task.
template <class F, class... Args>
Coro<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> to_thread(F f, Args... args) {
  co_return co_await get_running_loop().run_in_executor(nullptr, std::move(f), std::move(args)...);
}

namespace detail {

/// The shared state of a ConcurrentFuture: guarded by a mutex, waited on
/// with a condition variable, usable from any thread.
template <class T>
struct ConcurrentState {
  using Value = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  std::mutex mutex;
  std::condition_variable changed;
  std::variant<std::monostate, Value, std::exception_ptr> outcome;
  bool cancelled = false;
  std::vector<std::function<void()>> callbacks;
  EventLoop* loop = nullptr;  // runs the task (run_coroutine_threadsafe)
  // Loop thread only: the task to cancel, and whether it is done. Not a
  // handle: the last reference might then be dropped on another thread.
  // A pending task is alive (the loop keeps it until it is done).
  TaskStateBase* task_identity = nullptr;
  bool task_finished = false;

  bool done_locked() const noexcept { return cancelled || outcome.index() != 0; }

  /// Completes once; runs the done callbacks outside the lock.
  template <class Set>
  bool finish(Set&& set) {
    std::vector<std::function<void()>> to_run;
    {
      std::lock_guard lock(mutex);
      if (done_locked()) return false;
      set();
      to_run.swap(callbacks);
    }
    changed.notify_all();
    for (auto& callback : to_run) callback();
    return true;
  }
};

}  // namespace detail

/// concurrent.futures.Future: what run_coroutine_threadsafe() gives. Every
/// member is safe to call from any thread; result() blocks the caller, so
/// never call it on the loop's own thread while the loop must progress.
template <class T>
class ConcurrentFuture {
 public:
  ConcurrentFuture() = default;
  explicit ConcurrentFuture(std::shared_ptr<detail::ConcurrentState<T>> state) noexcept : state_(std::move(state)) {}

  bool done() const {
    std::lock_guard lock(state_->mutex);
    return state_->done_locked();
  }
  bool cancelled() const {
    std::lock_guard lock(state_->mutex);
    return state_->cancelled;
  }
  /// Marks the future cancelled and asks the loop to cancel the task; false
  /// if it was already done.
  bool cancel() {
    const bool changed = state_->finish([this] { state_->cancelled = true; });
    if (changed && state_->loop) {
      try {
        state_->loop->call_soon_threadsafe([state = state_] {
          // On the loop's thread, unless the task has finished (and its
          // state may be gone).
          if (state->task_finished || !state->task_identity) return;
          AnyTask(state->task_identity).cancel();
        });
      } catch (const RuntimeError&) {
        // The loop is closed; its tasks are gone with it.
      }
    }
    return changed;
  }
  /// Waits up to `timeout` (forever without one) and gives the result:
  /// rethrows the coroutine's exception, CancelledError if cancelled,
  /// TimeoutError if the time ran out first.
  T result(std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    std::unique_lock lock(state_->mutex);
    wait_locked(lock, timeout);
    if (state_->cancelled) throw CancelledError();
    if (state_->outcome.index() == 2) std::rethrow_exception(std::get<2>(state_->outcome));
    if constexpr (!std::is_void_v<T>) return std::get<1>(state_->outcome);
  }
  /// Waits as result() does and gives the exception (null on success).
  std::exception_ptr exception(std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    std::unique_lock lock(state_->mutex);
    wait_locked(lock, timeout);
    if (state_->cancelled) throw CancelledError();
    return state_->outcome.index() == 2 ? std::get<2>(state_->outcome) : std::exception_ptr();
  }
  /// Calls `callback()` when done, on the completing thread (at once if
  /// already done).
  void add_done_callback(std::function<void()> callback) {
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->done_locked()) {
        state_->callbacks.push_back(std::move(callback));
        return;
      }
    }
    callback();
  }

  /// Internal: the shared state.
  const std::shared_ptr<detail::ConcurrentState<T>>& state() const noexcept { return state_; }

 private:
  void wait_locked(std::unique_lock<std::mutex>& lock, std::optional<std::chrono::nanoseconds> timeout) {
    auto ready = [this] { return state_->done_locked(); };
    if (!timeout) {
      state_->changed.wait(lock, ready);
    } else if (!state_->changed.wait_for(lock, *timeout, ready)) {
      throw TimeoutError();
    }
  }

  std::shared_ptr<detail::ConcurrentState<T>> state_;
};

/// asyncio.run_coroutine_threadsafe: schedules `coro` as a task on `loop`
/// (running in another thread) and gives a ConcurrentFuture for its
/// outcome. Cancelling that future cancels the task.
/// `loop` must outlive the returned future's cancel().
template <class T>
ConcurrentFuture<T> run_coroutine_threadsafe(Coro<T> coro, EventLoop& loop) {
  auto state = std::make_shared<detail::ConcurrentState<T>>();
  state->loop = &loop;
  auto shared_coro = std::make_shared<Coro<T>>(std::move(coro));
  loop.call_soon_threadsafe([state, shared_coro, &loop]() {
    Task<T> task = loop.create_task(std::move(*shared_coro));
    state->task_identity = static_cast<detail::TaskStateBase*>(task.state());
    {
      std::lock_guard lock(state->mutex);
      if (state->cancelled) task.cancel();  // cancelled before it started
    }
    task.add_done_callback([state](Future<T>& done) {
      state->task_finished = true;
      if (done.cancelled()) {
        state->finish([&] { state->cancelled = true; });
      } else if (std::exception_ptr error = done.exception()) {
        state->finish([&] { state->outcome.template emplace<2>(error); });
      } else if constexpr (std::is_void_v<T>) {
        state->finish([&] { state->outcome.template emplace<1>(); });
      } else {
        state->finish([&] { state->outcome.template emplace<1>(std::move(done).result()); });
      }
    });
  });
  return ConcurrentFuture<T>(std::move(state));
}

/// asyncio.wrap_future: a Future on the running loop that completes when
/// `future` does (its outcome copied over); cancelling it cancels `future`.
template <class T>
Future<T> wrap_future(ConcurrentFuture<T> future) {
  EventLoop& loop = get_running_loop();
  Future<T> wrapped = loop.create_future<T>();
  // The completing thread must not copy or drop a loop-thread Future: it
  // only passes this box on, and the loop's thread deletes it. If the loop
  // closed first, the box is left behind on purpose.
  auto* box = new Future<T>(wrapped);
  future.add_done_callback([future, box, &loop]() mutable {
    try {
      loop.call_soon_threadsafe([future, box]() mutable {
        std::unique_ptr<Future<T>> owned(box);
        Future<T>& wrapped = *owned;
        if (wrapped.done()) return;
        if (future.cancelled()) {
          wrapped.cancel();
        } else if (std::exception_ptr error = future.exception()) {
          wrapped.set_exception(error);
        } else if constexpr (std::is_void_v<T>) {
          wrapped.set_result();
        } else {
          wrapped.set_result(future.result());
        }
      });
    } catch (const RuntimeError&) {
      // The loop closed first: nobody can await the wrapper any more.
    }
  });
  wrapped.add_done_callback([future](AnyFuture& done) mutable {
    if (done.cancelled()) future.cancel();
  });
  return wrapped;
}

}  // namespace aiouv

#endif
