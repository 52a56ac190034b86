#ifndef AIOUV_DETAIL_FUTURE_STATE_HPP_INCLUDED
#define AIOUV_DETAIL_FUTURE_STATE_HPP_INCLUDED

#include <coroutine>
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
class FutureStateBase;

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

/// The wake-up of a task suspended on a future. While the task waits, it
/// keeps a pointer to this waiter instead of the future and the coroutine
/// to resume, which keeps a task state within one cache line.
struct TaskWaiter : CallbackLink {
  TaskWaiter() noexcept : CallbackLink(Kind::waiter) {}
  TaskStateBase* task = nullptr;
  FutureStateBase* future = nullptr;  // what the task waits on
  std::coroutine_handle<> leaf;       // the coroutine to resume
};

/// Where a future keeps its value; empty for void.
template <class T>
struct ResultSlot {
  std::optional<T> value;
};
template <>
struct ResultSlot<void> {};

/// The rarely used part of a future's state, made on first use: a task
/// that is never named, cancelled or failed does without it, so its hot
/// state fits one cache line.
struct FutureExtras : PoolAllocated {
  std::exception_ptr exception;
  std::string cancel_message;        // empty: none
  std::optional<std::string> name;   // tasks: set_name()
  std::uint32_t cancels_requested = 0;  // tasks: cancelling()
};

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
  // `slot` lies within the most derived object, less than 256 bytes in. A
  // task starts with one reference, its own (kHoldsSelf).
  inline FutureStateBase(EventLoop& loop, void* slot, bool is_task) noexcept;
  FutureStateBase(const FutureStateBase&) = delete;
  FutureStateBase& operator=(const FutureStateBase&) = delete;
  virtual ~FutureStateBase();

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }

  EventLoop& loop() const noexcept { return *loop_; }
  bool is_task() const noexcept { return flag(kIsTask); }
  Status status() const noexcept { return status_; }
  bool done() const noexcept { return status_ != Status::pending; }
  bool cancelled() const noexcept { return status_ == Status::cancelled; }
  void* slot() const noexcept { return const_cast<char*>(reinterpret_cast<const char*>(this)) + slot_offset_; }

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
    // Without extras there is no exception (nor cancel message) to look at.
    if (status_ == Status::finished && !extras_) [[likely]] {
      clear_flag(kLogTraceback);
      return;
    }
    check_result_slow();
  }
  /// asyncio Future.exception().
  std::exception_ptr exception();
  /// The stored exception without marking it retrieved (nullptr if none).
  std::exception_ptr peek_exception() const noexcept { return extras_ ? extras_->exception : nullptr; }

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
    if (refs_ != 1 || status_ == Status::pending || last_callback_ || flag(kIsTask)) return false;
    if (extras_ && extras_->exception) return false;
    status_ = Status::pending;
    extras_.reset();  // only a cancel message can be in it
    return true;
  }

  /// One bit each, in one byte: a task state has no room for a byte each.
  /// The task's own flags are here too (see TaskStateBase for their use).
  enum StateFlag : std::uint8_t {
    kIsTask = 1,
    kLogTraceback = 2,  // an exception nobody retrieved yet
    kMustCancel = 4,
    kCancelOnResume = 8,
    // 16 is free: whether a task ever ran shows in kRegistered.
    kHoldsSelf = 32,
    kWaiting = 64,
    kRegistered = 128,  // in the loop's TaskRegistry
  };
  bool flag(StateFlag bit) const noexcept { return (flags_ & bit) != 0; }

  /// asyncio's repr, e.g. "<Future pending>" or "<Task finished name='Task-1'>".
  virtual std::string repr() const;
  static const char* status_name(Status status) noexcept;

 private:
  void check_result_slow();

 protected:
  void set_flag(StateFlag bit) noexcept { flags_ = static_cast<std::uint8_t>(flags_ | bit); }
  void clear_flag(StateFlag bit) noexcept { flags_ = static_cast<std::uint8_t>(flags_ & ~bit); }
  /// True if every bit of `mask` is set as in `value`.
  bool flags_are(std::uint8_t mask, std::uint8_t value) const noexcept { return (flags_ & mask) == value; }

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
  std::string_view cancel_message() const noexcept {
    return extras_ ? std::string_view(extras_->cancel_message) : std::string_view();
  }
  /// The extras, made now if need be (may throw bad_alloc).
  FutureExtras& extras();
  /// The extras if made, else null.
  const FutureExtras* extras_if_any() const noexcept { return extras_.get(); }
  /// Frees the callbacks of a future that will never finish (a pending task
  /// destroyed at close): they would only keep other objects alive.
  void drop_callbacks() noexcept {
    if (last_callback_) drop_callbacks_slow();
  }
  /// Reports "... exception was never retrieved" if nobody looked at the
  /// exception. The most derived destructor calls it, so repr() is right.
  void report_unretrieved_exception() noexcept {
    if (flag(kLogTraceback)) [[unlikely]] report_unretrieved_exception_slow();
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

  // 40 bytes with the vtable pointer; a task adds 24 and fits 64.
  EventLoop* loop_;
  std::uint32_t refs_ = 0;
  Status status_ = Status::pending;
  std::uint8_t slot_offset_;  // where the derived class keeps the value
  std::uint8_t flags_;        // StateFlag bits

 private:
  // Circular list in registration order: last_callback_->next is the
  // first. One pointer instead of head and tail keeps states small.
  CallbackLink* last_callback_ = nullptr;
  std::unique_ptr<FutureExtras> extras_;
};

/// A plain future's state: the base plus a slot for T.
template <class T>
class FutureState final : public FutureStateBase {
 public:
  explicit FutureState(EventLoop& loop) noexcept : FutureStateBase(loop, &slot_, false) {}
  [[no_unique_address]] ResultSlot<T> slot_;  // no room for void
  static_assert(alignof(ResultSlot<T>) <= 128, "the slot must lie within 256 bytes of the state");
};

}  // namespace aiouv::detail

#endif
