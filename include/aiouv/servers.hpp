#ifndef AIOUV_SERVERS_HPP_INCLUDED
#define AIOUV_SERVERS_HPP_INCLUDED

/// \file
/// asyncio.Server: what create_server() and start_server() return.

#include <memory>
#include <vector>

#include <aiouv/coro.hpp>
#include <aiouv/sockets.hpp>

namespace aiouv {

class EventLoop;

/// asyncio.Server: listening sockets and the connections they accepted.
/// Shared ownership; it stays alive while it listens or has connections,
/// whatever the user keeps. Loop thread only.
class Server {
 public:
  virtual ~Server() = default;

  /// The loop the server belongs to.
  virtual EventLoop& get_loop() const noexcept = 0;
  /// Stops listening and closes the listening sockets. The accepted
  /// connections stay open (see close_clients()). Idempotent.
  virtual void close() = 0;
  /// Waits until the server is closed and every accepted connection is gone
  /// (asyncio 3.12.1+).
  virtual Coro<void> wait_closed() = 0;
  /// Starts accepting connections, if not yet; then yields once.
  virtual Coro<void> start_serving() = 0;
  /// Accepts connections until cancelled or closed; on the way out it
  /// closes the server and waits for it (CancelledError then propagates).
  /// RuntimeError "server ... is already being awaited on serve_forever()"
  /// or "server ... is closed".
  virtual Coro<void> serve_forever() = 0;
  /// True while accepting connections.
  virtual bool is_serving() const noexcept = 0;
  /// The addresses listened on (empty once closed).
  virtual std::vector<SocketAddress> sockets() const = 0;
  /// close() every accepted connection (after flushing its buffer).
  virtual void close_clients() = 0;
  /// abort() every accepted connection.
  virtual void abort_clients() = 0;
};

}  // namespace aiouv

#endif
