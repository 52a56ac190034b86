// The sock_* coroutines on non-blocking native sockets, cancellation
// without data loss, UDP datagrams, and connect_accepted_socket.
#include "net/net_helpers.hpp"

#ifndef _WIN32  // plain BSD sockets for the fixtures
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Sockets = LoopTest;

int non_blocking_socket(int type) {
  const int fd = ::socket(AF_INET, type, 0);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/// A non-blocking socket of `type` bound to 127.0.0.1 on a free port.
int bound_socket(int type) {
  const int fd = non_blocking_socket(type);
  const SocketAddress any = SocketAddress::parse("127.0.0.1", 0);
  EXPECT_EQ(::bind(fd, any.get(), any.size()), 0);
  return fd;
}

SocketAddress local_address(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage));
}

TEST_F(Sockets, ConnectAcceptSendallAndRecv) {
  const int listener = bound_socket(SOCK_STREAM);
  ASSERT_EQ(::listen(listener, 8), 0);
  const int client = non_blocking_socket(SOCK_STREAM);
  const std::string payload(1 << 20, 'p');
  auto main = [&]() -> Coro<void> {
    Task<std::pair<uv_os_sock_t, SocketAddress>> accepting = create_task(loop.sock_accept(listener));
    co_await loop.sock_connect(client, local_address(listener));
    auto [server_side, peer] = co_await accepting;
    EXPECT_EQ(peer, local_address(client));
    // Both at once: 1 MiB cannot fit in the socket buffers.
    Task<void> sending = create_task(loop.sock_sendall(client, payload));
    std::string received;
    while (received.size() < payload.size()) {
      std::string chunk = co_await loop.sock_recv(server_side, 65536);
      CO_ASSERT_TRUE(!chunk.empty());
      received += chunk;
    }
    co_await sending;
    EXPECT_EQ(received, payload);
    ::close(client);
    EXPECT_EQ(co_await loop.sock_recv(server_side, 10), "") << "EOF once the peer closed";
    ::close(server_side);
  };
  loop.run_until_complete(main());
  ::close(listener);
}

TEST_F(Sockets, ACancelledRecvLosesNothing) {
  int pair[2];
  ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, pair, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE), 0);
  auto main = [&]() -> Coro<void> {
    Task<std::string> waiting = create_task(loop.sock_recv(pair[0], 100));
    co_await sleep(0s);  // now waiting on the reader
    waiting.cancel();
    bool cancelled = false;
    try {
      (void)co_await waiting;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(::write(pair[1], "kept", 4), 4);
    EXPECT_EQ(co_await loop.sock_recv(pair[0], 100), "kept");
    std::array<char, 8> buffer{};
    EXPECT_EQ(::write(pair[1], "into", 4), 4);
    EXPECT_EQ(co_await loop.sock_recv_into(pair[0], buffer), 4u);
    EXPECT_EQ(std::string(buffer.data(), 4), "into");
  };
  loop.run_until_complete(main());
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(Sockets, DatagramsWithSendtoAndRecvfrom) {
  const int a = bound_socket(SOCK_DGRAM);
  const int b = bound_socket(SOCK_DGRAM);
  auto main = [&]() -> Coro<void> {
    Task<std::pair<std::string, SocketAddress>> receiving = create_task(loop.sock_recvfrom(b, 100));
    EXPECT_EQ(co_await loop.sock_sendto(a, "datagram", local_address(b)), 8u);
    auto [data, from] = co_await receiving;
    EXPECT_EQ(data, "datagram");
    EXPECT_EQ(from, local_address(a));
    std::array<char, 16> buffer{};
    EXPECT_EQ(co_await loop.sock_sendto(b, "back", from), 4u);
    auto [n, sender] = co_await loop.sock_recvfrom_into(a, buffer);
    EXPECT_EQ(std::string(buffer.data(), n), "back");
    EXPECT_EQ(sender, local_address(b));
  };
  loop.run_until_complete(main());
  ::close(a);
  ::close(b);
}

TEST_F(Sockets, ConnectRefusedAndConnectAcceptedSocket) {
  const int listener = bound_socket(SOCK_STREAM);
  ASSERT_EQ(::listen(listener, 8), 0);
  auto main = [&]() -> Coro<void> {
    // Refused: a port nobody listens on (bound, not listening).
    const int unused = bound_socket(SOCK_STREAM);
    const int client = non_blocking_socket(SOCK_STREAM);
    bool refused = false;
    try {
      co_await loop.sock_connect(client, local_address(unused));
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::connection_refused;
    }
    EXPECT_TRUE(refused);
    ::close(client);
    ::close(unused);

    // An accepted socket handed to a transport.
    const int caller = non_blocking_socket(SOCK_STREAM);
    Task<std::pair<uv_os_sock_t, SocketAddress>> accepting = create_task(loop.sock_accept(listener));
    co_await loop.sock_connect(caller, local_address(listener));
    auto [accepted, peer] = co_await accepting;
    auto [transport, echo] =
        co_await loop.connect_accepted_socket([] { return std::make_shared<EchoProtocol>(); }, accepted);
    EXPECT_EQ(transport->peername(), peer);
    co_await loop.sock_sendall(caller, "echo me");
    std::string back;
    while (back.size() < 7) back += co_await loop.sock_recv(caller, 100);
    EXPECT_EQ(back, "echo me");
    transport->close();
    ::close(caller);
  };
  loop.run_until_complete(main());
  ::close(listener);
}

}  // namespace
}  // namespace aiouv::test
#endif

