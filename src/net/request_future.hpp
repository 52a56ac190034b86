#ifndef AIOUV_SRC_NET_REQUEST_FUTURE_HPP_INCLUDED
#define AIOUV_SRC_NET_REQUEST_FUTURE_HPP_INCLUDED

#include <uv.h>

#include <aiouv/futures.hpp>

namespace aiouv::detail {

/// The state of a future that a libuv request completes: cancelling the
/// future (directly, or by cancelling the task awaiting it) also asks
/// libuv to cancel the request. The request must outlive the pending
/// future; once the future is done the state no longer touches it.
template <class T>
class RequestFutureState final : public FutureStateBase {
 public:
  RequestFutureState(EventLoop& loop, uv_req_t* request) noexcept
      : FutureStateBase(loop, &slot_, false), request_(request) {}
  bool cancel(std::string_view message) override {
    if (!done()) uv_cancel(request_);  // fails harmlessly if already running
    return FutureStateBase::cancel(message);
  }
  ResultSlot<T> slot_;

 private:
  uv_req_t* request_;
};

/// A Future<T> over a new RequestFutureState.
template <class T>
Future<T> make_request_future(EventLoop& loop, uv_req_t* request) {
  return Future<T>(new RequestFutureState<T>(loop, request));
}

}  // namespace aiouv::detail

#endif
