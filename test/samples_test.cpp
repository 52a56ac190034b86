// Runs every sample and checks what it prints.
#include <gtest/gtest.h>

#include <aiouv/aiouv.hpp>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <signal.h>  // kill(); the samples test is POSIX-only

namespace {

struct Output {
  std::string text;
  int status = -1;
  std::chrono::steady_clock::duration took{};
};

Output run(const std::string& program) {
  Output out;
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = popen((program + " 2>&1").c_str(), "r");  // POSIX; the samples test is Linux/macOS only
  if (!pipe) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.text.append(buffer, n);
  out.status = pclose(pipe);
  out.took = std::chrono::steady_clock::now() - start;
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    result.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return result;
}

void expect_hello(const Output& out) {
  using namespace std::chrono_literals;
  EXPECT_EQ(out.status, 0);
  EXPECT_EQ(out.text, "Hello, World!\nHello, World!\n");
  EXPECT_GE(out.took, 1s);
  EXPECT_LT(out.took, 1900ms) << "the two sleeps must overlap (about 1 s in all, not 2)";
}

TEST(Samples, HelloWithRunUntilComplete) { expect_hello(run(HELLO_BIN)); }

TEST(Samples, HelloWithRun) { expect_hello(run(HELLO_RUN_BIN)); }

TEST(Samples, Timers) {
  const Output out = run(TIMERS_BIN);
  EXPECT_EQ(out.status, 0);
  const auto got = lines(out.text);
  const std::vector<std::string> order = {"call_soon: first", "call_soon: second (FIFO)",
                                          "call_at(loop.time() + 50ms)", "call_later(100ms)",
                                          "call_at(Unix time + 150ms)", "stop()", "run_forever() returned"};
  ASSERT_EQ(got.size(), order.size()) << out.text;
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(got[i].rfind(order[i], 0), 0u) << got[i];
  EXPECT_EQ(out.text.find("never printed"), std::string::npos);
}

TEST(Samples, EmbedLibuv) {
  const Output out = run(EMBED_BIN);
  EXPECT_EQ(out.status, 0) << out.text;
  const auto got = lines(out.text);
  auto count = [&](const std::string& prefix) {
    int n = 0;
    for (const auto& l : got) n += l.rfind(prefix, 0) == 0;
    return n;
  };
  EXPECT_EQ(count("host: libuv timer tick"), 3);
  EXPECT_EQ(count("aiouv: task A step"), 2);
  EXPECT_EQ(count("aiouv: task B step"), 2);
  EXPECT_NE(out.text.find("aiouv: all 4 steps done"), std::string::npos);
  EXPECT_NE(out.text.find("host: uv_run returned, task done: yes"), std::string::npos);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "host: uv_loop_close returned 0");
}

std::size_t index_of(const std::vector<std::string>& got, const std::string& line) {
  return static_cast<std::size_t>(std::find(got.begin(), got.end(), line) - got.begin());
}

TEST(Samples, ProducerConsumer) {
  const Output out = run(PRODUCER_CONSUMER_BIN);
  EXPECT_EQ(out.status, 0) << out.text;
  const auto got = lines(out.text);
  // Every job finished exactly once, all before the join returned.
  const std::size_t joined = index_of(got, "queue joined: every job is done");
  ASSERT_LT(joined, got.size()) << out.text;
  std::multiset<std::string> finished;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto at = got[i].find(" finished job ");
    if (at == std::string::npos) continue;
    EXPECT_LT(i, joined) << got[i];
    finished.insert(got[i].substr(at + 14));
  }
  EXPECT_EQ(finished.size(), 24u);
  for (int p = 1; p <= 3; ++p) {
    for (int n = 1; n <= 8; ++n) EXPECT_EQ(finished.count(std::to_string(p) + "-" + std::to_string(n)), 1u);
  }
  // Graceful shutdown: each consumer stops by itself, after the join.
  int stopped = 0;
  for (std::size_t i = joined; i < got.size(); ++i) stopped += got[i].find("queue shut down") != std::string::npos;
  EXPECT_EQ(stopped, 4);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "processed 24 jobs; largest backlog 4 (maxsize 4)");
}

