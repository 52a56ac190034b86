// asyncio's SSLProtocol on OpenSSL memory BIOs.
#include "ssl_protocol.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <climits>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <aiouv/log.hpp>

#include <spdlog/spdlog.h>

#include "../../core/describe.hpp"
#include "../stream_transport.hpp"
#include "ssl_errors.hpp"

namespace aiouv::detail {
namespace {

// Plaintext is read through one buffer per thread (plain Protocols see a
// view of it), as the stream transport reads ciphertext.
constexpr std::size_t kReadChunk = 64 * 1024;
thread_local char plaintext_buffer[kReadChunk];

// asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES.
constexpr unsigned kLostWritesBeforeWarning = 5;

std::exception_ptr connection_error(std::errc condition, const std::string& message) {
  return std::make_exception_ptr(std::system_error(std::make_error_code(condition), message));
}

// As Python prints a float: 60.0, 0.05.
std::string seconds_text(Clock::duration duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  return seconds == static_cast<double>(static_cast<long long>(seconds)) ? fmt::format("{:.1f}", seconds)
                                                                         : fmt::format("{}", seconds);
}

bool is_ip_literal(const std::string& host) {
  unsigned char address[16];
  return uv_inet_pton(AF_INET, host.c_str(), address) == 0 || uv_inet_pton(AF_INET6, host.c_str(), address) == 0;
}

}  // namespace

TlsParams make_tls_params(std::shared_ptr<SSLContext> context, bool server_side,
                          const std::optional<std::string>& server_hostname,
                          const std::optional<std::chrono::nanoseconds>& handshake_timeout,
                          const std::optional<std::chrono::nanoseconds>& shutdown_timeout) {
  if (!context) {
    if (server_hostname) throw std::invalid_argument("server_hostname is only meaningful with ssl");
    if (handshake_timeout) throw std::invalid_argument("ssl_handshake_timeout is only meaningful with ssl");
    if (shutdown_timeout) throw std::invalid_argument("ssl_shutdown_timeout is only meaningful with ssl");
    return {};
  }
  if (context->server_side() != server_side) {
    throw std::invalid_argument(server_side ? "a server needs a server SSLContext (SSLContext::server())"
                                            : "a client needs a client SSLContext (SSLContext::client())");
  }
  TlsParams params;
  params.context = std::move(context);
  params.server_side = server_side;
  // As asyncio's SSLProtocol: a server has no use for it and ignores it.
  if (server_hostname && !server_side) params.server_hostname = *server_hostname;
  for (const auto* timeout : {&handshake_timeout, &shutdown_timeout}) {
    if (*timeout && timeout->value() <= std::chrono::nanoseconds::zero()) {
      const bool handshake = timeout == &handshake_timeout;
      throw std::invalid_argument(fmt::format("{} should be a positive number, got {}",
                                              handshake ? "ssl_handshake_timeout" : "ssl_shutdown_timeout",
                                              std::chrono::duration<double>(timeout->value()).count()));
    }
  }
  if (handshake_timeout) params.handshake_timeout = std::chrono::duration_cast<Clock::duration>(*handshake_timeout);
  if (shutdown_timeout) params.shutdown_timeout = std::chrono::duration_cast<Clock::duration>(*shutdown_timeout);
  if (!params.server_side && params.server_hostname.empty() && params.context->check_hostname()) {
    throw std::invalid_argument("check_hostname requires server_hostname");
  }
  return params;
}

std::shared_ptr<Transport> shared_transport(Transport& transport) {
  if (auto* stream = dynamic_cast<StreamTransport*>(&transport)) return stream->shared_from_this();
  if (auto* tls = dynamic_cast<SslProtocol*>(&transport)) return tls->app_transport();
  throw std::invalid_argument("not a stream transport");
}

std::string describe_transport(const Transport& transport) {
  if (auto* stream = dynamic_cast<const StreamTransport*>(&transport)) return stream->repr();
  if (auto* tls = dynamic_cast<const SslProtocol*>(&transport)) return tls->repr();
  return "<Transport>";
}

std::shared_ptr<SslProtocol> SslProtocol::create(EventLoop& loop, std::shared_ptr<BaseProtocol> app_protocol,
                                                 TlsParams params, Future<void> waiter, bool call_connection_made) {
  return std::shared_ptr<SslProtocol>(
      new SslProtocol(loop, std::move(app_protocol), std::move(params), std::move(waiter), call_connection_made));
}

SslProtocol::SslProtocol(EventLoop& loop, std::shared_ptr<BaseProtocol> app_protocol, TlsParams params,
                         Future<void> waiter, bool call_connection_made)
    : loop_(&loop),
      params_(std::move(params)),
      waiter_(std::move(waiter)),
      call_connection_made_(call_connection_made) {
  set_app_protocol(std::move(app_protocol));
  // start_tls(): the protocol has had its connection_made() already, so it
  // hears connection_lost() even if the handshake fails (asyncio leaves it
  // uninformed then, and a stream reader would wait forever).
  if (!call_connection_made) app_state_ = AppState::made;
}

SslProtocol::~SslProtocol() {
  handshake_timer_.cancel();
  shutdown_timer_.cancel();
  if (ssl_) SSL_free(ssl_);  // frees both BIOs
}

std::string SslProtocol::repr() const {
  return fmt::format("<SSLProtocolTransport {} {}>", params_.server_side ? "server" : "client",
                     app_closed_ ? "closing" : "open");
}

void SslProtocol::set_app_protocol(std::shared_ptr<BaseProtocol> protocol) {
  auto* stream = dynamic_cast<Protocol*>(protocol.get());
  auto* buffered = dynamic_cast<BufferedProtocol*>(protocol.get());
  if (!stream && !buffered) throw std::invalid_argument("the protocol must be a Protocol or a BufferedProtocol");
  app_protocol_ = std::move(protocol);
  app_stream_ = stream;
  app_buffered_ = buffered;
}

// ---- the raw transport's side ----

void SslProtocol::connection_made(Transport& transport) {
  raw_ = &transport;
  ssl_ = SSL_new(params_.context->native_handle());
  BIO* incoming = BIO_new(BIO_s_mem());
  BIO* outgoing = BIO_new(BIO_s_mem());
  if (!ssl_ || !incoming || !outgoing) {
    BIO_free(incoming);
    BIO_free(outgoing);
    fatal_error(take_ssl_error("cannot create an SSL connection"), "SSL handshake failed");
    wakeup_waiter(error_);
    return;
  }
  // A drained memory BIO reads as "retry later", not as end of file.
  BIO_set_mem_eof_return(incoming, -1);
  BIO_set_mem_eof_return(outgoing, -1);
  SSL_set_bio(ssl_, incoming, outgoing);
  incoming_ = incoming;
  outgoing_ = outgoing;
  if (params_.server_side) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    const std::string& host = params_.server_hostname;
    if (!host.empty() && is_ip_literal(host)) {
      // No SNI for an address (RFC 6066); the certificate must list it.
      if (params_.context->check_hostname()) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
    } else if (!host.empty()) {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      if (params_.context->check_hostname()) SSL_set1_host(ssl_, host.c_str());
    }
  }
  handshake_timer_ = loop_->call_later(params_.handshake_timeout, [self = shared_from_this()] {
    if (self->state_ != State::handshaking) return;
    self->fatal_error(connection_error(std::errc::connection_aborted,
                                       "SSL handshake is taking longer than " +
                                           seconds_text(self->params_.handshake_timeout) +
                                           " seconds: aborting the connection"),
                      "SSL handshake failed");
  });
  state_ = State::handshaking;
  do_handshake();
}

