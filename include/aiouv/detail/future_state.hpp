#ifndef AIOUV_DETAIL_FUTURE_STATE_HPP_INCLUDED
#define AIOUV_DETAIL_FUTURE_STATE_HPP_INCLUDED

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <aiouv/detail/frame_pool.hpp>
#include <aiouv/detail/ref.hpp>
#include <aiouv/detail/small_function.hpp>
#include <aiouv/exceptions.hpp>

namespace aiouv {
class EventLoop;
}

namespace aiouv::detail {

class TaskStateBase;

/// A node of a future's done-callback list. Task wake-ups (TaskWaiter) live
/// inside the awaiter, in the suspended coroutine frame, so awaiting a
/// future allocates nothing; user callbacks are heap nodes.
struct CallbackLink {
  enum class Kind : std::uint8_t { waiter, function };
  explicit CallbackLink(Kind k) noexcept : kind(k) {}
  CallbackLink* next = nullptr;
  Kind kind;
  bool linked = false;  // waiters only: in a pending future's list
};

/// The wake-up of a task suspended on a future.
struct TaskWaiter : CallbackLink {
  TaskWaiter() noexcept : CallbackLink(Kind::waiter) {}
  TaskStateBase* task = nullptr;
};

/// Where a future keeps its value; empty for void.
template <class T>
struct ResultSlot {
  std::optional<T> value;
};
template <>
struct ResultSlot<void> {};

/// The untyped part of asyncio.Future: state machine, exception, done
/// callbacks. Loop-thread only; reference counted by Future/Task handles,
/// scheduled callbacks and awaiting tasks.
///
/// Invariant: status_ leaves `pending` exactly once (finish()), and at that
/// moment every registered done callback is scheduled with call_soon, in
/// registration order. A callback added later is scheduled at once.
class FutureStateBase : public PoolAllocated {
 public:
  enum class Status : std::uint8_t { pending, cancelled, finished };
  using DoneCallback = SmallFunction<void(FutureStateBase&)>;

  // Inline (detail/state_lifetime.hpp): every create_task makes one.
  inline FutureStateBase(EventLoop& loop, void* slot, bool is_task) noexcept;
  FutureStateBase(const FutureStateBase&) = delete;
  FutureStateBase& operator=(const FutureStateBase&) = delete;
  virtual ~FutureStateBase();

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }

  EventLoop& loop() const noexcept { return *loop_; }
  bool is_task() const noexcept { return is_task_; }
  Status status() const noexcept { return status_; }
  bool done() const noexcept { return status_ != Status::pending; }
  bool cancelled() const noexcept { return status_ == Status::cancelled; }
  void* slot() const noexcept { return slot_; }

  /// asyncio Future.cancel: false if already done. Task overrides it.
  virtual bool cancel(std::string_view message);
  /// The error that result() throws for a cancelled future.
  CancelledError make_cancelled_error() const;

  /// Throws InvalidStateError if done; otherwise the caller stores the value
  /// in the slot and calls finish_with_value().
  void check_settable() const;
  void finish_with_value() { finish(Status::finished); }
  void set_exception(std::exception_ptr exception);

  /// asyncio Future.result() minus the value: throws CancelledError,
  /// InvalidStateError("Result is not ready.") or the stored exception.
  void check_result() {
    if (status_ == Status::finished && !exception_) [[likely]] {
      log_traceback_ = false;
      return;
    }
    check_result_slow();
  }
  /// asyncio Future.exception().
  std::exception_ptr exception();
  /// The stored exception without marking it retrieved (nullptr if none).
  const std::exception_ptr& peek_exception() const noexcept { return exception_; }

  std::uint64_t add_done_callback(DoneCallback callback);
  std::size_t remove_done_callback(std::uint64_t id);
  /// Links a task's wake-up; the future must be pending.
  void add_waiter(TaskWaiter& waiter) noexcept;
  /// Unlinks a wake-up that will not be needed (its frame is going away).
  void remove_waiter(TaskWaiter& waiter) noexcept;

  /// Makes a finished future pending again, if nothing else can notice:
  /// only the caller holds it, it has no exception and no callbacks. Lets a
  /// hot path (a stream reader waiting for data) reuse one future instead
  /// of making one per wait. False (and nothing changes) otherwise.
  bool try_reset() noexcept {
    if (refs_ != 1 || status_ == Status::pending || exception_ || last_callback_ || is_task_) return false;
    status_ = Status::pending;
    cancel_message_.reset();
    return true;
  }

  /// asyncio's repr, e.g. "<Future pending>" or "<Task finished name='Task-1'>".
  virtual std::string repr() const;
  static const char* status_name(Status status) noexcept;

 private:
  void check_result_slow();

 protected:
  /// Moves to a final state and schedules the done callbacks.
  void finish(Status status) {
    status_ = status;
    if (last_callback_) schedule_callbacks();
  }
  /// True if the caller's reference is the only one and no done callback
  /// is registered: nothing else can ever see how this future ends.
  bool sole_reference_without_callbacks() const noexcept { return refs_ == 1 && !last_callback_; }
  /// Cancels without touching the stored cancel message.
  void mark_cancelled() { finish(Status::cancelled); }
  void set_cancel_message(std::string_view message);
  bool has_cancel_message() const noexcept { return cancel_message_ != nullptr; }
  std::string_view cancel_message() const noexcept {
    return cancel_message_ ? std::string_view(*cancel_message_) : std::string_view();
  }
  /// Frees the callbacks of a future that will never finish (a pending task
  /// destroyed at close): they would only keep other objects alive.
  void drop_callbacks() noexcept {
    if (last_callback_) drop_callbacks_slow();
  }
  /// Reports "... exception was never retrieved" if nobody looked at the
  /// exception. The most derived destructor calls it, so repr() is right.
  void report_unretrieved_exception() noexcept {
    if (log_traceback_) [[unlikely]] report_unretrieved_exception_slow();
  }

 private:
  struct CallbackNode;
  class RunCallback;
  void append(CallbackLink* link) noexcept;
  /// Unlinks every link for which `drop(link)` is true; returns how many.
  template <class Drop>
  std::size_t remove_if(Drop&& drop) noexcept;
  /// Takes the whole list, in order, as a null-terminated chain.
  CallbackLink* take_callbacks() noexcept;
  void schedule(CallbackLink* link);
  void schedule_callbacks();
  void drop_callbacks_slow() noexcept;
  void report_unretrieved_exception_slow() noexcept;

  EventLoop* loop_;
  void* slot_;
  std::uint32_t refs_ = 0;
  Status status_ = Status::pending;
  bool is_task_;
  bool log_traceback_ = false;  // an exception nobody retrieved yet
  std::uint32_t next_callback_id_ = 1;
  std::exception_ptr exception_;
  std::unique_ptr<std::string> cancel_message_;
  // Circular list in registration order: last_callback_->next is the
  // first. One pointer instead of head and tail keeps states small.
  CallbackLink* last_callback_ = nullptr;
};

/// A plain future's state: the base plus a slot for T.
template <class T>
class FutureState final : public FutureStateBase {
 public:
  explicit FutureState(EventLoop& loop) noexcept : FutureStateBase(loop, &slot_, false) {}
  ResultSlot<T> slot_;
};

}  // namespace aiouv::detail

#endif
