#ifndef AIOUV_TRANSPORTS_HPP_INCLUDED
#define AIOUV_TRANSPORTS_HPP_INCLUDED

/// \file
/// asyncio's transports: the connection side that protocols talk to.

#include <any>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include <aiouv/sockets.hpp>

namespace aiouv {

class BaseProtocol;
class EventLoop;

/// asyncio.Transport for a stream (TCP or Unix socket, pipe): bytes in
/// through its protocol's callbacks, bytes out through write(). Created by
/// create_connection(), create_server() and their relatives; shared
/// ownership, and every method is safe after the connection is gone (they
/// do nothing, or say so). Loop thread only.
class Transport {
 public:
  virtual ~Transport() = default;

  // ---- BaseTransport ----

  /// "peername" and "sockname" (SocketAddress), "socket" (uv_os_fd_t);
  /// an empty std::any for anything else or once closed.
  virtual std::any get_extra_info(std::string_view name) const = 0;
  /// The peer's address, if connected over IP.
  virtual std::optional<SocketAddress> peername() const = 0;
  /// Our end's address, if over IP.
  virtual std::optional<SocketAddress> sockname() const = 0;
  /// True once close() or abort() was called or the connection was lost.
  virtual bool is_closing() const noexcept = 0;
  /// Closes after the write buffer is flushed; connection_lost(nullptr)
  /// follows. Reading stops at once.
  virtual void close() = 0;
  /// Replaces the protocol (it must be the same kind, stream or buffered).
  virtual void set_protocol(std::shared_ptr<BaseProtocol> protocol) = 0;
  /// The current protocol (empty once the connection is gone).
  virtual std::shared_ptr<BaseProtocol> get_protocol() const = 0;
  /// The loop the transport belongs to.
  virtual EventLoop& get_loop() const noexcept = 0;

  // ---- ReadTransport ----

  /// True unless reading was paused or the transport is closing.
  virtual bool is_reading() const noexcept = 0;
  /// Stops calling data_received() until resume_reading(); idempotent.
  virtual void pause_reading() = 0;
  /// Undoes pause_reading(); idempotent.
  virtual void resume_reading() = 0;

  // ---- WriteTransport ----

  /// Sends `data`, or buffers what the socket does not take now. Never
  /// blocks; watch pause_writing()/resume_writing() (or use a
  /// StreamWriter's drain()) to bound the buffer. RuntimeError("Cannot call
  /// write() after write_eof()"). After the connection was lost the bytes
  /// are dropped and, from the fifth such write on, a warning is logged
  /// (asyncio's "socket.send() raised exception.").
  virtual void write(std::string_view data) = 0;
  /// write() of each piece, in order.
  virtual void writelines(std::initializer_list<std::string_view> pieces) {
    for (std::string_view piece : pieces) write(piece);
  }
  /// Shuts our sending side down once the buffer is flushed (half-close).
  virtual void write_eof() = 0;
  /// True if write_eof() is supported (it is for TCP and Unix sockets).
  virtual bool can_write_eof() const noexcept = 0;
  /// Closes at once, dropping the unsent buffer; connection_lost(nullptr)
  /// follows.
  virtual void abort() = 0;
  /// asyncio's rule: high defaults to 64 KiB (or 4 × low), low to high / 4;
  /// std::invalid_argument unless high >= low >= 0.
  virtual void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                                       std::optional<std::size_t> low = std::nullopt) = 0;
  /// (low, high).
  virtual std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept = 0;
  /// Bytes accepted by write() and not yet handed to the kernel.
  virtual std::size_t get_write_buffer_size() const noexcept = 0;
};

/// asyncio.DatagramTransport over a uv_udp_t: made by
/// create_datagram_endpoint(). Loop thread only; every method is safe after
/// close (sendto() then does nothing).
class DatagramTransport {
 public:
  virtual ~DatagramTransport() = default;
  /// Sends one datagram to `address`, or to the remote address the endpoint
  /// is connected to (then `address` must be unset or equal to it:
  /// std::invalid_argument "Invalid address: must be None or <remote>").
  /// Sent at once when the kernel takes it, else queued (see
  /// get_write_buffer_size()). A failure goes to error_received().
  virtual void sendto(std::string_view data, std::optional<SocketAddress> address = std::nullopt) = 0;
  /// Stops receiving; closes once the queued datagrams are sent;
  /// connection_lost(nullptr) follows.
  virtual void close() = 0;
  /// Closes at once, dropping the queued datagrams.
  virtual void abort() = 0;
  /// True once close() or abort() was called.
  virtual bool is_closing() const noexcept = 0;
  /// Bytes of the datagrams queued and not yet sent.
  virtual std::size_t get_write_buffer_size() const noexcept = 0;
  /// "sockname", "peername" (SocketAddress; peername only when connected),
  /// "socket" (uv_os_sock_t); empty for anything else or once closed.
  virtual std::any get_extra_info(std::string_view name) const = 0;
  /// Our end's address.
  virtual std::optional<SocketAddress> sockname() const = 0;
  /// The remote address, when connected.
  virtual std::optional<SocketAddress> peername() const = 0;
  /// The current protocol (empty once closed).
  virtual std::shared_ptr<BaseProtocol> get_protocol() const = 0;
  /// The loop the endpoint belongs to.
  virtual EventLoop& get_loop() const noexcept = 0;
};

}  // namespace aiouv

#endif