void SslProtocol::data_received(std::string_view data) {
  if (state_ == State::unwrapped || data.empty()) return;
  // A memory BIO takes everything (it grows); control_ssl_reading() pauses
  // the raw transport when too much ciphertext waits.
  BIO_write(incoming_, data.data(), static_cast<int>(data.size()));
  switch (state_) {
    case State::handshaking:
      do_handshake();
      break;
    case State::wrapped:
      do_read();
      break;
    case State::flushing:
      do_flush();
      break;
    case State::shutdown:
      do_shutdown();
      break;
    case State::unwrapped:
      break;
  }
}

bool SslProtocol::eof_received() {
  // The peer closed without close_notify (or after it).
  switch (state_) {
    case State::handshaking:
      on_handshake_complete(connection_error(std::errc::connection_reset, "Connection lost during SSL handshake"));
      break;
    case State::wrapped:
      state_ = State::flushing;
      if (app_reading_paused_) return true;  // deliver what is buffered first
      do_flush();
      break;
    case State::flushing:
      do_write();
      state_ = State::shutdown;
      do_shutdown();
      break;
    case State::shutdown:
      do_shutdown();
      break;
    case State::unwrapped:
      break;
  }
  return false;
}

void SslProtocol::connection_lost(std::exception_ptr error) {
  write_backlog_.clear();
  if (outgoing_) (void)BIO_reset(outgoing_);
  ++conn_lost_;
  app_closed_ = true;
  handshake_timer_.cancel();
  shutdown_timer_.cancel();
  if (!error) error = error_;
  const State was = state_;
  state_ = State::unwrapped;
  raw_ = nullptr;
  std::shared_ptr<BaseProtocol> app = std::move(app_protocol_);
  app_stream_ = nullptr;
  app_buffered_ = nullptr;
  if ((was != State::handshaking || !call_connection_made_) &&
      (app_state_ == AppState::made || app_state_ == AppState::eof)) {
    app_state_ = AppState::lost;
    try {
      app->connection_lost(error);
    } catch (...) {
      loop_->call_exception_handler(
          ExceptionContext{"Exception in callback connection_lost", std::current_exception(), {}, repr()});
    }
  }
  wakeup_waiter(error ? error : connection_error(std::errc::connection_reset, "Connection lost during SSL handshake"));
}

