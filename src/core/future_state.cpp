// asyncio.Future's state machine.
#include <aiouv/events.hpp>
#include <aiouv/log.hpp>

#include <algorithm>

namespace aiouv::detail {

FutureStateBase::FutureStateBase(EventLoop& loop, void* slot, bool is_task) noexcept
    : loop_(&loop), slot_(slot), is_task_(is_task) {
  ++loop.live_futures_;
}

FutureStateBase::~FutureStateBase() {
  report_unretrieved_exception();
  --loop_->live_futures_;
}

void FutureStateBase::report_unretrieved_exception() noexcept {
  if (!log_traceback_) return;
  log_traceback_ = false;
  ExceptionContext context;
  context.message = is_task_ ? "Task exception was never retrieved" : "Future exception was never retrieved";
  context.exception = exception_;
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
    case Status::finished: return exception_ ? "<Future finished exception>" : "<Future finished>";
  }
  return "<Future>";
}

void FutureStateBase::set_cancel_message(std::string_view message) {
  if (message.empty()) {
    cancel_message_.reset();
  } else {
    cancel_message_ = std::make_unique<std::string>(message);
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
  exception_ = std::move(exception);
  log_traceback_ = true;
  finish(Status::finished);
}

void FutureStateBase::check_result() {
  if (status_ == Status::cancelled) throw make_cancelled_error();
  if (status_ == Status::pending) throw InvalidStateError("Result is not ready.");
  log_traceback_ = false;
  if (exception_) std::rethrow_exception(exception_);
}

std::exception_ptr FutureStateBase::exception() {
  if (status_ == Status::cancelled) throw make_cancelled_error();
  if (status_ == Status::pending) throw InvalidStateError("Exception is not set.");
  log_traceback_ = false;
  return exception_;
}

std::uint64_t FutureStateBase::add_done_callback(DoneCallback callback) {
  const std::uint64_t id = next_callback_id_++;
  const std::size_t index = entry_count();
  if (index == 0) {
    first_.callback = std::move(callback);
    first_.id = id;
  } else {
    more_.push_back(Entry{id, std::move(callback)});
  }
  if (done()) schedule_callback(index);
  return id;
}

std::size_t FutureStateBase::remove_done_callback(std::uint64_t id) {
  // Once done, every callback is already scheduled and will run (asyncio:
  // the list was emptied when the future finished).
  if (done()) return 0;
  std::size_t removed = 0;
  auto it = std::remove_if(more_.begin(), more_.end(), [id](const Entry& e) { return e.id == id; });
  removed += static_cast<std::size_t>(more_.end() - it);
  more_.erase(it, more_.end());
  if (first_.id == id) {
    ++removed;
    if (more_.empty()) {
      first_ = Entry{};
    } else {
      first_ = std::move(more_.front());
      more_.erase(more_.begin());
    }
  }
  return removed;
}

void FutureStateBase::finish(Status status) {
  status_ = status;
  const std::size_t count = entry_count();
  for (std::size_t i = 0; i < count; ++i) schedule_callback(i);
}

void FutureStateBase::schedule_callback(std::size_t index) {
  // A future finished while the loop is closing (a frame's destructor did
  // it) has nowhere to run its callbacks; asyncio would fail the same way.
  if (loop_->is_closed()) return;
  loop_->enqueue([self = Ref<FutureStateBase>(this), index] { self->run_callback(index); });
}

void FutureStateBase::run_callback(std::size_t index) {
  // Moved out first: the callback may add callbacks and grow more_.
  DoneCallback callback = std::move(entry(index).callback);
  if (callback) callback(*this);
}

}  // namespace aiouv::detail
