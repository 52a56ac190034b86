// A minimal HTTP/1.1 server on a Protocol: GET / answers a fixed body;
// connections stay open between requests (keep-alive, the HTTP/1.1
// default) and pipelined requests are answered in order.
//
//   http_hello [--host 127.0.0.1] [--port 8080]
//
// Prints "listening on HOST:PORT" first (--port 0 picks a free port); runs
// until SIGINT or SIGTERM. Try: curl http://127.0.0.1:8080/
#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <aiouv/aiouv.hpp>

#include "../common/server_main.hpp"

namespace {

constexpr std::string_view kBody = "Hello, World!\n";
constexpr std::size_t kMaxHeaderBytes = 8192;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

/// One parsed request head.
struct Request {
  std::string_view method;
  std::string_view target;
  bool keep_alive = true;
  std::size_t content_length = 0;
  bool valid = false;
};

Request parse_head(std::string_view head) {
  Request request;
  const std::size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const std::size_t first_space = line.find(' ');
  const std::size_t second_space = line.find(' ', first_space + 1);
  if (first_space == std::string_view::npos || second_space == std::string_view::npos) return request;
  request.method = line.substr(0, first_space);
  request.target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return request;
  request.keep_alive = version == "HTTP/1.1";
  std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view header = head.substr(pos, end - pos);
    pos = end + 2;
    const std::size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(header.substr(0, colon));
    const std::string_view value = trim(header.substr(colon + 1));
    if (iequals(name, "connection")) {
      if (iequals(value, "close")) request.keep_alive = false;
      if (iequals(value, "keep-alive")) request.keep_alive = true;
    } else if (iequals(name, "content-length")) {
      request.content_length = std::strtoul(std::string(value).c_str(), nullptr, 10);
    }
  }
  request.valid = true;
  return request;
}

std::string response(int status, const char* reason, std::string_view body, bool keep_alive,
                     std::string_view extra_headers = {}) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  text += "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  text += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  text += extra_headers;
  text += "\r\n";
  text += body;
  return text;
}

class HttpProtocol : public aiouv::Protocol {
 public:
  void connection_made(aiouv::Transport& transport) override { transport_ = &transport; }

  void data_received(std::string_view data) override {
    buffer_.append(data);
    // Every complete request in the buffer, in order: that is pipelining.
    while (transport_ && !transport_->is_closing()) {
      const std::size_t head_end = buffer_.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        if (buffer_.size() > kMaxHeaderBytes) reply_and_close(431, "Request Header Fields Too Large");
        return;
      }
      const Request request = parse_head(std::string_view(buffer_).substr(0, head_end));
      if (!request.valid) {
        reply_and_close(400, "Bad Request");
        return;
      }
      const std::size_t total = head_end + 4 + request.content_length;
      if (buffer_.size() < total) return;  // the body is still coming
      answer(request);
      buffer_.erase(0, total);
    }
  }

 private:
  void answer(const Request& request) {
    if (request.method != "GET" && request.method != "HEAD") {
      transport_->write(response(405, "Method Not Allowed", "method not allowed\n", request.keep_alive, "Allow: GET, HEAD\r\n"));
    } else if (request.target != "/") {
      transport_->write(response(404, "Not Found", "not found\n", request.keep_alive));
    } else {
      std::string text = response(200, "OK", kBody, request.keep_alive);
      if (request.method == "HEAD") text.resize(text.size() - kBody.size());
      transport_->write(text);
    }
    if (!request.keep_alive) transport_->close();
  }

  void reply_and_close(int status, const char* reason) {
    transport_->write(response(status, reason, std::string(reason) + "\n", false));
    transport_->close();
  }

  aiouv::Transport* transport_ = nullptr;
  std::string buffer_;
};

aiouv::Coro<int> serve(samples::HostPort options) {
  aiouv::EventLoop& loop = aiouv::get_running_loop();
  auto server =
      co_await loop.create_server([] { return std::make_shared<HttpProtocol>(); }, options.host, options.port);
  samples::announce(*server);
  (void)co_await samples::shutdown_signal();
  server->close();
  server->close_clients();
  co_await server->wait_closed();
  std::printf("server closed\n");
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) { return aiouv::run(serve(samples::parse_host_port(argc, argv, 8080))); }