TEST(Samples, Crawler) {
  const Output out = run(CRAWLER_BIN);
  EXPECT_EQ(out.status, 0) << out.text;
  const auto got = lines(out.text);
  const std::vector<std::string> expected_once = {
      "timeout http://alpha.example/page3",
      "error   http://beta.example/page5: HTTP 404",
      "error   http://gamma.example/page1: connection reset by peer",
      "timeout http://gamma.example/page4",
      "ok      http://alpha.example/page1 (600 bytes)",
      "ok      http://gamma.example/page6 (600 bytes)",
  };
  for (const auto& line : expected_once) EXPECT_EQ(std::count(got.begin(), got.end(), line), 1) << line;
  ASSERT_EQ(got.size(), 19u) << out.text;
  EXPECT_EQ(got.back(), "crawled 18 pages: 14 ok, 2 failed, 2 timed out; at most 4 fetches at once (limit 4)");
  EXPECT_LT(out.took, std::chrono::seconds(5)) << "slow pages are cut off by wait_for, not awaited";
}

/// A sample server running in the background, started with --port 0
/// (POSIX: popen and kill).
class BackgroundServer {
 public:
  BackgroundServer(const std::string& binary, const std::string& arguments) {
    // The shell prints its pid, then becomes the server: that pid gets the
    // signal.
    const std::string command = "sh -c 'echo $$; exec " + binary + " --port 0 " + arguments + "' 2>&1";
    pipe_ = popen(command.c_str(), "r");
    pid = std::stoi(next_line());
    listening = next_line();
    port = listening.substr(listening.rfind(':') + 1);
  }
  ~BackgroundServer() {
    if (pipe_) pclose(pipe_);
  }
  std::string next_line() {
    char buffer[256] = {};
    if (!fgets(buffer, sizeof buffer, pipe_)) return "";
    std::string line = buffer;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  /// Sends `signum` and gives the rest of the output and the exit status.
  Output stop(int signum) {
    kill(pid, signum);
    Output out;
    std::string line;
    while (!(line = next_line()).empty()) out.text += line + "\n";
    out.status = pclose(std::exchange(pipe_, nullptr));
    return out;
  }
  int pid = 0;
  std::string listening;
  std::string port;

 private:
  FILE* pipe_ = nullptr;
};

void check_echo(const std::string& server_mode, const std::string& client_mode, int signum) {
  BackgroundServer server(ECHO_SERVER_BIN, "--mode " + server_mode);
  EXPECT_EQ(server.listening.rfind("listening on 127.0.0.1:", 0), 0u) << server.listening;
  EXPECT_NE(server.port, "0");
  const Output client =
      run(std::string(ECHO_CLIENT_BIN) + " --port " + server.port + " --mode " + client_mode + " --count 200");
  EXPECT_EQ(client.status, 0) << client.text;
  EXPECT_EQ(client.text, "echoed 200 messages\n");
  const Output rest = server.stop(signum);
  EXPECT_EQ(rest.status, 0) << rest.text;
  EXPECT_EQ(rest.text, std::string(signum == SIGINT ? "SIGINT" : "SIGTERM") + " received, shutting down\nserver closed\n");
}

TEST(Samples, EchoStreamsServerAndClient) { check_echo("streams", "streams", SIGTERM); }
TEST(Samples, EchoProtocolServerAndClient) { check_echo("protocol", "protocol", SIGINT); }
TEST(Samples, EchoMixedModes) { check_echo("streams", "protocol", SIGINT); }

TEST(Samples, ChatBroadcastsAndASlowClientDoesNotStallTheOthers) {
  BackgroundServer server(CHAT_BIN, "");
  ASSERT_EQ(server.listening.rfind("listening on 127.0.0.1:", 0), 0u) << server.listening;
  const auto port = static_cast<std::uint16_t>(std::stoi(server.port));
  constexpr int kLines = 5000;
  auto chat = [&]() -> aiouv::Coro<void> {
    auto a = co_await aiouv::open_connection("127.0.0.1", port);
    a.writer.transport().pause_reading();  // user1 never reads
    auto b = co_await aiouv::open_connection("127.0.0.1", port);
    EXPECT_EQ(co_await b.reader.readline(), "*** welcome, user2\n");
    auto c = co_await aiouv::open_connection("127.0.0.1", port);
    EXPECT_EQ(co_await c.reader.readline(), "*** welcome, user3\n");
    EXPECT_EQ(co_await b.reader.readline(), "*** user3 joined\n");
    const std::string padding(60, '.');
    for (int i = 0; i < kLines; ++i) b.writer.write("line " + std::to_string(i) + padding + "\n");
    co_await b.writer.drain();
    int received = 0;
    auto read_all = [&]() -> aiouv::Coro<void> {
      while (received < kLines) {
        const std::string line = co_await c.reader.readline();
        if (line.rfind("[user2] line " + std::to_string(received) + ".", 0) == 0) ++received;
      }
    };
    co_await aiouv::wait_for(read_all(), std::chrono::seconds(20));
    EXPECT_EQ(received, kLines);
    b.writer.close();
    EXPECT_EQ(co_await c.reader.readline(), "*** user2 left\n");
    a.writer.close();
    c.writer.close();
    co_await c.writer.wait_closed();
  };
  aiouv::run(chat());
  const Output rest = server.stop(SIGTERM);
  EXPECT_EQ(rest.status, 0) << rest.text;
  EXPECT_EQ(rest.text.rfind("shutting down with ", 0), 0u) << rest.text;
}

TEST(Samples, HttpHelloWithCurl) {
  BackgroundServer server(HTTP_HELLO_BIN, "");
  const std::string url = "http://127.0.0.1:" + server.port + "/";
  // Two URLs in one curl run: the second request reuses the connection.
  const Output out = run("curl -s -v " + url + " " + url);
  EXPECT_EQ(out.status, 0) << out.text;
  std::size_t hellos = 0;
  for (std::size_t at = 0; (at = out.text.find("Hello, World!", at)) != std::string::npos; ++at) ++hellos;
  EXPECT_EQ(hellos, 2u) << out.text;
  EXPECT_NE(out.text.find("Re-using existing connection"), std::string::npos) << out.text;
  EXPECT_EQ(run("curl -s -o /dev/null -w '%{http_code}' " + url + "missing").text, "404");
  EXPECT_EQ(server.stop(SIGINT).text, "server closed\n");
}

TEST(Samples, HttpHelloPipelinesRequests) {
  BackgroundServer server(HTTP_HELLO_BIN, "");
  const auto port = static_cast<std::uint16_t>(std::stoi(server.port));
  auto exchange = [&](std::string requests) -> aiouv::Coro<std::string> {
    auto [reader, writer] = co_await aiouv::open_connection("127.0.0.1", port);
    writer.write(requests);  // all at once: pipelined
    std::string replies = co_await reader.read();  // until the server closes
    writer.close();
    co_return replies;
  };
  const std::string get = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
  const std::string replies = aiouv::run(exchange(get + "GET /missing HTTP/1.1\r\nHost: test\r\n\r\n" +
                                                  "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" + get +
                                                  "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  std::vector<std::string> statuses;
  for (std::size_t at = 0; (at = replies.find("HTTP/1.1 ", at)) != std::string::npos; at += 9) {
    statuses.push_back(replies.substr(at + 9, 3));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"200", "404", "405", "200", "200"})) << replies;
  EXPECT_NE(replies.find("Connection: close\r\n\r\nHello, World!\n"), std::string::npos);
  EXPECT_EQ(aiouv::run(exchange("garbage\r\n\r\n")).substr(0, 24), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(server.stop(SIGTERM).status, 0);
}

}  // namespace

namespace {

TEST(Samples, PipelineSortsCountsAndLimitsConcurrency) {
  const Output out = run(PIPELINE_BIN);
  EXPECT_EQ(out.status, 0) << out.text;
  EXPECT_EQ(out.text,
            "word counts (exit 0):\n"
            "  3 apple\n"
            "  2 pear\n"
            "  1 fig\n"
            "job 1 done\njob 2 done\njob 3 done\njob 4 done\njob 5 done\njob 6 done\n"
            "ran 6 commands, at most 2 at once\n");
}

/// Sends one "work MS" and reads the "started" answer; the caller reads
/// "done" later.
void expect_graceful_shutdown(int signum) {
  BackgroundServer server(GRACEFUL_SHUTDOWN_BIN, "");
  ASSERT_EQ(server.listening.rfind("listening on 127.0.0.1:", 0), 0u) << server.listening;
  const auto port = static_cast<std::uint16_t>(std::stoi(server.port));
  Output rest;
  auto client = [&]() -> aiouv::Coro<void> {
    auto streams = co_await aiouv::open_connection("127.0.0.1", port);
    streams.writer.write("work 300\n");
    EXPECT_EQ(co_await streams.reader.readline(), "started 300\n");
    // The request is in flight: now the signal.
    kill(server.pid, signum);
    EXPECT_EQ(co_await streams.reader.readline(), "done 300\n") << "the request in flight is answered";
    EXPECT_EQ(co_await streams.reader.read(), "") << "then the connection is closed";
    bool refused = false;
    try {
      (void)co_await aiouv::open_connection("127.0.0.1", port);
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::connection_refused;
    }
    EXPECT_TRUE(refused) << "no new connections after the signal";
    streams.writer.close();
  };
  aiouv::run(client());
  std::string line;
  while (!(line = server.next_line()).empty()) rest.text += line + "\n";
  rest.status = server.stop(0).status;
  EXPECT_EQ(rest.status, 0) << rest.text;
  EXPECT_EQ(rest.text, std::string(signum == SIGINT ? "SIGINT" : "SIGTERM") +
                           ": no new connections; 1 request(s) in flight\n"
                           "in-flight requests answered\n"
                           "closed cleanly\n");
}

TEST(Samples, GracefulShutdownOnSigterm) { expect_graceful_shutdown(SIGTERM); }
TEST(Samples, GracefulShutdownOnTheFirstSigint) { expect_graceful_shutdown(SIGINT); }

}  // namespace

namespace {

TEST(Samples, UdpEcho) {
  const Output out = run(std::string(UDP_ECHO_BIN) + " --count 50");
  EXPECT_EQ(out.status, 0) << out.text;
  const auto got = lines(out.text);
  ASSERT_EQ(got.size(), 2u) << out.text;
  EXPECT_EQ(got[0].rfind("server on 127.0.0.1:", 0), 0u);
  EXPECT_EQ(got[1], "echoed 50 datagrams");
}

TEST(Samples, TailFollowsAPipe) {
  const Output out = run("printf 'one\\ntwo\\nthree' | " + std::string(TAIL_F_BIN));
  EXPECT_EQ(out.status, 0) << out.text;
  EXPECT_EQ(out.text, "[1] one\n[2] two\n[3] three (no newline at end)\nEOF after 3 lines\n");
}

TEST(Samples, TailFollowsAFifo) {
  const std::string fifo = "/tmp/aiouv-tail-" + std::to_string(getpid());
  ASSERT_EQ(std::system(("rm -f " + fifo + " && mkfifo " + fifo).c_str()), 0);
  // Whichever side opens the FIFO first waits for the other.
  const Output out = run("(printf 'a\\nb\\n' > " + fifo + ") & " + TAIL_F_BIN + " " + fifo);
  std::remove(fifo.c_str());
  EXPECT_EQ(out.status, 0) << out.text;
  EXPECT_EQ(out.text, "[1] a\n[2] b\nEOF after 2 lines\n");
}

}  // namespace