void SslProtocol::pause_writing() { ssl_writing_paused_ = true; }

void SslProtocol::resume_writing() {
  ssl_writing_paused_ = false;
  process_outgoing();
}

// ---- handshake ----

void SslProtocol::do_handshake() {
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    process_outgoing();
    on_handshake_complete(nullptr);
    return;
  }
  const int reason = SSL_get_error(ssl_, result);
  process_outgoing();  // our next flight, or the alert that ends it
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) return;
  on_handshake_complete(handshake_error(ssl_, params_.server_hostname));
}

void SslProtocol::on_handshake_complete(std::exception_ptr error) {
  handshake_timer_.cancel();
  if (error) {
    state_ = State::unwrapped;
    bool certificate = false;
    try {
      std::rethrow_exception(error);
    } catch (const SSLCertVerificationError&) {
      certificate = true;
    } catch (...) {
    }
    fatal_error(error, certificate ? "SSL handshake failed on verifying the certificate" : "SSL handshake failed");
    wakeup_waiter(error);
    return;
  }
  state_ = State::wrapped;
  if (call_connection_made_ && app_state_ == AppState::init) {
    app_state_ = AppState::made;
    try {
      if (app_stream_) {
        app_stream_->connection_made(*this);
      } else {
        app_buffered_->connection_made(*this);
      }
    } catch (...) {
      std::exception_ptr failure = std::current_exception();
      fatal_error(failure, "Fatal error: protocol.connection_made() call failed.");
      wakeup_waiter(failure);
      return;
    }
  }
  wakeup_waiter(nullptr);
  if (!write_backlog_.empty()) do_write();
  do_read();
}

// ---- reading ----

long SslProtocol::read_record(char* buffer, std::size_t size) {
  ERR_clear_error();
  const int n = SSL_read(ssl_, buffer, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  if (n > 0) return n;
  const int reason = SSL_get_error(ssl_, n);
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) return 0;
  if (reason == SSL_ERROR_ZERO_RETURN) return -1;
  throw_ssl_error("SSL read failed");
}

void SslProtocol::do_read() {
  if (state_ != State::wrapped && state_ != State::flushing) return;
  try {
    bool peer_closed = false;
    while (!app_reading_paused_ && (state_ == State::wrapped || state_ == State::flushing) && app_protocol_) {
      long n;
      if (app_buffered_) {
        std::span<char> buffer = app_buffered_->get_buffer(kReadChunk);
        if (buffer.empty()) throw RuntimeError("get_buffer() returned an empty buffer");
        n = read_record(buffer.data(), buffer.size());
        if (n > 0) app_buffered_->buffer_updated(static_cast<std::size_t>(n));
      } else {
        n = read_record(plaintext_buffer, kReadChunk);
        if (n > 0) app_stream_->data_received(std::string_view(plaintext_buffer, static_cast<std::size_t>(n)));
      }
      if (n == 0) break;
      if (n < 0) {
        peer_closed = true;
        break;
      }
    }
    if (peer_closed) {
      close_notify_received_ = true;
      call_eof_received();
      start_shutdown();
    } else if (state_ == State::wrapped || state_ == State::flushing) {
      if (!write_backlog_.empty()) {
        do_write();
      } else {
        process_outgoing();  // TLS 1.3 session tickets and key updates
      }
    }
    control_ssl_reading();
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on SSL protocol");
  }
}

