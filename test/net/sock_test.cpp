// The sock_* coroutines on non-blocking native sockets, cancellation
// without data loss, UDP datagrams, and connect_accepted_socket.
#include "net/net_helpers.hpp"
#include "net/socket_wait.hpp"

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

/// Awaits `task`, which must end in CancelledError.
template <class T>
Coro<bool> ends_cancelled(Task<T> task) {
  try {
    (void)co_await task;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

TEST_F(Sockets, CancelledAcceptLeavesTheConnectionQueued) {
  const int listener = bound_socket(SOCK_STREAM);
  ASSERT_EQ(::listen(listener, 8), 0);
  const int client = non_blocking_socket(SOCK_STREAM);
  auto main = [&]() -> Coro<void> {
    Task<std::pair<uv_os_sock_t, SocketAddress>> accepting = create_task(loop.sock_accept(listener));
    co_await sleep(0s);  // waiting on the listener now
    accepting.cancel();
    EXPECT_TRUE(co_await ends_cancelled(accepting));
    EXPECT_FALSE(loop.remove_reader(listener)) << "the watcher went with the wait";
    co_await loop.sock_connect(client, local_address(listener));
    auto [accepted, peer] = co_await loop.sock_accept(listener);
    EXPECT_EQ(peer, local_address(client));
    ::close(accepted);
  };
  loop.run_until_complete(main());
  ::close(client);
  ::close(listener);
}

TEST_F(Sockets, CancelledConnectStopsWatching) {
  const int listener = bound_socket(SOCK_STREAM);
  ASSERT_EQ(::listen(listener, 8), 0);
  const int client = non_blocking_socket(SOCK_STREAM);
  auto main = [&]() -> Coro<void> {
    Task<void> connecting = create_task(loop.sock_connect(client, local_address(listener)));
    co_await sleep(0s);  // connect() has started; its result is awaited
    if (connecting.done()) co_return;  // connected at once: nothing to cancel
    connecting.cancel();
    EXPECT_TRUE(co_await ends_cancelled(connecting));
    EXPECT_FALSE(loop.remove_writer(client)) << "the watcher went with the wait";
  };
  loop.run_until_complete(main());
  ::close(client);
  ::close(listener);
}

TEST_F(Sockets, CancelledSendallSendsNothingMoreAfterwards) {
  int pair[2];
  ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, pair, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE), 0);
  const std::string payload(16 << 20, 'x');  // far more than the socket buffers hold
  auto main = [&]() -> Coro<void> {
    Task<void> sending = create_task(loop.sock_sendall(pair[0], payload));
    co_await sleep(0s);  // it sent what fitted and waits for room
    CO_ASSERT_TRUE(!sending.done());
    sending.cancel();
    EXPECT_TRUE(co_await ends_cancelled(sending));
    EXPECT_FALSE(loop.remove_writer(pair[0])) << "the watcher went with the wait";
    ::shutdown(pair[0], SHUT_WR);  // so the reader below sees where the bytes end
    std::string received;
    for (;;) {
      std::string chunk = co_await loop.sock_recv(pair[1], 1 << 20);
      if (chunk.empty()) break;
      received += chunk;
    }
    EXPECT_GT(received.size(), 0u);
    EXPECT_LT(received.size(), payload.size());
    EXPECT_EQ(received.find_first_not_of('x'), std::string::npos);
  };
  loop.run_until_complete(main());
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(Sockets, CancelledRecvfromLosesNoDatagram) {
  const int a = bound_socket(SOCK_DGRAM);
  const int b = bound_socket(SOCK_DGRAM);
  auto main = [&]() -> Coro<void> {
    Task<std::pair<std::string, SocketAddress>> receiving = create_task(loop.sock_recvfrom(b, 100));
    co_await sleep(0s);
    receiving.cancel();
    EXPECT_TRUE(co_await ends_cancelled(receiving));
    EXPECT_EQ(co_await loop.sock_sendto(a, "kept", local_address(b)), 4u);
    std::array<char, 16> buffer{};
    auto [n, from] = co_await loop.sock_recvfrom_into(b, buffer);
    EXPECT_EQ(std::string(buffer.data(), n), "kept");
    EXPECT_EQ(from, local_address(a));
  };
  loop.run_until_complete(main());
  ::close(a);
  ::close(b);
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

/// A path for a temporary file named after `name` and this process.
std::string temp_path(const std::string& name) {
  char dir[1024];
  std::size_t size = sizeof dir;
  uv_os_tmpdir(dir, &size);
  return std::string(dir, size) + "/aiouv-" + name + "-" + std::to_string(uv_os_getpid());
}

/// 'a'..'z' repeated: any misplaced byte shows.
std::string alphabet(std::size_t size) {
  std::string content(size, '\0');
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>('a' + i % 26);
  return content;
}

TEST_F(Sockets, SockSendfileAllOrACount) {
  const std::string path = temp_path("sendfile");
  const std::string content = alphabet(3 << 20);
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
    // asyncio's ValueErrors.
    std::string bad_offset;
    try {
      (void)co_await loop.sock_sendfile(pair[0], file, -1);
    } catch (const std::invalid_argument& e) {
      bad_offset = e.what();
    }
    EXPECT_EQ(bad_offset, "offset must be a non-negative integer (got -1)");
    std::string bad_count;
    try {
      (void)co_await loop.sock_sendfile(pair[0], file, 0, 0);
    } catch (const std::invalid_argument& e) {
      bad_count = e.what();
    }
    EXPECT_EQ(bad_count, "count must be a positive integer (got 0)");
    co_await fs::close(file);
    co_await fs::unlink(path);
  };
  loop.run_until_complete(main());
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(Sockets, CancelledSockSendfileSendsNothingMoreAfterwards) {
  const std::string path = temp_path("sendfile-cancel");
  const std::string content = alphabet(16 << 20);  // far more than the socket buffers hold
  int pair[2];
  ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, pair, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE), 0);
  auto main = [&]() -> Coro<void> {
    co_await fs::write_file(path, content);
    const uv_file file = co_await fs::open(path);
    Task<std::size_t> sending = create_task(loop.sock_sendfile(pair[0], file));
    const std::string first = co_await loop.sock_recv(pair[1], 1024);  // under way
    sending.cancel();
    EXPECT_TRUE(co_await ends_cancelled(sending));
    // The socket is full: the tail goes out while the reader below drains.
    auto send_tail = [&]() -> Coro<void> {
      co_await loop.sock_sendall(pair[0], "TAIL");
      ::shutdown(pair[0], SHUT_WR);
    };
    Task<void> tail = create_task(send_tail());
    std::string received = first;
    for (;;) {
      std::string chunk = co_await loop.sock_recv(pair[1], 1 << 20);
      if (chunk.empty()) break;
      received += chunk;
    }
    CO_ASSERT_TRUE(received.size() > 4);
    const std::size_t file_part = received.size() - 4;
    EXPECT_LT(file_part, content.size());
    EXPECT_TRUE(received.compare(0, file_part, content, 0, file_part) == 0) << "a prefix of the file, intact";
    EXPECT_EQ(received.substr(file_part), "TAIL") << "no byte of the file after what was sent next";
    co_await tail;
    co_await fs::close(file);
    co_await fs::unlink(path);
  };
  loop.run_until_complete(main());
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(Sockets, SockSendfileFromAPipeFallsBackToCopying) {
  // sendfile(2) refuses a pipe as its source: asyncio's fallback reads and
  // sends it instead, or, with fallback off, raises
  // SendfileNotAvailableError having sent nothing.
  int pair[2];
  ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, pair, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE), 0);
  uv_file pipe_ends[2];
  ASSERT_EQ(uv_pipe(pipe_ends, 0, 0), 0);
  auto main = [&]() -> Coro<void> {
    EXPECT_EQ(::write(pipe_ends[1], "piped", 5), 5);
    bool not_available = false;
    try {
      (void)co_await loop.sock_sendfile(pair[0], pipe_ends[0], 0, 5, false);
    } catch (const SendfileNotAvailableError&) {
      not_available = true;
    }
    EXPECT_TRUE(not_available);
    ::close(pipe_ends[1]);
    const std::size_t sent = co_await loop.sock_sendfile(pair[0], pipe_ends[0]);
    EXPECT_EQ(sent, 5u);
    EXPECT_EQ(co_await loop.sock_recv(pair[1], 100), "piped");
  };
  loop.run_until_complete(main());
  ::close(pipe_ends[0]);
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(Sockets, AWaitEndsWhenItsInterruptFailsOrIsCancelledButNotOnAResult) {
  // The internal wait under sock_* and sendfile: its interrupt (a
  // transport's lost signal) ends it, whichever way the interrupt ends.
  int pair[2];
  ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, pair, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE), 0);
  auto read_one = [&]() -> std::optional<long> {
    char byte = 0;
    const auto got = ::recv(pair[0], &byte, 1, 0);
    if (got < 0) return std::nullopt;
    return static_cast<long>(got);
  };
  auto wait_with = [&](Future<void> interrupt) {
    return create_task(detail::when_ready<long>(loop, pair[0], detail::SocketEvent::readable, read_one,
                                                detail::FirstTry::now, std::move(interrupt)));
  };
  auto main = [&]() -> Coro<void> {
    Future<void> failing = loop.create_future<void>();
    Task<long> failed = wait_with(failing);
    co_await sleep(0s);  // now watching the socket
    failing.set_exception(std::make_exception_ptr(RuntimeError("connection lost")));
    std::string message;
    try {
      (void)co_await failed;
    } catch (const RuntimeError& e) {
      message = e.what();
    }
    EXPECT_EQ(message, "connection lost");

    Future<void> cancelling = loop.create_future<void>();
    Task<long> cancelled = wait_with(cancelling);
    co_await sleep(0s);
    cancelling.cancel();
    EXPECT_TRUE(co_await ends_cancelled(cancelled));

    Future<void> succeeding = loop.create_future<void>();
    Task<long> read = wait_with(succeeding);
    co_await sleep(0s);
    succeeding.set_result();
    co_await sleep(0s);
    EXPECT_FALSE(read.done()) << "a result is not an interruption";
    EXPECT_EQ(::write(pair[1], "x", 1), 1);
    EXPECT_EQ(co_await read, 1);
  };
  loop.run_until_complete(main());
  ::close(pair[0]);
  ::close(pair[1]);
}

}  // namespace
}  // namespace aiouv::test
#endif
