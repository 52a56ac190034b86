#ifndef AIOUV_SRC_NET_STREAM_TRANSPORT_HPP_INCLUDED
#define AIOUV_SRC_NET_STREAM_TRANSPORT_HPP_INCLUDED

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <aiouv/coro.hpp>
#include <aiouv/detail/io_resource.hpp>
#include <aiouv/futures.hpp>
#include <aiouv/protocols.hpp>
#include <aiouv/transports.hpp>

#include "tls/tls_params.hpp"
#include "water_marks.hpp"

namespace aiouv::detail {

class StreamTransport;

/// Who wants to hear that a transport is gone (a Server counting its
/// clients).
class TransportOwner {
 public:
  virtual void detach(StreamTransport& transport) noexcept = 0;

 protected:
  ~TransportOwner() = default;
};

/// asyncio's _SelectorSocketTransport on a libuv stream (uv_tcp_t or
/// uv_pipe_t). Reads go straight to the protocol (data_received() from a
/// per-thread buffer, or into a BufferedProtocol's buffer); writes try
/// uv_try_write first and queue only the rest, with at most one uv_write in
/// flight: what arrives meanwhile is coalesced into the next one.
///
/// The object holds a reference to itself while its libuv handle is open,
/// so it lives until libuv is done with the handle, however the user drops
/// it.
class StreamTransport final : public Transport,
                              public IoResource,
                              public std::enable_shared_from_this<StreamTransport> {
 public:
  enum class Kind : std::uint8_t { tcp, pipe };

  /// A transport over a fresh uv_tcp_t (not connected yet). std::system_error
  /// if libuv refuses.
  static std::shared_ptr<StreamTransport> create_tcp(EventLoop& loop);
  /// A transport over a fresh uv_pipe_t (a Unix socket; a named pipe on
  /// Windows), not connected yet.
  static std::shared_ptr<StreamTransport> create_pipe(EventLoop& loop);
  ~StreamTransport() override = default;

  uv_stream_t* stream() noexcept { return &handle_.stream; }
  uv_tcp_t* tcp() noexcept { return &handle_.tcp; }
  uv_pipe_t* pipe() noexcept { return &handle_.pipe; }
  Kind kind() const noexcept { return kind_; }
  void set_owner(TransportOwner* owner) noexcept { owner_ = owner; }

  /// Installs the protocol and schedules connection_made() (then
  /// `made.set_result()`, if given) and reading, as asyncio's transport
  /// constructor does.
  void start(std::shared_ptr<BaseProtocol> protocol, Future<void> made = {});
  /// Starts connecting to `address`; the future completes when connected
  /// (std::system_error "Connect call failed ADDRESS" if not).
  Future<void> connect(const SocketAddress& address);
  /// The same for a pipe transport and a socket path.
  Future<void> connect(const std::string& path);
  /// A pipe we only write to (a child's stdin): never reads, so
  /// resume_reading() does nothing. Call before start().
  void set_write_only() noexcept {
    write_only_ = true;
    reading_wanted_ = false;
  }
  /// Closes the handle without any protocol callback (a failed connect or
  /// accept).
  void discard() noexcept;
  std::string repr() const;

  // Transport
  std::any get_extra_info(std::string_view name) const override;
  std::optional<SocketAddress> peername() const override;
  std::optional<SocketAddress> sockname() const override;
  bool is_closing() const noexcept override { return closing_; }
  void close() override;
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }
  EventLoop& get_loop() const noexcept override { return loop(); }
  bool is_reading() const noexcept override { return reading_wanted_ && !closing_; }
  void pause_reading() override;
  void resume_reading() override;
  void write(std::string_view data) override;
  void write_eof() override;
  bool can_write_eof() const noexcept override { return true; }
  void abort() override;
  void set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low) override;
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override {
    return {marks_.low, marks_.high};
  }
  std::size_t get_write_buffer_size() const noexcept override { return pending_.size() + in_flight_.size(); }

  // IoResource
  void abandon() noexcept override;

  // ---- for EventLoop::sendfile (asyncio's empty waiter) ----

  /// Starts a sendfile: until end_sendfile(), write() refuses with
  /// RuntimeError("unable to write; sendfile is in progress"), and the
  /// sendfile's own writes never pause the protocol. RuntimeError("Empty
  /// waiter is already set") if one is running already.
  void begin_sendfile();
  /// Ends the sendfile: write() works again.
  void end_sendfile() noexcept;
  /// write() on behalf of the running sendfile.
  void write_for_sendfile(std::string_view data) { write_bytes(data); }
  /// Completes once every byte written so far has been handed to the OS;
  /// fails with std::system_error("Connection is closed by peer") if the
  /// connection ends first.
  Future<void> wait_flushed();
  /// Fails with the same error once the connection is lost (closed,
  /// aborted or broken): a sendfile waiting for room on its own duplicate
  /// of the socket would otherwise never learn of it.
  Future<void> connection_lost_signal();
  /// The OS descriptor of the socket or pipe (std::system_error once the
  /// handle is closed).
  uv_os_fd_t fileno() const;

 private:
  StreamTransport(EventLoop& loop, Kind kind) noexcept;

  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buffer);
  /// on_alloc for a BufferedProtocol: reads go into its get_buffer().
  void alloc_from_protocol(std::size_t suggested, uv_buf_t* buffer);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer);
  static void on_write(uv_write_t* request, int status);
  static void on_shutdown(uv_shutdown_t* request, int status);
  static void on_close(uv_handle_t* handle);
  static void on_connect(uv_connect_t* request, int status);

  void adopt_handle(const std::shared_ptr<StreamTransport>& self) noexcept;
  std::string pipe_name(bool peer) const;
  void make_connection(Future<void>& made);
  void start_reading();
  void stop_reading() noexcept;
  void eof_received();
  void write_bytes(std::string_view data);
  /// What write_bytes does unless uv_try_write took all of `data`: after
  /// `written` bytes went out (or an error), buffer the rest.
  void write_rest(std::string_view data, int written);
  [[noreturn]] void refuse_write() const;
  void start_write();
  void start_shutdown();
  void maybe_pause_protocol();
  void maybe_resume_protocol();
  /// asyncio's _fatal_error: reports what is not an OS error, then
  /// force_close().
  void fatal_error(std::exception_ptr error, const char* message);
  void fatal_uv_error(int status, const char* message);
  /// asyncio's _force_close: drop the buffer, lose the connection soon.
  void force_close(std::exception_ptr error);
  void schedule_connection_lost(std::exception_ptr error);
  void call_connection_lost(std::exception_ptr error);
  void fail_lost_signal();
  void close_handle() noexcept;

  union Handle {
    Handle() noexcept {}
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  uv_write_t write_request_{};
  uv_shutdown_t shutdown_request_{};
  uv_connect_t connect_request_{};
  Future<void> connected_;
  std::string connecting_to_;

  std::shared_ptr<StreamTransport> self_;  // while the handle is open
  std::shared_ptr<BaseProtocol> protocol_;
  Protocol* stream_protocol_ = nullptr;      // one of these two is set
  BufferedProtocol* buffered_protocol_ = nullptr;
  TransportOwner* owner_ = nullptr;

  std::string pending_;    // accepted by write(), not yet given to libuv
  std::string in_flight_;  // the bytes of the uv_write in flight
  WaterMarks marks_;
  Future<void> flushed_waiter_;  // set while a sendfile waits for the buffer to empty
  Future<void> lost_signal_;     // made by connection_lost_signal() during a sendfile
  mutable std::optional<SocketAddress> peername_;
  mutable std::optional<SocketAddress> sockname_;

  unsigned conn_lost_ = 0;  // asyncio's counter: nonzero once the end is scheduled
  Kind kind_;
  bool handle_open_ = false;
  bool made_ = false;          // connection_made() was called
  bool reading_wanted_ = true;  // not paused by the protocol
  bool read_active_ = false;    // uv_read_start in effect
  bool eof_ = false;            // the peer's EOF arrived
  bool closing_ = false;
  bool eof_requested_ = false;  // write_eof() called
  bool shutdown_started_ = false;
  bool writing_ = false;        // a uv_write is in flight
  bool protocol_paused_ = false;
  bool write_only_ = false;
  bool sendfile_active_ = false;  // between begin_sendfile() and end_sendfile()
};

/// Creates the protocol with `factory` and starts `transport` with it;
/// gives both once connection_made() has run (closing the transport if
/// that fails). With a TLS context in `tls` (which the caller keeps alive
/// until this completes; a pointer, as g++ 12 miscopies a defaulted
/// by-value coroutine parameter), the protocol is served over TLS and the
/// transport given is the TLS one, after the handshake.
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> start_connected(
    EventLoop& loop, std::shared_ptr<StreamTransport> transport,
    const std::function<std::shared_ptr<BaseProtocol>()>& factory, const TlsParams* tls = nullptr);

}  // namespace aiouv::detail

#endif
