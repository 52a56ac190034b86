#ifndef AIOUV_PROTOCOLS_HPP_INCLUDED
#define AIOUV_PROTOCOLS_HPP_INCLUDED

/// \file
/// asyncio's protocols: the callbacks a transport calls. Derive and
/// override what you need; every default does nothing, as in asyncio.
///
/// Callbacks run on the loop's thread. An exception thrown by one is a
/// fatal error for its transport (asyncio's "Fatal error: protocol...
/// call failed."): it is reported through the loop's exception handler and
/// the transport is closed.

#include <cstddef>
#include <exception>
#include <span>
#include <string_view>

#include <aiouv/sockets.hpp>

namespace aiouv {

class Transport;

/// asyncio.BaseProtocol: what every protocol has.
class BaseProtocol {
 public:
  virtual ~BaseProtocol() = default;

  /// The connection is gone: `error` is null after a normal close or EOF,
  /// otherwise what broke it (a std::system_error from libuv). Called
  /// exactly once per connection_made; the transport drops its reference
  /// to the protocol afterwards.
  virtual void connection_lost(std::exception_ptr error) { (void)error; }
  /// The transport's write buffer went over its high-water mark.
  virtual void pause_writing() {}
  /// ... and back down to its low-water mark.
  virtual void resume_writing() {}
};

/// asyncio.Protocol: a stream protocol that receives bytes.
class Protocol : public BaseProtocol {
 public:
  /// The connection is up. `transport` stays valid until connection_lost()
  /// returns (keep a pointer, or the shared_ptr create_connection() gave).
  virtual void connection_made(Transport& transport) { (void)transport; }
  /// Bytes arrived. The view is only valid during the call.
  virtual void data_received(std::string_view data) { (void)data; }
  /// The peer sent EOF. Return true to keep the connection half-open (we
  /// may still write); false (the default) closes the transport.
  virtual bool eof_received() { return false; }
};

/// asyncio.BufferedProtocol: the transport reads straight into the
/// protocol's buffer (no copy).
class BufferedProtocol : public BaseProtocol {
 public:
  /// As Protocol::connection_made().
  virtual void connection_made(Transport& transport) { (void)transport; }
  /// A buffer for the next read, at least 1 byte (`size_hint` is what libuv
  /// suggests). It must stay valid until buffer_updated() or
  /// connection_lost().
  virtual std::span<char> get_buffer(std::size_t size_hint) = 0;
  /// `nbytes` bytes were written at the start of the last buffer.
  virtual void buffer_updated(std::size_t nbytes) = 0;
  /// As Protocol::eof_received().
  virtual bool eof_received() { return false; }
};

class DatagramTransport;

/// asyncio.DatagramProtocol: datagrams in, through a DatagramTransport.
class DatagramProtocol : public BaseProtocol {
 public:
  /// The endpoint is ready; `transport` stays valid until connection_lost().
  virtual void connection_made(DatagramTransport& transport) { (void)transport; }
  /// One datagram from `address`. The view is only valid during the call.
  virtual void datagram_received(std::string_view data, const SocketAddress& address) {
    (void)data;
    (void)address;
  }
  /// A send or receive failed (a std::system_error): for a connected
  /// endpoint, an ICMP "port unreachable" arrives here as
  /// errc::connection_refused. The endpoint stays open.
  virtual void error_received(std::exception_ptr error) { (void)error; }
};

}  // namespace aiouv

#endif
