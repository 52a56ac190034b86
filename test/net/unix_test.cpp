// Unix sockets: create_unix_server/create_unix_connection and the stream
// functions over them, socket-file handling, and connect errors.
#include <cstdio>

#ifndef _WIN32
#include <sys/socket.h>  // a stale socket file, made without libuv
#include <sys/un.h>
#include <unistd.h>
#endif

#include "net/net_helpers.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;

class Unix : public LoopTest {
 protected:
  Unix() : path(unique_socket_path()) {}
  bool exists() const {
    uv_fs_t request;
    const bool found = uv_fs_stat(nullptr, &request, path.c_str(), nullptr) == 0;
    uv_fs_req_cleanup(&request);
    return found;
  }
  std::string path;
};

TEST_F(Unix, EchoOverAUnixSocket) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await loop.create_unix_server([] { return std::make_shared<EchoProtocol>(); }, path);
    EXPECT_TRUE(exists());
    EXPECT_TRUE(server->is_serving());
    const std::vector<SocketAddress> sockets = server->sockets();
    EXPECT_EQ(sockets.size(), 1u);
    if (!sockets.empty()) {
      EXPECT_EQ(sockets[0].family(), AF_UNIX);
      EXPECT_EQ(sockets[0].path(), path);
      EXPECT_EQ(sockets[0].to_string(), path);
      EXPECT_EQ(sockets[0].port(), 0);
      EXPECT_EQ(sockets[0], SocketAddress::from_path(path));
      EXPECT_NE(sockets[0], SocketAddress::from_path(path + "x"));
    }
    auto [transport, client] =
        co_await loop.create_unix_connection([&] { return std::make_shared<RecordingProtocol>(loop, 5); }, path);
    transport->write("hello");
    co_await client->got_all;
    EXPECT_EQ(client->received, "hello");
    EXPECT_EQ(std::any_cast<std::string>(transport->get_extra_info("peername")), path);
    EXPECT_FALSE(transport->peername().has_value()) << "not an IP address";
    transport->close();
    co_await client->lost;
    co_await shut_down(*server);
    EXPECT_FALSE(exists()) << "the socket file is removed on close";
    EXPECT_TRUE(server->sockets().empty());
  };
  loop.run_until_complete(main());
}

TEST_F(Unix, StreamsOverAUnixSocket) {
  auto main = [&]() -> Coro<void> {
    auto upper = [](StreamReader reader, StreamWriter writer) -> Coro<void> {
      std::string line = co_await reader.readline();
      for (char& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      writer.write(line);
      co_await writer.drain();
      writer.close();
    };
    auto server = co_await start_unix_server(upper, path);
    auto [reader, writer] = co_await open_unix_connection(path);
    writer.write("unix\n");
    EXPECT_EQ(co_await reader.readline(), "UNIX\n");
    EXPECT_EQ(co_await reader.read(), "");
    writer.close();
    co_await writer.wait_closed();
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

#ifndef _WIN32
TEST_F(Unix, AStaleSocketFileIsReplaced) {
  auto main = [&]() -> Coro<void> {
    auto first = co_await loop.create_unix_server([] { return std::make_shared<EchoProtocol>(); }, path);
    co_await shut_down(*first);
    // A crashed server leaves its socket file behind: bind a plain socket
    // and close it (libuv would unlink the file on close).
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::close(fd);
    EXPECT_TRUE(exists());
    auto second = co_await loop.create_unix_server([] { return std::make_shared<EchoProtocol>(); }, path);
    auto [transport, client] =
        co_await loop.create_unix_connection([&] { return std::make_shared<RecordingProtocol>(loop, 2); }, path);
    transport->write("ok");
    co_await client->got_all;
    transport->close();
    co_await client->lost;
    co_await shut_down(*second);
  };
  loop.run_until_complete(main());
}
#endif

TEST_F(Unix, ConnectingToNothingFails) {
  auto main = [&]() -> Coro<void> {
    std::string error;
    try {
      (void)co_await open_unix_connection(path);
    } catch (const std::system_error& e) {
      error = e.what();
      EXPECT_TRUE(e.code() == std::errc::no_such_file_or_directory || e.code() == std::errc::connection_refused)
          << e.what();
    }
    EXPECT_NE(error.find("Connect call failed " + path), std::string::npos) << error;
  };
  loop.run_until_complete(main());
}

}  // namespace
}  // namespace aiouv::test
