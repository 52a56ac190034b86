#ifndef AIOUV_SSL_HPP_INCLUDED
#define AIOUV_SSL_HPP_INCLUDED

/// \file
/// TLS for streams, as Python's `ssl` module gives asyncio: an SSLContext
/// to pass as `ConnectionOptions::ssl` or `ServerOptions::ssl`, to
/// EventLoop::start_tls() or StreamWriter::start_tls(), and the errors a
/// handshake or a TLS session can end with. Built on OpenSSL.

#include <memory>
#include <string>
#include <string_view>
#include <system_error>

// OpenSSL's context type, so that this header does not need OpenSSL's.
struct ssl_ctx_st;

namespace aiouv {

/// The error category of OpenSSL's error codes (ERR_get_error() values).
const std::error_category& ssl_category() noexcept;

/// ssl.SSLError: a TLS failure (handshake, record, shutdown). Like Python's,
/// it is an OS-level error (a std::system_error, category ssl_category()),
/// so a transport reports it through connection_lost() and not through the
/// loop's exception handler. what() reads as Python's, e.g. "[SSL:
/// WRONG_VERSION_NUMBER] wrong version number".
class SSLError : public std::system_error {
 public:
  SSLError(unsigned long code, const std::string& message)
      : std::system_error(static_cast<int>(code & 0x7fffffffUL), ssl_category(), message) {}
};

/// ssl.SSLCertVerificationError: the peer's certificate did not verify
/// (untrusted, expired, or not for the host name asked for).
class SSLCertVerificationError : public SSLError {
 public:
  SSLCertVerificationError(unsigned long code, const std::string& message, long verify_code,
                           std::string verify_message)
      : SSLError(code, message), verify_code_(verify_code), verify_message_(std::move(verify_message)) {}
  /// X509_V_ERR_... as OpenSSL's X509_verify_cert_error_string() names it.
  long verify_code() const noexcept { return verify_code_; }
  /// e.g. "self-signed certificate" or "Hostname mismatch".
  const std::string& verify_message() const noexcept { return verify_message_; }

 private:
  long verify_code_;
  std::string verify_message_;
};

/// ssl.Purpose for SSLContext::create_default_context().
enum class SSLPurpose {
  server_auth,  ///< a client context: authenticate servers (the default)
  client_auth,  ///< a server context
};

/// ssl.CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED.
enum class VerifyMode { none, optional, required };

/// ssl.SSLContext over an OpenSSL SSL_CTX. Shared: every connection made
/// with it holds a reference. Configure it before the first connection;
/// like Python's, it is not meant to change under live connections.
class SSLContext {
 public:
  /// ssl.create_default_context(purpose): TLS 1.2 or newer; for
  /// server_auth the system's trusted CAs are loaded, certificates are
  /// required and host names checked; for client_auth (a server) no client
  /// certificate is asked for.
  static std::shared_ptr<SSLContext> create_default_context(SSLPurpose purpose = SSLPurpose::server_auth);
  /// ssl.SSLContext(PROTOCOL_TLS_CLIENT): verifies certificates and host
  /// names, trusts nothing until load_verify_locations() or
  /// load_default_certs().
  static std::shared_ptr<SSLContext> client();
  /// ssl.SSLContext(PROTOCOL_TLS_SERVER): needs load_cert_chain().
  static std::shared_ptr<SSLContext> server();

  SSLContext(const SSLContext&) = delete;
  SSLContext& operator=(const SSLContext&) = delete;
  ~SSLContext();

  /// True for a server context.
  bool server_side() const noexcept { return server_side_; }

  /// ssl.SSLContext.load_cert_chain(certfile, keyfile): our certificate
  /// (with its chain) and private key, PEM files; the key may be in
  /// `certfile` when `keyfile` is empty. SSLError if they do not load or
  /// do not match.
  void load_cert_chain(const std::string& certfile, const std::string& keyfile = {});
  /// The same from PEM text in memory.
  void load_cert_chain_pem(std::string_view certificate_pem, std::string_view key_pem);
  /// ssl.SSLContext.load_verify_locations(cafile): trust the CA
  /// certificates in a PEM file.
  void load_verify_locations(const std::string& cafile);
  /// load_verify_locations(cadata=...): trust the CA certificates in PEM text.
  void load_verify_pem(std::string_view ca_pem);
  /// ssl.SSLContext.load_default_certs(): trust the system's CAs.
  void load_default_certs();

  /// ssl.SSLContext.check_hostname: the peer's certificate must name the
  /// host (server_hostname) we connect to. Turning it on makes
  /// verify_mode() required if it was none, as in Python.
  bool check_hostname() const noexcept { return check_hostname_; }
  void set_check_hostname(bool check);
  /// ssl.SSLContext.verify_mode. ValueError semantics: none while
  /// check_hostname() is on throws std::invalid_argument("Cannot set
  /// verify_mode to CERT_NONE when check_hostname is enabled.").
  VerifyMode verify_mode() const noexcept { return verify_mode_; }
  void set_verify_mode(VerifyMode mode);

  /// The OpenSSL context, for anything this class does not wrap (ciphers,
  /// ALPN, session caching...).
  ssl_ctx_st* native_handle() const noexcept { return ctx_; }

 private:
  SSLContext(ssl_ctx_st* ctx, bool server_side) noexcept;
  void apply_verify_mode() noexcept;

  ssl_ctx_st* ctx_;
  bool server_side_;
  bool check_hostname_ = false;
  VerifyMode verify_mode_ = VerifyMode::none;
};

}  // namespace aiouv

#endif
