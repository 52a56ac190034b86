#ifndef AIOUV_SRC_CORE_CONNECTION_MADE_HPP_INCLUDED
#define AIOUV_SRC_CORE_CONNECTION_MADE_HPP_INCLUDED

// The last step of every create_* call: wait for connection_made().

#include <exception>

#include <aiouv/coro.hpp>
#include <aiouv/futures.hpp>

namespace aiouv::detail {

/// Awaits `made`, which completes once the protocol's connection_made()
/// has run. If that fails, or the caller is cancelled meanwhile, `undo`
/// (close or abort) runs on `transport` before the error goes on, so no
/// half-started transport outlives the call. (A member pointer, not a
/// lambda: g++ 12 destroys a lambda temporary in a co_await twice.)
template <class TransportType>
Coro<void> await_connection_made(Future<void> made, TransportType& transport, void (TransportType::*undo)()) {
  std::exception_ptr error;
  try {
    co_await made;
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    (transport.*undo)();
    std::rethrow_exception(error);
  }
}

}  // namespace aiouv::detail

#endif