void SslProtocol::call_eof_received() {
  if (app_state_ != AppState::made || !app_protocol_) return;
  app_state_ = AppState::eof;
  try {
    const bool keep_open = app_stream_ ? app_stream_->eof_received() : app_buffered_->eof_received();
    if (keep_open) logger()->warn("returning true from eof_received() has no effect when using ssl");
  } catch (...) {
    fatal_error(std::current_exception(), "Error calling eof_received()");
  }
}

void SslProtocol::control_ssl_reading() {
  if (!raw_) return;
  const std::size_t pending = BIO_ctrl_pending(incoming_);
  if (pending >= incoming_high_ && !ssl_reading_paused_) {
    ssl_reading_paused_ = true;
    raw_->pause_reading();
  } else if (pending <= incoming_low_ && ssl_reading_paused_) {
    ssl_reading_paused_ = false;
    raw_->resume_reading();
  }
}

void SslProtocol::resume_reading() {
  if (!app_reading_paused_) return;
  app_reading_paused_ = false;
  // asyncio reads on the next iteration, not inside the caller.
  loop_->call_soon([self = shared_from_this()] {
    if (self->state_ == State::flushing) {
      self->do_flush();
    } else {
      self->do_read();
    }
  });
}

// ---- writing ----

void SslProtocol::write(std::string_view data) {
  if (data.empty()) return;
  if (state_ == State::flushing || state_ == State::shutdown || state_ == State::unwrapped) {
    if (conn_lost_ >= kLostWritesBeforeWarning) logger()->warn("SSL connection is closed");
    ++conn_lost_;
    return;
  }
  if (state_ != State::wrapped) {
    write_backlog_.append(data);
    control_app_writing();  // buffered until the handshake is done
    return;
  }
  try {
    // The usual case encrypts straight from the caller's bytes; only what
    // OpenSSL cannot take now (a renegotiation waiting) is kept.
    if (write_backlog_.empty()) data.remove_prefix(encrypt(data));
    write_backlog_.append(data);
    do_write();
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on SSL protocol");
  }
}

std::size_t SslProtocol::encrypt(std::string_view data) {
  std::size_t taken = 0;
  while (taken < data.size()) {
    ERR_clear_error();
    const std::size_t chunk = std::min<std::size_t>(data.size() - taken, INT_MAX);
    const int n = SSL_write(ssl_, data.data() + taken, static_cast<int>(chunk));
    if (n > 0) {
      taken += static_cast<std::size_t>(n);
      continue;
    }
    const int reason = SSL_get_error(ssl_, n);
    if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) break;
    throw_ssl_error("SSL write failed");
  }
  return taken;
}

void SslProtocol::do_write() {
  if (ssl_ && !write_backlog_.empty()) write_backlog_.erase(0, encrypt(write_backlog_));
  process_outgoing();
}

void SslProtocol::process_outgoing() {
  if (!ssl_writing_paused_ && raw_ && outgoing_) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(outgoing_, &data);
    if (size > 0) {
      // Straight from OpenSSL's buffer: the raw transport copies only what
      // the kernel does not take at once, and calls back into us during
      // write() only to pause writing.
      raw_->write(std::string_view(data, static_cast<std::size_t>(size)));
      (void)BIO_reset(outgoing_);
    }
  }
  control_app_writing();
}

std::size_t SslProtocol::get_write_buffer_size() const noexcept {
  return (outgoing_ ? BIO_ctrl_pending(outgoing_) : 0) + write_backlog_.size();
}

void SslProtocol::control_app_writing() {
  if (!app_protocol_) return;
  const std::size_t size = get_write_buffer_size();
  const bool pause = size >= app_write_marks_.high && !app_writing_paused_;
  const bool resume = size <= app_write_marks_.low && app_writing_paused_;
  if (!pause && !resume) return;
  app_writing_paused_ = pause;
  try {
    if (pause) {
      app_protocol_->pause_writing();
    } else {
      app_protocol_->resume_writing();
    }
  } catch (...) {
    loop_->call_exception_handler(ExceptionContext{
        pause ? "protocol.pause_writing() failed" : "protocol.resume_writing() failed", std::current_exception(), {},
        repr()});
  }
}

void SslProtocol::set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low) {
  app_write_marks_ = write_water_marks(high, low);
  control_app_writing();
}

void SslProtocol::write_eof() { throw RuntimeError("SSL doesn't support half-closes"); }

// ---- closing ----

void SslProtocol::close() {
  if (app_closed_) return;
  app_closed_ = true;
  start_shutdown();
}

