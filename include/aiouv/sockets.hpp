#ifndef AIOUV_SOCKETS_HPP_INCLUDED
#define AIOUV_SOCKETS_HPP_INCLUDED

/// \file
/// Socket addresses and what getaddrinfo() gives: the values asyncio passes
/// around as tuples ("host", port) and addrinfo 5-tuples.

#include <uv.h>

#include <cstdint>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace aiouv {

class SSLContext;

/// An IPv4 or IPv6 socket address (asyncio's ("host", port) tuple), or the
/// path of a Unix-domain socket (asyncio's path string).
class SocketAddress {
 public:
  /// An empty address (family() == AF_UNSPEC).
  SocketAddress() noexcept = default;
  /// Copies a sockaddr of family AF_INET or AF_INET6; anything else gives an
  /// empty address.
  explicit SocketAddress(const sockaddr* address) noexcept;
  /// Parses a numeric IPv4 or IPv6 address ("127.0.0.1", "::1");
  /// std::invalid_argument if it is not one. No name resolution.
  static SocketAddress parse(std::string_view ip, std::uint16_t port);
  /// A Unix-domain socket path (a named pipe's name on Windows): family()
  /// is AF_UNIX, port() is 0, and host() and to_string() give the path.
  static SocketAddress from_path(std::string_view path);

  /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when empty.
  int family() const noexcept { return storage_.ss_family; }
  /// True for a default-constructed (or non-IP) address.
  bool empty() const noexcept { return family() == AF_UNSPEC; }
  /// The numeric host ("127.0.0.1", "::1"), or the path of a Unix address.
  std::string host() const;
  /// The path of a Unix-domain address; empty for IP addresses.
  const std::string& path() const noexcept { return path_; }
  /// The port, in host byte order.
  std::uint16_t port() const noexcept;
  /// "127.0.0.1:8080" or "[::1]:8080", as printed in logs.
  std::string to_string() const;

  /// The address for libuv and socket calls (IP addresses only).
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  /// sizeof the family's sockaddr (0 for Unix and empty addresses).
  unsigned size() const noexcept;

  /// Same family, host and port (or path).
  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_{};
  std::string path_;  // AF_UNIX only
};

/// One result of getaddrinfo(): asyncio's (family, type, proto, canonname,
/// sockaddr).
struct AddressInfo {
  int family = 0;
  int type = 0;
  int protocol = 0;
  std::string canonname;
  SocketAddress address;
};

/// The optional arguments of getaddrinfo(), as asyncio's keywords.
struct AddressHints {
  int family = AF_UNSPEC;
  int type = 0;
  int protocol = 0;
  int flags = 0;
};

/// The optional arguments of create_connection(), as asyncio's keywords.
struct ConnectionOptions {
  /// Bind the local end to this address first.
  std::optional<SocketAddress> local_addr{};
  /// AF_INET or AF_INET6 to use only one family of the resolved addresses.
  int family = AF_UNSPEC;
  /// Happy Eyeballs (RFC 8305): when set, the next address is tried after
  /// this long without waiting for the previous attempt to fail, and the
  /// first to connect wins. Unset (asyncio's default): one at a time.
  std::optional<std::chrono::nanoseconds> happy_eyeballs_delay{};
  /// Reorders the resolved addresses to alternate between families, taking
  /// this many of the first family first. Unset means 1 when
  /// happy_eyeballs_delay is set and 0 (resolver order) otherwise.
  std::optional<int> interleave{};
  /// TLS (ssl.hpp): a client context, e.g.
  /// SSLContext::create_default_context(). The connection is returned once
  /// the handshake is done; a failed one throws SSLError.
  std::shared_ptr<SSLContext> ssl{};
  /// The name sent as SNI and checked against the certificate; defaults to
  /// the host connected to. Only with `ssl`.
  std::optional<std::string> server_hostname{};
  /// How long the TLS handshake may take (default 60 s); then
  /// errc::connection_aborted. Only with `ssl`.
  std::optional<std::chrono::nanoseconds> ssl_handshake_timeout{};
  /// How long close() waits for the peer's close_notify (default 30 s)
  /// before aborting. Only with `ssl`.
  std::optional<std::chrono::nanoseconds> ssl_shutdown_timeout{};
};

/// The optional arguments of create_unix_connection() and
/// open_unix_connection(), as asyncio's keywords: only TLS applies.
struct UnixConnectionOptions {
  /// TLS over the Unix socket, as ConnectionOptions::ssl.
  std::shared_ptr<SSLContext> ssl{};
  /// Required with `ssl` (a path names no host): the name sent as SNI and
  /// checked against the certificate. Only with `ssl`.
  std::optional<std::string> server_hostname{};
  /// As ConnectionOptions::ssl_handshake_timeout.
  std::optional<std::chrono::nanoseconds> ssl_handshake_timeout{};
  /// As ConnectionOptions::ssl_shutdown_timeout.
  std::optional<std::chrono::nanoseconds> ssl_shutdown_timeout{};
};

/// The optional arguments of EventLoop::start_tls() and
/// StreamWriter::start_tls(), as asyncio's keywords.
struct TlsOptions {
  /// Act as the TLS server (loop.start_tls only; a StreamWriter knows).
  bool server_side = false;
  /// As ConnectionOptions::server_hostname (no default here: set it when the
  /// context checks host names).
  std::optional<std::string> server_hostname{};
  /// As ConnectionOptions::ssl_handshake_timeout.
  std::optional<std::chrono::nanoseconds> ssl_handshake_timeout{};
  /// As ConnectionOptions::ssl_shutdown_timeout.
  std::optional<std::chrono::nanoseconds> ssl_shutdown_timeout{};
};

/// A host (name or numeric) and port, resolved with getaddrinfo() where
/// asyncio takes a ("host", port) tuple.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

/// The arguments of create_datagram_endpoint(), as asyncio's keywords.
struct DatagramOptions {
  /// Bind to this address (port 0: any free port).
  std::optional<HostPort> local_addr{};
  /// Connect to this address: sendto() needs no address and only its
  /// datagrams are received.
  std::optional<HostPort> remote_addr{};
  /// AF_INET or AF_INET6; needed when neither address is given.
  int family = AF_UNSPEC;
  /// SO_REUSEPORT (where the system has it).
  bool reuse_port = false;
  /// SO_BROADCAST: allow sending to broadcast addresses.
  bool allow_broadcast = false;
};

/// The optional arguments of create_server(), as asyncio's keywords.
struct ServerOptions {
  int backlog = 100;
  /// AF_INET or AF_INET6 to listen on one family only.
  int family = AF_UNSPEC;
  /// SO_REUSEPORT (where the system has it): several servers share a port.
  bool reuse_port = false;
  /// Accept connections right away; otherwise from start_serving() or
  /// serve_forever() on (the socket listens either way).
  bool start_serving = true;
  /// TLS (ssl.hpp): a server context with its certificate loaded. Each
  /// client's protocol sees connection_made() after its handshake.
  std::shared_ptr<SSLContext> ssl{};
  /// As ConnectionOptions::ssl_handshake_timeout.
  std::optional<std::chrono::nanoseconds> ssl_handshake_timeout{};
  /// As ConnectionOptions::ssl_shutdown_timeout.
  std::optional<std::chrono::nanoseconds> ssl_shutdown_timeout{};
};

}  // namespace aiouv

#endif
