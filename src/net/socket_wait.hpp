#ifndef AIOUV_SRC_NET_SOCKET_WAIT_HPP_INCLUDED
#define AIOUV_SRC_NET_SOCKET_WAIT_HPP_INCLUDED

// Waiting on a native socket with add_reader()/add_writer(), shared by the
// sock_* coroutines and the sendfile path. The watcher goes away however
// the wait ends, and a wait that is over (cancelled, interrupted) never
// runs its attempt again, so nothing is read into a dropped buffer.

#include <exception>
#include <optional>
#include <utility>

#include <aiouv/events.hpp>
#include <aiouv/futures.hpp>

namespace aiouv::detail {

enum class SocketEvent { readable, writable };

/// When a wait first runs its attempt.
enum class FirstTry { now, when_ready };

/// Runs `attempt` (which gives std::nullopt while the call would block),
/// at once if `first` is FirstTry::now (no watcher if that succeeds) and
/// then each time `sock` reports `event`, until it gives a value or throws.
/// If `interrupt` is given and fails first, the wait fails with its
/// exception; if it is cancelled first, the wait is cancelled; a result
/// does not end the wait. Callers pass a named lambda: g++ 12 destroys a lambda
/// temporary given to a coroutine inside a co_await expression twice.
template <class T, class Attempt>
Coro<T> when_ready(EventLoop& loop, uv_os_sock_t sock, SocketEvent event, Attempt attempt,
                   FirstTry first = FirstTry::now, Future<void> interrupt = {}) {
  if (first == FirstTry::now) {
    if (std::optional<T> now = attempt()) co_return std::move(*now);
  }
  Future<T> done = loop.create_future<T>();
  auto retry = [done, attempt]() mutable {
    if (done.done()) return;
    try {
      if (std::optional<T> value = attempt()) done.set_result(std::move(*value));
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  };
  const bool for_writing = event == SocketEvent::writable;
  if (for_writing) {
    loop.add_writer(sock, std::move(retry));
  } else {
    loop.add_reader(sock, std::move(retry));
  }
  std::uint64_t interrupted = 0;
  if (interrupt) {
    interrupted = interrupt.add_done_callback([done](Future<void>& why) mutable {
      if (done.done()) return;
      // exception() throws for a cancelled future; here that would escape
      // into the exception handler and leave the wait pending forever.
      if (why.cancelled()) {
        done.cancel();
      } else if (std::exception_ptr error = why.exception()) {
        done.set_exception(std::move(error));
      }
    });
  }
  struct StopWatching {
    EventLoop& loop;
    uv_os_sock_t sock;
    bool for_writing;
    Future<void>& interrupt;
    std::uint64_t interrupted;
    ~StopWatching() {
      if (interrupt) interrupt.remove_done_callback(interrupted);
      if (loop.is_closed()) return;
      if (for_writing) {
        loop.remove_writer(sock);
      } else {
        loop.remove_reader(sock);
      }
    }
  } stop{loop, sock, for_writing, interrupt, interrupted};
  co_return co_await done;
}

}  // namespace aiouv::detail

#endif