void SslProtocol::abort() {
  app_closed_ = true;
  abort_raw(nullptr);
}

void SslProtocol::start_shutdown() {
  if (state_ == State::flushing || state_ == State::shutdown || state_ == State::unwrapped) return;
  app_closed_ = true;
  if (state_ == State::handshaking) {
    abort_raw(nullptr);
    return;
  }
  state_ = State::flushing;
  shutdown_timer_ = loop_->call_later(params_.shutdown_timeout, [self = shared_from_this()] {
    if (self->state_ != State::flushing && self->state_ != State::shutdown) return;
    self->abort_raw(std::make_exception_ptr(TimeoutError("SSL shutdown timed out")));
  });
  do_flush();
}

void SslProtocol::do_flush() {
  try {
    do_read();
    if (state_ != State::flushing) return;  // the read failed or the peer closed first
    if (!write_backlog_.empty()) do_write();
    state_ = State::shutdown;
    do_shutdown();
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on SSL protocol");
  }
}

void SslProtocol::do_shutdown() {
  if (state_ != State::shutdown && state_ != State::flushing) return;
  state_ = State::shutdown;
  ERR_clear_error();
  const int result = SSL_shutdown(ssl_);
  if (result == 1 || close_notify_received_) {
    // Both close_notify alerts are out (or the peer's came first).
    process_outgoing();
    call_eof_received();
    on_shutdown_complete(nullptr);
    return;
  }
  if (result == 0) {  // ours is sent; the peer's has not come yet
    process_outgoing();
    return;
  }
  const int reason = SSL_get_error(ssl_, result);
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
    process_outgoing();
    return;
  }
  on_shutdown_complete(take_ssl_error("SSL shutdown failed"));
}

void SslProtocol::on_shutdown_complete(std::exception_ptr error) {
  shutdown_timer_.cancel();
  if (error) {
    fatal_error(error, "Error occurred during shutdown");
    return;
  }
  state_ = State::unwrapped;
  loop_->call_soon([self = shared_from_this()] {
    if (self->raw_) self->raw_->close();
  });
}

void SslProtocol::fatal_error(std::exception_ptr error, const char* message) {
  if (!is_os_error(error)) {
    loop_->call_exception_handler(ExceptionContext{message, error, {}, repr()});
  } else if (loop_->get_debug()) {
    logger()->debug("{}: {}: {}", repr(), message, describe_exception(error));
  }
  abort_raw(std::move(error));
}

void SslProtocol::abort_raw(std::exception_ptr error) {
  state_ = State::unwrapped;
  if (error && !error_) error_ = std::move(error);
  if (raw_) raw_->abort();
}

void SslProtocol::wakeup_waiter(std::exception_ptr error) {
  if (!waiter_ || waiter_.done()) return;
  if (error) {
    waiter_.set_exception(std::move(error));
    // Whoever waited may be gone (cancelled): the error also reaches the
    // protocol, so it must not be reported as never retrieved.
    (void)waiter_.exception();
  } else {
    waiter_.set_result();
  }
}

// ---- the rest of the application's transport ----

std::any SslProtocol::get_extra_info(std::string_view name) const {
  if (name == "sslcontext") return params_.context;
  if (name == "server_hostname") return params_.server_hostname;
  if (ssl_ && state_ != State::unwrapped && state_ != State::handshaking) {
    if (name == "ssl_object") return ssl_;
    if (name == "cipher") return std::string(SSL_get_cipher_name(ssl_));
    if (name == "version") return std::string(SSL_get_version(ssl_));
    if (name == "peercert") {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
      X509* peer = SSL_get1_peer_certificate(ssl_);
#else
      X509* peer = SSL_get_peer_certificate(ssl_);
#endif
      if (!peer) return {};
      unsigned char* der = nullptr;
      const int size = i2d_X509(peer, &der);
      X509_free(peer);
      if (size <= 0) return {};
      std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(size));
      OPENSSL_free(der);
      return bytes;
    }
  }
  return raw_ ? raw_->get_extra_info(name) : std::any();
}

std::optional<SocketAddress> SslProtocol::peername() const { return raw_ ? raw_->peername() : std::nullopt; }
std::optional<SocketAddress> SslProtocol::sockname() const { return raw_ ? raw_->sockname() : std::nullopt; }

void SslProtocol::set_protocol(std::shared_ptr<BaseProtocol> protocol) { set_app_protocol(std::move(protocol)); }

}  // namespace aiouv::detail
