#ifndef AIOUV_SRC_NET_TLS_TLS_PARAMS_HPP_INCLUDED
#define AIOUV_SRC_NET_TLS_TLS_PARAMS_HPP_INCLUDED

// The settings of one TLS session, as the create_* calls and start_tls()
// collect them from their options.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <aiouv/events.hpp>

namespace aiouv::detail {

/// What a TLS session is made with.
struct TlsParams {
  std::shared_ptr<SSLContext> context;
  bool server_side = false;
  std::string server_hostname;  // client side: SNI and the name checked
  Clock::duration handshake_timeout = std::chrono::seconds(60);  // asyncio's SSL_HANDSHAKE_TIMEOUT
  Clock::duration shutdown_timeout = std::chrono::seconds(30);   // asyncio's SSL_SHUTDOWN_TIMEOUT
};

/// Checks the options of a TLS connection as asyncio does and fills in the
/// defaults. std::invalid_argument for a misuse.
TlsParams make_tls_params(std::shared_ptr<SSLContext> context, bool server_side,
                          const std::optional<std::string>& server_hostname,
                          const std::optional<std::chrono::nanoseconds>& handshake_timeout,
                          const std::optional<std::chrono::nanoseconds>& shutdown_timeout);

}  // namespace aiouv::detail

#endif
