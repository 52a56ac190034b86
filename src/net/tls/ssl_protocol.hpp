#ifndef AIOUV_SRC_NET_TLS_SSL_PROTOCOL_HPP_INCLUDED
#define AIOUV_SRC_NET_TLS_SSL_PROTOCOL_HPP_INCLUDED

// asyncio's SSLProtocol (sslproto.py, 3.11+): TLS over any stream
// transport, with OpenSSL working on memory buffers.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <aiouv/events.hpp>
#include <aiouv/futures.hpp>
#include <aiouv/protocols.hpp>
#include <aiouv/ssl.hpp>
#include <aiouv/transports.hpp>

#include "../water_marks.hpp"
#include "tls_params.hpp"

struct ssl_st;
struct bio_st;

namespace aiouv::detail {

/// Both halves of asyncio's SSLProtocol in one object: the Protocol that
/// the plain ("raw") transport feeds with ciphertext, and the Transport
/// that the application's protocol sees (asyncio's _SSLProtocolTransport).
///
/// Ciphertext read from the raw transport goes into OpenSSL's incoming
/// memory buffer; plaintext comes out to the application protocol. What
/// the application writes is encrypted into the outgoing buffer, which is
/// written to the raw transport unless that one asked us to pause.
///
/// States, as asyncio's: unwrapped -> handshaking -> wrapped -> flushing
/// (close() or the peer's EOF: deliver what is left) -> shutdown
/// (close_notify exchanged) -> unwrapped (the raw transport is closed).
class SslProtocol final : public Protocol, public Transport, public std::enable_shared_from_this<SslProtocol> {
 public:
  /// `waiter` (if set) completes once the handshake is done (after the
  /// application's connection_made() when `call_connection_made`), or
  /// fails with what ended it.
  static std::shared_ptr<SslProtocol> create(EventLoop& loop, std::shared_ptr<BaseProtocol> app_protocol,
                                             TlsParams params, Future<void> waiter, bool call_connection_made);
  ~SslProtocol() override;
  SslProtocol(const SslProtocol&) = delete;
  SslProtocol& operator=(const SslProtocol&) = delete;

  /// The transport the application writes to.
  std::shared_ptr<Transport> app_transport() { return {shared_from_this(), static_cast<Transport*>(this)}; }
  std::string repr() const;

  // ---- Protocol: the raw transport's side ----
  void connection_made(Transport& transport) override;
  void data_received(std::string_view data) override;
  bool eof_received() override;
  void connection_lost(std::exception_ptr error) override;
  void pause_writing() override;
  void resume_writing() override;

  // ---- Transport: the application's side ----
  /// Besides the raw transport's keys: "sslcontext"
  /// (std::shared_ptr<SSLContext>), "ssl_object" (OpenSSL's SSL*),
  /// "peercert" (the peer's certificate, DER bytes in a std::string),
  /// "cipher" and "version" (std::string), "server_hostname".
  std::any get_extra_info(std::string_view name) const override;
  std::optional<SocketAddress> peername() const override;
  std::optional<SocketAddress> sockname() const override;
  bool is_closing() const noexcept override { return app_closed_; }
  /// Flushes, exchanges close_notify, then closes the raw transport.
  void close() override;
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override { return app_protocol_; }
  EventLoop& get_loop() const noexcept override { return *loop_; }
  bool is_reading() const noexcept override { return !app_reading_paused_ && !app_closed_; }
  void pause_reading() override { app_reading_paused_ = true; }
  void resume_reading() override;
  void write(std::string_view data) override;
  /// RuntimeError("SSL doesn't support half-closes"), as asyncio's
  /// NotImplementedError.
  void write_eof() override;
  bool can_write_eof() const noexcept override { return false; }
  void abort() override;
  void set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low) override;
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override {
    return {app_write_marks_.low, app_write_marks_.high};
  }
  std::size_t get_write_buffer_size() const noexcept override;

 private:
  enum class State : std::uint8_t { unwrapped, handshaking, wrapped, flushing, shutdown };
  enum class AppState : std::uint8_t { init, made, eof, lost };

  SslProtocol(EventLoop& loop, std::shared_ptr<BaseProtocol> app_protocol, TlsParams params, Future<void> waiter,
              bool call_connection_made);

  void set_app_protocol(std::shared_ptr<BaseProtocol> protocol);
  void do_handshake();
  void on_handshake_complete(std::exception_ptr error);
  void do_read();
  /// One SSL_read into `buffer`: the bytes read, 0 if OpenSSL needs more
  /// ciphertext; -1 once the peer's close_notify arrived.
  long read_record(char* buffer, std::size_t size);
  /// SSL_write of what OpenSSL takes of `data` into the outgoing buffer;
  /// how many bytes that was.
  std::size_t encrypt(std::string_view data);
  /// Encrypts the backlog, then sends what is ready.
  void do_write();
  void do_flush();
  void do_shutdown();
  void start_shutdown();
  void on_shutdown_complete(std::exception_ptr error);
  void call_eof_received();
  void process_outgoing();
  void control_app_writing();
  void control_ssl_reading();
  void wakeup_waiter(std::exception_ptr error);
  /// asyncio's _fatal_error: report (unless it is an OS or TLS error),
  /// remember it for connection_lost(), abort the raw transport.
  void fatal_error(std::exception_ptr error, const char* message);
  void abort_raw(std::exception_ptr error);

  EventLoop* loop_;
  std::shared_ptr<BaseProtocol> app_protocol_;
  Protocol* app_stream_ = nullptr;  // one of these two is set
  BufferedProtocol* app_buffered_ = nullptr;
  TlsParams params_;
  Future<void> waiter_;
  Transport* raw_ = nullptr;  // valid from connection_made() to connection_lost()
  ssl_st* ssl_ = nullptr;
  bio_st* incoming_ = nullptr;  // owned by ssl_
  bio_st* outgoing_ = nullptr;
  std::string write_backlog_;  // plaintext not yet given to OpenSSL
  std::exception_ptr error_;   // what a fatal error closed the raw transport with
  TimerHandle handshake_timer_;
  TimerHandle shutdown_timer_;
  WaterMarks app_write_marks_;  // of the plaintext the application wrote
  std::size_t incoming_high_ = 256 * 1024;  // asyncio's read-side water marks
  std::size_t incoming_low_ = 64 * 1024;
  unsigned conn_lost_ = 0;
  State state_ = State::unwrapped;
  AppState app_state_ = AppState::init;
  bool call_connection_made_;
  bool app_closed_ = false;
  bool app_reading_paused_ = false;
  bool app_writing_paused_ = false;
  bool ssl_writing_paused_ = false;  // the raw transport asked us to pause
  bool ssl_reading_paused_ = false;  // we paused the raw transport's reading
  bool close_notify_received_ = false;
};

/// The shared_ptr behind a transport a protocol was handed by reference
/// (a stream or TLS transport).
std::shared_ptr<Transport> shared_transport(Transport& transport);
/// asyncio's repr of a stream or TLS transport.
std::string describe_transport(const Transport& transport);

}  // namespace aiouv::detail

#endif