#ifndef _WIN32
namespace aiouv::test {
namespace {

TEST_F(Sockets, SockSendfileAllOrACount) {
  char dir[1024];
  std::size_t size = sizeof dir;
  uv_os_tmpdir(dir, &size);
  const std::string path = std::string(dir, size) + "/aiouv-sendfile-" + std::to_string(uv_os_getpid());
  std::string content(3 << 20, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  int pair[2];
  ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, pair, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE), 0);
  auto receive = [&](std::size_t n) -> Coro<std::string> {
    std::string got;
    while (got.size() < n) got += co_await loop.sock_recv(pair[1], 65536);
    co_return got;
  };
  auto main = [&]() -> Coro<void> {
    co_await fs::write_file(path, content);
    const uv_file file = co_await fs::open(path);
    // All of it from offset 10: more than a socket buffer, so it waits for
    // room (the reader runs alongside).
    Task<std::string> reading = create_task(receive(content.size() - 10));
    EXPECT_EQ(co_await loop.sock_sendfile(pair[0], file, 10), content.size() - 10);
    EXPECT_EQ(co_await reading, content.substr(10));
    // A count.
    Task<std::string> part = create_task(receive(100));
    EXPECT_EQ(co_await loop.sock_sendfile(pair[0], file, 5, 100), 100u);
    EXPECT_EQ(co_await part, content.substr(5, 100));
    EXPECT_EQ(co_await loop.sock_sendfile(pair[0], file, 0, 0), 0u);
    bool bad_offset = false;
    try {
      (void)co_await loop.sock_sendfile(pair[0], file, -1);
    } catch (const std::invalid_argument&) {
      bad_offset = true;
    }
    EXPECT_TRUE(bad_offset);
    co_await fs::close(file);
    co_await fs::unlink(path);
  };
  loop.run_until_complete(main());
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(Sockets, SockSendfileFromAPipe) {
  // sendfile(2) refuses a pipe as its source; libuv then copies through
  // read/write itself, so the bytes arrive either way.
  int pair[2];
  ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, pair, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE), 0);
  uv_file pipe_ends[2];
  ASSERT_EQ(uv_pipe(pipe_ends, 0, 0), 0);
  auto main = [&]() -> Coro<void> {
    EXPECT_EQ(::write(pipe_ends[1], "piped", 5), 5);
    ::close(pipe_ends[1]);
    const std::size_t sent = co_await loop.sock_sendfile(pair[0], pipe_ends[0], 0, 5);
    EXPECT_EQ(sent, 5u);
    EXPECT_EQ(co_await loop.sock_recv(pair[1], 100), "piped");
  };
  loop.run_until_complete(main());
  ::close(pipe_ends[0]);
  ::close(pair[0]);
  ::close(pair[1]);
}

}  // namespace
}  // namespace aiouv::test
#endif
