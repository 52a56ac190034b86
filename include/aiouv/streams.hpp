#ifndef AIOUV_STREAMS_HPP_INCLUDED
#define AIOUV_STREAMS_HPP_INCLUDED

/// \file
/// asyncio's streams: open_connection(), start_server(), StreamReader and
/// StreamWriter, the coroutine API over transports.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <aiouv/coro.hpp>
#include <aiouv/servers.hpp>
#include <aiouv/sockets.hpp>
#include <aiouv/transports.hpp>

namespace aiouv {

class SSLContext;

namespace detail {
class StreamReaderState;
class StreamProtocol;
/// What every copy of a StreamWriter writes through, so that start_tls()
/// on one copy moves them all to the TLS transport.
struct StreamWriterTarget {
  std::shared_ptr<Transport> transport;
};
}  // namespace detail

/// asyncio's default buffer limit of a StreamReader: 64 KiB.
inline constexpr std::size_t kDefaultStreamLimit = 64 * 1024;

/// asyncio.StreamReader: buffered reading from a connection. A cheap handle
/// (copies share the stream). Results are binary-safe std::strings. Only
/// one coroutine may wait on a reader at a time (RuntimeError "read()
/// called while another coroutine is already waiting for incoming data").
///
/// While more than 2 × limit bytes are buffered the transport stops
/// reading, so a slow consumer bounds the memory a fast peer can use.
/// A read cancelled while it waits loses nothing: the bytes stay buffered
/// for the next read.
class StreamReader {
 public:
  /// A reader fed by hand (feed_data(), feed_eof()), as in asyncio's tests.
  explicit StreamReader(std::size_t limit = kDefaultStreamLimit);

  /// Up to `n` bytes (at least one unless at EOF); n < 0 reads until EOF.
  /// "" at EOF.
  Coro<std::string> read(std::ptrdiff_t n = -1);
  /// One line, "\n" included; at EOF the partial last line (maybe "").
  /// std::invalid_argument (asyncio's ValueError) if the line is longer
  /// than the limit: the line is then discarded.
  Coro<std::string> readline();
  /// Exactly `n` bytes, or IncompleteReadError with what was read before
  /// EOF. std::invalid_argument for n < 0.
  Coro<std::string> readexactly(std::ptrdiff_t n);
  /// Up to and including `separator`. At EOF without it,
  /// IncompleteReadError with the rest; past the limit, LimitOverrunError
  /// (the data stays buffered).
  Coro<std::string> readuntil(std::string separator = "\n");
  /// Up to and including whichever of `separators` ends first (3.13).
  Coro<std::string> readuntil(std::vector<std::string> separators);
  /// True at EOF with nothing left buffered.
  bool at_eof() const noexcept;
  /// The error the connection failed with, if any.
  std::exception_ptr exception() const noexcept;
  /// Whether exception() is set (cheaper than copying it).
  bool failed() const noexcept;

  /// What the protocol calls (public, as in asyncio).
  /// Appends received bytes and wakes a waiting read.
  void feed_data(std::string_view data);
  /// Marks EOF and wakes a waiting read.
  void feed_eof();
  /// Fails the waiting read and every later one with `error`.
  void set_exception(std::exception_ptr error);
  /// The transport to pause and resume (null once the connection is gone).
  void set_transport(Transport* transport);

  /// Shared state (internal).
  explicit StreamReader(std::shared_ptr<detail::StreamReaderState> state) noexcept : state_(std::move(state)) {}
  /// The shared state (internal).
  const std::shared_ptr<detail::StreamReaderState>& state() const noexcept { return state_; }

 private:
  std::shared_ptr<detail::StreamReaderState> state_;
};

/// asyncio.StreamWriter: writing to a connection. A cheap handle.
class StreamWriter {
 public:
  /// Internal: open_connection() and start_server() make writers.
  StreamWriter(std::shared_ptr<Transport> transport, std::shared_ptr<detail::StreamProtocol> protocol) noexcept;

  /// Buffers `data` in the transport (never blocks); await drain() to
  /// respect flow control.
  void write(std::string_view data) { target_->transport->write(data); }
  /// write() of each piece, in order.
  void writelines(std::initializer_list<std::string_view> pieces) { target_->transport->writelines(pieces); }
  /// Waits while the transport's buffer is above its high-water mark; throws
  /// the connection's error if it failed (ConnectionResetError in asyncio:
  /// here std::system_error with errc::connection_reset, "Connection lost").
  Coro<void> drain();
  /// Half-closes: shuts our sending side once the buffer is flushed
  /// (RuntimeError over TLS, which has no half-close).
  void write_eof() { target_->transport->write_eof(); }
  /// True for TCP and Unix sockets, false over TLS.
  bool can_write_eof() const noexcept { return target_->transport->can_write_eof(); }
  /// Closes the transport (after flushing it).
  void close() { target_->transport->close(); }
  /// True once close() was called or the connection was lost.
  bool is_closing() const noexcept { return target_->transport->is_closing(); }
  /// Waits until the connection is closed; throws what it failed with.
  Coro<void> wait_closed();
  /// The transport's extra info ("peername", "sockname", "socket").
  std::any get_extra_info(std::string_view name) const { return target_->transport->get_extra_info(name); }
  /// The underlying transport (after start_tls(), the TLS one).
  Transport& transport() const noexcept { return *target_->transport; }
  /// asyncio's StreamWriter.start_tls(sslcontext): upgrades the connection
  /// to TLS after draining what was written; the reader and every copy of
  /// this writer go on over TLS. A writer from start_server() acts as the
  /// TLS server, one from open_connection() as the client. Throws what the
  /// handshake failed with (SSLError), after closing the connection.
  Coro<void> start_tls(std::shared_ptr<SSLContext> sslcontext, TlsOptions options = {});

 private:
  std::shared_ptr<detail::StreamWriterTarget> target_;
  std::shared_ptr<detail::StreamProtocol> protocol_;
};

/// What open_connection() gives.
struct StreamPair {
  StreamReader reader;
  StreamWriter writer;
};

/// asyncio.open_connection(host, port): connects (as create_connection())
/// and gives a (reader, writer) pair on the running loop.
Coro<StreamPair> open_connection(std::string host, std::uint16_t port, ConnectionOptions options = {},
                                 std::size_t limit = kDefaultStreamLimit);

/// The callback start_server() runs, as a new task, for each client.
using ClientConnected = std::function<Coro<void>(StreamReader, StreamWriter)>;

/// asyncio.start_server(client_connected_cb, host, port): a Server whose
/// every connection runs `client_connected(reader, writer)` in its own task.
/// An exception escaping that task is reported ("Unhandled exception in
/// client_connected_cb") and the connection closed.
Coro<std::shared_ptr<Server>> start_server(ClientConnected client_connected, std::string host, std::uint16_t port,
                                           ServerOptions options = {}, std::size_t limit = kDefaultStreamLimit);

/// asyncio.open_unix_connection(path): open_connection() over a Unix socket.
Coro<StreamPair> open_unix_connection(std::string path, std::size_t limit = kDefaultStreamLimit);
/// The same with asyncio's keywords (TLS: see create_unix_connection()).
Coro<StreamPair> open_unix_connection(std::string path, UnixConnectionOptions options,
                                      std::size_t limit = kDefaultStreamLimit);

/// asyncio.start_unix_server(client_connected_cb, path): start_server() on a
/// Unix socket (see EventLoop::create_unix_server()).
Coro<std::shared_ptr<Server>> start_unix_server(ClientConnected client_connected, std::string path,
                                                ServerOptions options = {}, std::size_t limit = kDefaultStreamLimit);

}  // namespace aiouv

#endif
