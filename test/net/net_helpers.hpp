#ifndef AIOUV_TEST_NET_NET_HELPERS_HPP_INCLUDED
#define AIOUV_TEST_NET_NET_HELPERS_HPP_INCLUDED

// Protocols the networking tests share: one that records every callback
// and lets a test await the moments it cares about.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <aiouv/aiouv.hpp>

#include "support/loop_test.hpp"

namespace aiouv::test {

/// Records callbacks; futures complete at connection_made, at
/// connection_lost and when `expected` bytes have arrived.
class RecordingProtocol : public Protocol {
 public:
  explicit RecordingProtocol(EventLoop& loop, std::size_t expected = 0)
      : made(loop.create_future<void>()), lost(loop.create_future<void>()), got_all(loop.create_future<void>()),
        expected_(expected) {}

  void connection_made(Transport& t) override {
    transport = &t;
    events.push_back("made");
    made.set_result();
  }
  void data_received(std::string_view data) override {
    received.append(data);
    if (expected_ > 0 && received.size() >= expected_ && !got_all.done()) got_all.set_result();
  }
  bool eof_received() override {
    events.push_back("eof");
    return keep_open_on_eof;
  }
  void connection_lost(std::exception_ptr e) override {
    events.push_back(e ? "lost: " + what_of(e) : "lost");
    error = e;
    transport = nullptr;
    lost.set_result();
  }
  void pause_writing() override { events.push_back("pause_writing"); }
  void resume_writing() override { events.push_back("resume_writing"); }

  Transport* transport = nullptr;
  std::vector<std::string> events;
  std::string received;
  std::exception_ptr error;
  bool keep_open_on_eof = false;
  Future<void> made;
  Future<void> lost;
  Future<void> got_all;

 private:
  std::size_t expected_;
};

/// Writes back whatever it receives.
class EchoProtocol : public Protocol {
 public:
  void connection_made(Transport& t) override { transport = &t; }
  void data_received(std::string_view data) override { transport->write(data); }
  Transport* transport = nullptr;
};

/// The port a server listens on (its first socket).
inline std::uint16_t port_of(const Server& server) { return server.sockets().at(0).port(); }

/// A Unix socket path in the temporary directory that no other test of
/// this process uses.
inline std::string unique_socket_path() {
  char dir[1024];
  std::size_t size = sizeof dir;
  uv_os_tmpdir(dir, &size);
  static std::atomic<int> counter{0};
  return std::string(dir, size) + "/aiouv-test-" + std::to_string(uv_os_getpid()) + "-" + std::to_string(counter++) +
         ".sock";
}

/// A client connection to 127.0.0.1:port with a RecordingProtocol that
/// expects `expected` bytes.
inline Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<RecordingProtocol>>> connect_recorder(
    EventLoop& loop, std::uint16_t port, std::size_t expected = 0) {
  co_return co_await loop.create_connection([&loop, expected] { return std::make_shared<RecordingProtocol>(loop, expected); },
                                            "127.0.0.1", port);
}

/// close() and wait_closed().
inline Coro<void> shut_down(Server& server) {
  server.close();
  co_await server.wait_closed();
}

}  // namespace aiouv::test

#endif
