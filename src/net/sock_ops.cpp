// The sock_* coroutines: asyncio's loop.sock_recv() and friends on a
// non-blocking native socket. Each tries the call at once and, if it
// would block, retries it from add_reader()/add_writer() until it
// completes (detail::when_ready in socket_wait.hpp).
#include <aiouv/tasks.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include "socket_wait.hpp"
#include "stream_transport.hpp"

namespace aiouv {
namespace {

using detail::SocketEvent;
using detail::when_ready;

#ifdef _WIN32
using socket_length = int;
int last_socket_error() noexcept { return WSAGetLastError(); }
bool would_block(int error) noexcept { return error == WSAEWOULDBLOCK || error == WSAEINPROGRESS; }
std::error_code socket_error_code(int error) { return std::error_code(error, std::system_category()); }
void make_non_blocking(uv_os_sock_t sock) {
  u_long on = 1;
  ioctlsocket(sock, FIONBIO, &on);
}
#else
using socket_length = socklen_t;
int last_socket_error() noexcept { return errno; }
bool would_block(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK || error == EINPROGRESS; }
std::error_code socket_error_code(int error) { return std::error_code(error, std::generic_category()); }
void make_non_blocking(uv_os_sock_t sock) { fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK); }
#endif

[[noreturn]] void throw_socket_error(int error, const char *operation) {
  throw std::system_error(socket_error_code(error), operation);
}

SocketAddress address_of(const sockaddr_storage &storage) {
  return SocketAddress(reinterpret_cast<const sockaddr *>(&storage));
}

}  // namespace

