#ifndef AIOUV_SRC_NET_TLS_SSL_ERRORS_HPP_INCLUDED
#define AIOUV_SRC_NET_TLS_SSL_ERRORS_HPP_INCLUDED

// Turning OpenSSL's error queue into aiouv::SSLError, worded as Python's
// ssl module words it.

#include <exception>
#include <string>

#include <aiouv/ssl.hpp>

// OpenSSL's connection type.
struct ssl_st;

namespace aiouv::detail {

/// An SSLError from the oldest error on this thread's OpenSSL error queue
/// (which it empties), e.g. "[SSL: WRONG_VERSION_NUMBER] wrong version
/// number"; `fallback` words it if the queue is empty.
std::exception_ptr take_ssl_error(const char* fallback);
/// The same, thrown.
[[noreturn]] void throw_ssl_error(const char* fallback);
/// The error a failed handshake on `ssl` ends with: an
/// SSLCertVerificationError if the peer's certificate did not verify
/// (`host` names the host asked for), else take_ssl_error().
std::exception_ptr handshake_error(ssl_st* ssl, const std::string& host);

}  // namespace aiouv::detail

#endif
