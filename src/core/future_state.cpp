// asyncio.Future's state machine.
#include <aiouv/events.hpp>
#include <aiouv/log.hpp>

#include <algorithm>

namespace aiouv::detail {

void FutureStateBase::report_unretrieved_exception_slow() noexcept {
  clear_flag(kLogTraceback);
  ExceptionContext context;
  context.message = flag(kIsTask) ? "Task exception was never retrieved" : "Future exception was never retrieved";
  context.exception = peek_exception();
  try {
    context.object = repr();
  } catch (...) {
  }
  loop_->call_exception_handler(context);
}

const char* FutureStateBase::status_name(Status status) noexcept {
  switch (status) {
    case Status::pending: return "PENDING";
    case Status::cancelled: return "CANCELLED";
    case Status::finished: return "FINISHED";
  }
  return "?";
}

std::string FutureStateBase::repr() const {
  switch (status_) {
    case Status::pending: return "<Future pending>";
    case Status::cancelled: return "<Future cancelled>";
    case Status::finished: return peek_exception() ? "<Future finished exception>" : "<Future finished>";
  }
  return "<Future>";
}

FutureExtras& FutureStateBase::extras() {
  if (!extras_) extras_ = std::make_unique<FutureExtras>();
  return *extras_;
}

void FutureStateBase::set_cancel_message(std::string_view message) {
  if (message.empty()) {
    if (extras_) extras_->cancel_message.clear();
  } else {
    extras().cancel_message = message;
  }
}

bool FutureStateBase::cancel(std::string_view message) {
  if (done()) return false;
  set_cancel_message(message);
  mark_cancelled();
  return true;
}

CancelledError FutureStateBase::make_cancelled_error() const {
  return CancelledError(std::string(cancel_message()));
}

void FutureStateBase::check_settable() const {
  if (done()) throw InvalidStateError(std::string(status_name(status_)) + ": " + repr());
}

void FutureStateBase::set_exception(std::exception_ptr exception) {
  check_settable();
  if (!exception) throw std::invalid_argument("set_exception() needs an exception");
  extras().exception = std::move(exception);
  set_flag(kLogTraceback);
  finish(Status::finished);
}

void FutureStateBase::check_result_slow() {
  if (status_ == Status::cancelled) throw make_cancelled_error();
  if (status_ == Status::pending) throw InvalidStateError("Result is not ready.");
  clear_flag(kLogTraceback);
  if (extras_ && extras_->exception) std::rethrow_exception(extras_->exception);
}

std::exception_ptr FutureStateBase::exception() {
  if (status_ == Status::cancelled) throw make_cancelled_error();
  if (status_ == Status::pending) throw InvalidStateError("Exception is not set.");
  clear_flag(kLogTraceback);
  return peek_exception();
}

/// A user callback: heap node with an id for remove_done_callback().
struct FutureStateBase::CallbackNode : CallbackLink, PoolAllocated {
  CallbackNode(std::uint64_t i, DoneCallback&& cb) noexcept
      : CallbackLink(Kind::function), id(i), callback(std::move(cb)) {}
  std::uint64_t id;
  DoneCallback callback;
};

/// The ready-queue entry that runs one user callback; owns the node, so a
/// queue dropped at close() frees it.
class FutureStateBase::RunCallback {
 public:
  RunCallback(FutureStateBase* future, CallbackNode* node) noexcept : future_(future), node_(node) {}
  RunCallback(RunCallback&& other) noexcept
      : future_(std::move(other.future_)), node_(std::exchange(other.node_, nullptr)) {}
  RunCallback& operator=(RunCallback&&) = delete;
  ~RunCallback() { delete node_; }
  void operator()() { node_->callback(*future_); }

 private:
  Ref<FutureStateBase> future_;
  CallbackNode* node_;
};

void FutureStateBase::append(CallbackLink* link) noexcept {
  if (last_callback_) {
    link->next = last_callback_->next;
    last_callback_->next = link;
  } else {
    link->next = link;
  }
  last_callback_ = link;
}

CallbackLink* FutureStateBase::take_callbacks() noexcept {
  if (!last_callback_) return nullptr;
  CallbackLink* first = last_callback_->next;
  last_callback_->next = nullptr;
  last_callback_ = nullptr;
  return first;
}

template <class Drop>
std::size_t FutureStateBase::remove_if(Drop&& drop) noexcept {
  std::size_t removed = 0;
  CallbackLink* link = take_callbacks();
  while (link) {
    CallbackLink* next = link->next;
    if (drop(link)) {
      ++removed;
    } else {
      append(link);
    }
    link = next;
  }
  return removed;
}

std::uint64_t FutureStateBase::add_done_callback(DoneCallback callback) {
  // Ids count per loop, not per future: unique for the loop's lifetime, and
  // a future does not spend 8 bytes on a counter it rarely uses.
  const std::uint64_t id = ++loop_->done_callback_ids_;
  auto* node = new CallbackNode(id, std::move(callback));
  if (done()) {
    schedule(node);  // asyncio: a callback added to a done future runs soon
  } else {
    append(node);
  }
  return id;
}

std::size_t FutureStateBase::remove_done_callback(std::uint64_t id) {
  // Once done, every callback is already scheduled and will run (asyncio:
  // the list was emptied when the future finished).
  return remove_if([id](CallbackLink* link) {
    if (link->kind != CallbackLink::Kind::function || static_cast<CallbackNode*>(link)->id != id) return false;
    delete static_cast<CallbackNode*>(link);
    return true;
  });
}

void FutureStateBase::add_waiter(TaskWaiter& waiter) noexcept {
  waiter.linked = true;
  append(&waiter);
}

void FutureStateBase::remove_waiter(TaskWaiter& waiter) noexcept {
  remove_if([&waiter](CallbackLink* link) { return link == &waiter; });
  waiter.linked = false;
}

void FutureStateBase::schedule_callbacks() {
  CallbackLink* link = take_callbacks();
  while (link) {
    CallbackLink* next = link->next;
    schedule(link);
    link = next;
  }
}

void FutureStateBase::schedule(CallbackLink* link) {
  if (link->kind == CallbackLink::Kind::waiter) {
    auto* waiter = static_cast<TaskWaiter*>(link);
    waiter->linked = false;
    // A future finished while the loop closes (a frame's destructor did it)
    // has nowhere to run callbacks; the pending task is destroyed anyway.
    if (loop_->is_closed()) return;
    // A raw pointer is safe: a pending task keeps itself alive, and close()
    // drops queued steps before it destroys pending tasks.
    loop_->enqueue(TaskStep{waiter->task});
    return;
  }
  RunCallback run(this, static_cast<CallbackNode*>(link));
  if (loop_->is_closed()) return;  // frees the node
  loop_->enqueue(std::move(run));
}

FutureStateBase::~FutureStateBase() {
  report_unretrieved_exception();
  // Only a future that never finished can still hold callbacks here.
  drop_callbacks();
  if (!flag(kIsTask)) --loop_->live_futures_;  // a task counts in live_tasks_ alone
}

void FutureStateBase::drop_callbacks_slow() noexcept {
  for (CallbackLink* link = take_callbacks(); link;) {
    CallbackLink* next = link->next;
    if (link->kind == CallbackLink::Kind::function) {
      delete static_cast<CallbackNode*>(link);
    } else {
      static_cast<TaskWaiter*>(link)->linked = false;
    }
    link = next;
  }
}

}  // namespace aiouv::detail
