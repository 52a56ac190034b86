// SSLContext on OpenSSL's SSL_CTX, and the ssl error category.
#include <aiouv/ssl.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <memory>
#include <stdexcept>

#include "ssl_errors.hpp"

namespace aiouv {
namespace {

class SslCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ssl"; }
  std::string message(int code) const override {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(code));
    return reason ? reason : "unknown SSL error";
  }
};

// Python's "[LIB: REASON]" prefix names the library briefly.
const char* library_name(unsigned long code) noexcept {
  switch (ERR_GET_LIB(code)) {
    case ERR_LIB_X509:
      return "X509";
    case ERR_LIB_PEM:
      return "PEM";
    case ERR_LIB_EVP:
      return "EVP";
    case ERR_LIB_SYS:
      return "SYS";
    default:
      return "SSL";
  }
}

std::string upper_snake(std::string text) {
  for (char& c : text) c = c == ' ' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

struct BioDeleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memory_bio(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) detail::throw_ssl_error("cannot read PEM data");
  return bio;
}

}  // namespace

const std::error_category& ssl_category() noexcept {
  static const SslCategory category;
  return category;
}

namespace detail {

std::exception_ptr take_ssl_error(const char* fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::make_exception_ptr(SSLError(0, fallback));
  const char* reason = ERR_reason_error_string(code);
  const std::string text = reason ? reason : fallback;
  return std::make_exception_ptr(
      SSLError(code, std::string("[") + library_name(code) + ": " + upper_snake(text) + "] " + text));
}

void throw_ssl_error(const char* fallback) { std::rethrow_exception(take_ssl_error(fallback)); }

std::exception_ptr handshake_error(SSL* ssl, const std::string& host) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify == X509_V_OK) return take_ssl_error("SSL handshake failed");
  const unsigned long code = ERR_peek_error();
  ERR_clear_error();
  std::string why = X509_verify_cert_error_string(verify);
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH) why = "Hostname mismatch, certificate is not valid for '" + host + "'.";
  return std::make_exception_ptr(SSLCertVerificationError(
      code, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: " + why, verify, why));
}

}  // namespace detail

SSLContext::SSLContext(ssl_ctx_st* ctx, bool server_side) noexcept : ctx_(ctx), server_side_(server_side) {
  // As Python: TLS 1.2 at least, no buffers kept by idle connections.
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
  apply_verify_mode();
}

SSLContext::~SSLContext() { SSL_CTX_free(ctx_); }

std::shared_ptr<SSLContext> SSLContext::client() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) detail::throw_ssl_error("cannot create an SSL context");
  std::shared_ptr<SSLContext> context(new SSLContext(ctx, false));
  context->set_check_hostname(true);  // and verify_mode required
  return context;
}

std::shared_ptr<SSLContext> SSLContext::server() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) detail::throw_ssl_error("cannot create an SSL context");
  return std::shared_ptr<SSLContext>(new SSLContext(ctx, true));
}

std::shared_ptr<SSLContext> SSLContext::create_default_context(SSLPurpose purpose) {
  if (purpose == SSLPurpose::client_auth) return server();
  std::shared_ptr<SSLContext> context = client();
  context->load_default_certs();
  return context;
}

void SSLContext::load_cert_chain(const std::string& certfile, const std::string& keyfile) {
  if (SSL_CTX_use_certificate_chain_file(ctx_, certfile.c_str()) != 1) {
    detail::throw_ssl_error("cannot load certificate");
  }
  const std::string& key = keyfile.empty() ? certfile : keyfile;
  if (SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1) detail::throw_ssl_error("cannot load key");
  if (SSL_CTX_check_private_key(ctx_) != 1) detail::throw_ssl_error("key does not match certificate");
}

void SSLContext::load_cert_chain_pem(std::string_view certificate_pem, std::string_view key_pem) {
  BioPtr certificates = memory_bio(certificate_pem);
  X509* leaf = PEM_read_bio_X509_AUX(certificates.get(), nullptr, nullptr, nullptr);
  if (!leaf) detail::throw_ssl_error("cannot load certificate");
  const int used = SSL_CTX_use_certificate(ctx_, leaf);
  X509_free(leaf);
  if (used != 1) detail::throw_ssl_error("cannot load certificate");
  SSL_CTX_clear_chain_certs(ctx_);
  while (X509* intermediate = PEM_read_bio_X509(certificates.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx_, intermediate) != 1) {
      X509_free(intermediate);
      detail::throw_ssl_error("cannot load certificate chain");
    }
  }
  ERR_clear_error();  // the end of the PEM data
  BioPtr key_bio = memory_bio(key_pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  if (!key) detail::throw_ssl_error("cannot load key");
  const int key_used = SSL_CTX_use_PrivateKey(ctx_, key);
  EVP_PKEY_free(key);
  if (key_used != 1) detail::throw_ssl_error("cannot load key");
  if (SSL_CTX_check_private_key(ctx_) != 1) detail::throw_ssl_error("key does not match certificate");
}

void SSLContext::load_verify_locations(const std::string& cafile) {
  if (SSL_CTX_load_verify_locations(ctx_, cafile.c_str(), nullptr) != 1) detail::throw_ssl_error("cannot load CA file");
}

void SSLContext::load_verify_pem(std::string_view ca_pem) {
  BioPtr bio = memory_bio(ca_pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
  int loaded = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    const int added = X509_STORE_add_cert(store, ca);
    X509_free(ca);
    if (added != 1) detail::throw_ssl_error("cannot add CA certificate");
    ++loaded;
  }
  ERR_clear_error();
  if (loaded == 0) throw SSLError(0, "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found");
}

void SSLContext::load_default_certs() {
  if (SSL_CTX_set_default_verify_paths(ctx_) != 1) detail::throw_ssl_error("cannot load the system's CAs");
}

void SSLContext::set_check_hostname(bool check) {
  check_hostname_ = check;
  if (check && verify_mode_ == VerifyMode::none) verify_mode_ = VerifyMode::required;
  apply_verify_mode();
}

void SSLContext::set_verify_mode(VerifyMode mode) {
  if (mode == VerifyMode::none && check_hostname_) {
    throw std::invalid_argument("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.");
  }
  verify_mode_ = mode;
  apply_verify_mode();
}

void SSLContext::apply_verify_mode() noexcept {
  int flags = SSL_VERIFY_NONE;
  if (verify_mode_ == VerifyMode::optional) flags = SSL_VERIFY_PEER;
  if (verify_mode_ == VerifyMode::required) {
    flags = SSL_VERIFY_PEER;
    if (server_side_) flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(ctx_, flags, nullptr);
}

}  // namespace aiouv
