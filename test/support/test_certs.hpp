#ifndef AIOUV_TEST_SUPPORT_TEST_CERTS_HPP_INCLUDED
#define AIOUV_TEST_SUPPORT_TEST_CERTS_HPP_INCLUDED

// A self-signed certificate for the TLS tests, made when first asked for,
// so that no key lives in the repository and none expires.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <aiouv/ssl.hpp>

namespace aiouv::test {

/// A certificate (PEM) for "localhost" and 127.0.0.1, and its EC key.
struct TestCertificate {
  std::string certificate_pem;
  std::string key_pem;
};

namespace certs_detail {

inline std::string drain(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return text;
}

inline TestCertificate make(const char* common_name, const char* alt_names) {
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
  EVP_PKEY* key = nullptr;
  if (!pctx || EVP_PKEY_keygen_init(pctx) != 1 ||
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pctx, NID_X9_62_prime256v1) != 1 || EVP_PKEY_keygen(pctx, &key) != 1) {
    throw std::runtime_error("test key generation failed");
  }
  EVP_PKEY_CTX_free(pctx);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, alt_names);
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  X509_free(cert);
  EVP_PKEY_free(key);
  return {drain(cert_bio), drain(key_bio)};
}

}  // namespace certs_detail

/// The test certificate (made once per process).
inline const TestCertificate& test_certificate() {
  static const TestCertificate certificate = certs_detail::make("localhost", "DNS:localhost,IP:127.0.0.1");
  return certificate;
}

/// A server context serving test_certificate().
inline std::shared_ptr<SSLContext> test_server_context() {
  auto context = SSLContext::server();
  context->load_cert_chain_pem(test_certificate().certificate_pem, test_certificate().key_pem);
  return context;
}

/// A client context that trusts test_certificate() (and nothing else).
inline std::shared_ptr<SSLContext> test_client_context() {
  auto context = SSLContext::client();
  context->load_verify_pem(test_certificate().certificate_pem);
  return context;
}

}  // namespace aiouv::test

#endif