Coro<std::size_t> EventLoop::sock_recv_into(uv_os_sock_t sock, std::span<char> buffer) {
  check_open();
  auto attempt = [sock, buffer]() -> std::optional<std::size_t> {
    const auto n = ::recv(sock, buffer.data(), static_cast<int>(buffer.size()), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    const int error = last_socket_error();
    if (would_block(error)) return std::nullopt;
    throw_socket_error(error, "sock_recv");
  };
  co_return co_await when_ready<std::size_t>(*this, sock, SocketEvent::readable, std::move(attempt));
}

Coro<std::string> EventLoop::sock_recv(uv_os_sock_t sock, std::size_t n) {
  // The bytes live in a shared buffer: a cancelled caller cannot leave the
  // retry writing into freed memory.
  auto buffer = std::make_shared<std::string>(n, '\0');
  auto attempt = [sock, buffer]() -> std::optional<std::size_t> {
    const auto r = ::recv(sock, buffer->data(), static_cast<int>(buffer->size()), 0);
    if (r >= 0) return static_cast<std::size_t>(r);
    const int error = last_socket_error();
    if (would_block(error)) return std::nullopt;
    throw_socket_error(error, "sock_recv");
  };
  const std::size_t got = co_await when_ready<std::size_t>(*this, sock, SocketEvent::readable, std::move(attempt));
  buffer->resize(got);
  co_return std::move(*buffer);
}

Coro<std::pair<std::size_t, SocketAddress>> EventLoop::sock_recvfrom_into(uv_os_sock_t sock, std::span<char> buffer,
                                                                          std::size_t nbytes) {
  check_open();
  if (nbytes == 0 || nbytes > buffer.size()) nbytes = buffer.size();
  auto attempt = [sock, buffer, nbytes]() -> std::optional<std::pair<std::size_t, SocketAddress>> {
    sockaddr_storage from{};
    socket_length length = sizeof from;
    const auto r =
        ::recvfrom(sock, buffer.data(), static_cast<int>(nbytes), 0, reinterpret_cast<sockaddr *>(&from), &length);
    if (r >= 0) return std::pair<std::size_t, SocketAddress>(static_cast<std::size_t>(r), address_of(from));
    const int error = last_socket_error();
    if (would_block(error)) return std::nullopt;
    throw_socket_error(error, "sock_recvfrom");
  };
  co_return co_await when_ready<std::pair<std::size_t, SocketAddress>>(*this, sock, SocketEvent::readable,
                                                                       std::move(attempt));
}

Coro<std::pair<std::string, SocketAddress>> EventLoop::sock_recvfrom(uv_os_sock_t sock, std::size_t bufsize) {
  auto buffer = std::make_shared<std::string>(bufsize, '\0');
  auto attempt = [sock, buffer]() -> std::optional<std::pair<std::size_t, SocketAddress>> {
    sockaddr_storage storage{};
    socket_length length = sizeof storage;
    const auto r = ::recvfrom(sock, buffer->data(), static_cast<int>(buffer->size()), 0,
                              reinterpret_cast<sockaddr *>(&storage), &length);
    if (r >= 0) return std::pair<std::size_t, SocketAddress>(static_cast<std::size_t>(r), address_of(storage));
    const int error = last_socket_error();
    if (would_block(error)) return std::nullopt;
    throw_socket_error(error, "sock_recvfrom");
  };
  auto [got, from] = co_await when_ready<std::pair<std::size_t, SocketAddress>>(*this, sock, SocketEvent::readable,
                                                                               std::move(attempt));
  buffer->resize(got);
  co_return std::pair<std::string, SocketAddress>(std::move(*buffer), from);
}

Coro<void> EventLoop::sock_sendall(uv_os_sock_t sock, std::string data) {
  check_open();
  auto bytes = std::make_shared<const std::string>(std::move(data));
  auto sent = std::make_shared<std::size_t>(0);
  auto attempt = [sock, bytes, sent]() -> std::optional<bool> {
    while (*sent < bytes->size()) {
      const auto n = ::send(sock, bytes->data() + *sent, static_cast<int>(bytes->size() - *sent), 0);
      if (n < 0) {
        const int error = last_socket_error();
        if (would_block(error)) return std::nullopt;
        throw_socket_error(error, "sock_sendall");
      }
      *sent += static_cast<std::size_t>(n);
    }
    return true;
  };
  (void)co_await when_ready<bool>(*this, sock, SocketEvent::writable, std::move(attempt));
}

Coro<std::size_t> EventLoop::sock_sendto(uv_os_sock_t sock, std::string data, SocketAddress address) {
  check_open();
  auto bytes = std::make_shared<const std::string>(std::move(data));
  auto attempt = [sock, bytes, address]() -> std::optional<std::size_t> {
    const auto n = ::sendto(sock, bytes->data(), static_cast<int>(bytes->size()), 0, address.get(),
                            static_cast<socket_length>(address.size()));
    if (n >= 0) return static_cast<std::size_t>(n);
    const int error = last_socket_error();
    if (would_block(error)) return std::nullopt;
    throw_socket_error(error, "sock_sendto");
  };
  co_return co_await when_ready<std::size_t>(*this, sock, SocketEvent::writable, std::move(attempt));
}

Coro<void> EventLoop::sock_connect(uv_os_sock_t sock, SocketAddress address) {
  check_open();
  if (::connect(sock, address.get(), static_cast<socket_length>(address.size())) == 0) co_return;
  const int error = last_socket_error();
  if (!would_block(error)) throw_socket_error(error, ("Connect call failed " + address.to_string()).c_str());
  // In progress: writable means done; SO_ERROR says how it went.
  auto attempt = [sock, address]() -> std::optional<bool> {
    int status = 0;
    socket_length length = sizeof status;
    getsockopt(sock, SOL_SOCKET, SO_ERROR, reinterpret_cast<char *>(&status), &length);
    if (status == 0) return true;
    if (would_block(status)) return std::nullopt;
    throw_socket_error(status, ("Connect call failed " + address.to_string()).c_str());
  };
  (void)co_await when_ready<bool>(*this, sock, SocketEvent::writable, std::move(attempt));
}

Coro<std::pair<uv_os_sock_t, SocketAddress>> EventLoop::sock_accept(uv_os_sock_t sock) {
  check_open();
  auto attempt = [sock]() -> std::optional<std::pair<uv_os_sock_t, SocketAddress>> {
    sockaddr_storage from{};
    socket_length length = sizeof from;
    const auto conn = ::accept(sock, reinterpret_cast<sockaddr *>(&from), &length);
#ifdef _WIN32
    const bool accepted = conn != INVALID_SOCKET;
#else
    const bool accepted = conn >= 0;
#endif
    if (accepted) {
      make_non_blocking(conn);  // asyncio: the new socket is non-blocking too
      return std::pair<uv_os_sock_t, SocketAddress>(conn, address_of(from));
    }
    const int error = last_socket_error();
    if (would_block(error)) return std::nullopt;
    throw_socket_error(error, "sock_accept");
  };
  co_return co_await when_ready<std::pair<uv_os_sock_t, SocketAddress>>(*this, sock, SocketEvent::readable,
                                                                        std::move(attempt));
}

Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> EventLoop::adopt_socket(
    ProtocolFactory factory, uv_os_sock_t sock) {
  check_open();
  std::shared_ptr<detail::StreamTransport> transport = detail::StreamTransport::create_tcp(*this);
  if (int status = uv_tcp_open(transport->tcp(), sock); status < 0) {
    transport->discard();
    throw std::system_error(make_uv_error_code(status), "connect_accepted_socket");
  }
  co_return co_await detail::start_connected(*this, std::move(transport), factory);
}

}  // namespace aiouv
