// asyncio's _GatheringFuture and its _done_callback.
#include <aiouv/events.hpp>

namespace aiouv::detail {

void GatherStateBase::watch(std::vector<AnyFuture> children) {
  children_ = std::move(children);
  if (children_.empty()) {
    collect();
    finish_with_value();
    return;
  }
  for (AnyFuture& child : children_) {
    // The callback keeps the outer future alive until every child is done.
    child.state()->add_done_callback(
        [outer = Ref<GatherStateBase>(this)](FutureStateBase& done) { outer->on_child_done(done); });
  }
}

bool GatherStateBase::cancel(std::string_view message) {
  if (done()) return false;
  bool any = false;
  for (AnyFuture& child : children_) {
    if (child.cancel(message)) any = true;
  }
  if (any) cancel_requested_ = true;
  return any;
}

void GatherStateBase::on_child_done(FutureStateBase& child) {
  if (done()) {
    // Mark the child's exception retrieved, as asyncio does.
    if (!child.cancelled()) (void)child.exception();
    return;
  }
  if (!return_exceptions_) {
    if (child.cancelled()) {
      set_exception(std::make_exception_ptr(child.make_cancelled_error()));
      return;
    }
    if (std::exception_ptr error = child.exception()) {
      set_exception(error);
      return;
    }
  }
  if (++finished_ < children_.size()) return;
  if (cancel_requested_) {
    // Every child ended after a cancel(): the gather raises CancelledError.
    set_exception(std::make_exception_ptr(child.make_cancelled_error()));
    return;
  }
  try {
    collect();
  } catch (...) {
    set_exception(std::current_exception());
    return;
  }
  finish_with_value();
}

}  // namespace aiouv::detail
