// create_server(), create_unix_server() and asyncio.Server, on uv_tcp_t or
// uv_pipe_t listeners.
#include <aiouv/servers.hpp>
#include <aiouv/tasks.hpp>

#include <algorithm>
#include <system_error>
#include <unordered_set>

#ifndef _WIN32
#include <sys/socket.h>  // SO_REUSEPORT, which libuv 1.44 does not expose
#endif

#include "stream_transport.hpp"
#include "tls/ssl_protocol.hpp"

namespace aiouv::detail {
namespace {

/// Removes a Unix socket file left at `path` (asyncio does so before
/// binding, and 3.13 after closing); anything else there is left alone.
void remove_stale_socket(const std::string& path) {
#ifndef _WIN32  // Windows named pipes leave no file behind
  if (path.empty() || path[0] == '\0') return;  // Linux abstract namespace
  uv_fs_t request;
  if (uv_fs_stat(nullptr, &request, path.c_str(), nullptr) == 0 && (request.statbuf.st_mode & S_IFMT) == S_IFSOCK) {
    uv_fs_req_cleanup(&request);
    uv_fs_unlink(nullptr, &request, path.c_str(), nullptr);
  }
  uv_fs_req_cleanup(&request);
#else
  (void)path;
#endif
}

class StreamServer final : public Server,
                        public IoResource,
                        public TransportOwner,
                        public std::enable_shared_from_this<StreamServer> {
 public:
  using Factory = std::function<std::shared_ptr<BaseProtocol>()>;

  static std::shared_ptr<StreamServer> create(EventLoop& loop, Factory factory, int backlog) {
    std::shared_ptr<StreamServer> server(new StreamServer(loop, std::move(factory), backlog));
    server->self_ = server;
    return server;
  }

  void listen_on(const SocketAddress& address, bool reuse_port);
  void listen_on(const std::string& path);
  void begin_serving();

  // Server
  EventLoop& get_loop() const noexcept override { return loop(); }
  void close() override;
  Coro<void> wait_closed() override;
  Coro<void> start_serving() override;
  Coro<void> serve_forever() override;
  bool is_serving() const noexcept override { return serving_; }
  std::vector<SocketAddress> sockets() const override;
  void close_clients() override;
  void abort_clients() override;

  void abandon() noexcept override;
  void detach(StreamTransport& transport) noexcept override;

 private:
  /// One listening socket; freed by its close callback.
  struct Listener {
    union {
      uv_handle_t handle;
      uv_stream_t stream;
      uv_tcp_t tcp;
      uv_pipe_t pipe;
    };
    StreamTransport::Kind kind;
    StreamServer* server;
    bool connection_waiting = false;  // libuv holds one back until we accept
  };
  Listener* add_listener(StreamTransport::Kind kind);
  void start_listening(Listener& listener, const std::string& where);

  StreamServer(EventLoop& loop, Factory factory, int backlog) noexcept
      : IoResource(loop), factory_(std::move(factory)), backlog_(backlog) {}

  static void on_connection(uv_stream_t* stream, int status);
  static void on_listener_closed(uv_handle_t* handle);
  void accept(Listener& listener);
  void wake_up_waiters();
  void release_self_if_done() noexcept;
  std::vector<std::shared_ptr<StreamTransport>> client_list() const;
  std::string repr() const;

  Factory factory_;
  int backlog_;
  std::shared_ptr<StreamServer> self_;  // while listening or serving clients
  std::vector<Listener*> listeners_;
  std::size_t open_listeners_ = 0;  // including those closing
  std::unordered_set<StreamTransport*> clients_;
  std::vector<std::string> socket_paths_;  // removed again on close (asyncio 3.13's cleanup_socket)
  std::vector<Future<void>> waiters_;
  Future<void> serving_forever_;
  bool closed_ = false;   // asyncio: _sockets is None
  bool woken_ = false;    // asyncio: _waiters is None
  bool serving_ = false;
};

std::string StreamServer::repr() const {
  std::string text = "<Server sockets=(";
  const auto addresses = sockets();
  for (std::size_t i = 0; i < addresses.size(); ++i) text += (i ? ", " : "") + addresses[i].to_string();
  return text + ")>";
}

StreamServer::Listener* StreamServer::add_listener(StreamTransport::Kind kind) {
  auto* listener = new Listener{};
  listener->kind = kind;
  listener->server = this;
  listeners_.push_back(listener);
  return listener;
}

void StreamServer::listen_on(const SocketAddress& address, bool reuse_port) {
  Listener* listener = add_listener(StreamTransport::Kind::tcp);
  if (int status = uv_tcp_init_ex(loop().native_handle(), &listener->tcp, static_cast<unsigned>(address.family()));
      status < 0) {
    listeners_.pop_back();
    delete listener;
    throw std::system_error(make_uv_error_code(status), "uv_tcp_init");
  }
  listener->handle.data = listener;
  ++open_listeners_;
  handle_opened();
  const std::string where = "error while attempting to bind on address " + address.to_string();
  if (reuse_port) {
#if defined(SO_REUSEPORT)
    uv_os_fd_t fd;
    int on = 1;
    if (uv_fileno(&listener->handle, &fd) != 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
      throw std::system_error(std::error_code(errno, std::generic_category()), where);
    }
#else
    throw std::invalid_argument("reuse_port not supported by socket module");
#endif
  }
  const unsigned flags = address.family() == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
  if (int status = uv_tcp_bind(&listener->tcp, address.get(), flags); status < 0) {
    throw std::system_error(make_uv_error_code(status), where);
  }
  start_listening(*listener, where);
}

void StreamServer::listen_on(const std::string& path) {
  Listener* listener = add_listener(StreamTransport::Kind::pipe);
  if (int status = uv_pipe_init(loop().native_handle(), &listener->pipe, 0); status < 0) {
    listeners_.pop_back();
    delete listener;
    throw std::system_error(make_uv_error_code(status), "uv_pipe_init");
  }
  listener->handle.data = listener;
  ++open_listeners_;
  handle_opened();
  const std::string where = "error while attempting to bind on address '" + path + "'";
  remove_stale_socket(path);
  if (int status = uv_pipe_bind(&listener->pipe, path.c_str()); status < 0) {
    throw std::system_error(make_uv_error_code(status), where);
  }
  socket_paths_.push_back(path);
  start_listening(*listener, where);
}

void StreamServer::start_listening(Listener& listener, const std::string& where) {
  // Listen now, as asyncio does, even if accepting starts later: the
  // address is taken (and one in use reported) here.
  if (int status = uv_listen(&listener.stream, backlog_, &on_connection); status < 0) {
    throw std::system_error(make_uv_error_code(status), where);
  }
}

void StreamServer::begin_serving() {
  if (serving_ || closed_) return;
  serving_ = true;
  for (Listener* listener : listeners_) {
    if (std::exchange(listener->connection_waiting, false)) accept(*listener);
  }
}

void StreamServer::on_connection(uv_stream_t* stream, int status) {
  auto* listener = static_cast<Listener*>(stream->data);
  StreamServer& server = *listener->server;
  if (status < 0) {
    if (status == UV_ECONNABORTED || status == UV_EAGAIN || status == UV_EINTR) return;
    server.loop().call_exception_handler(ExceptionContext{
        "socket.accept() out of system resource",
        std::make_exception_ptr(std::system_error(make_uv_error_code(status), "accept")), {}, server.repr()});
    return;
  }
  if (!server.serving_) {
    // Left in libuv's hands: it stops watching this listener until we
    // accept, which begin_serving() does.
    listener->connection_waiting = true;
    return;
  }
  server.accept(*listener);
}

void StreamServer::accept(Listener& listener) {
  std::shared_ptr<StreamTransport> transport;
  std::shared_ptr<BaseProtocol> protocol;
  try {
    transport = listener.kind == StreamTransport::Kind::tcp ? StreamTransport::create_tcp(loop())
                                                            : StreamTransport::create_pipe(loop());
    if (int status = uv_accept(&listener.stream, transport->stream()); status < 0) {
      transport->discard();
      return;
    }
    protocol = factory_();
    if (!protocol) throw std::invalid_argument("the protocol factory returned nullptr");
    transport->set_owner(this);
    clients_.insert(transport.get());
    transport->start(std::move(protocol));
  } catch (...) {
    loop().call_exception_handler(ExceptionContext{"Error on transport creation for incoming connection",
                                                   std::current_exception(), {}, repr()});
    if (transport) {
      if (clients_.erase(transport.get()) > 0) transport->set_owner(nullptr);
      transport->discard();
    }
  }
}

void StreamServer::detach(StreamTransport& transport) noexcept {
  clients_.erase(&transport);
  if (clients_.empty() && closed_) wake_up_waiters();
  release_self_if_done();
}

void StreamServer::close() {
  if (closed_) return;
  closed_ = true;
  serving_ = false;
  for (Listener* listener : listeners_) uv_close(&listener->handle, &on_listener_closed);
  listeners_.clear();
  for (const std::string& path : socket_paths_) remove_stale_socket(path);
  socket_paths_.clear();
  if (serving_forever_ && !serving_forever_.done()) serving_forever_.cancel();
  serving_forever_ = Future<void>();
  if (clients_.empty()) wake_up_waiters();
}

void StreamServer::on_listener_closed(uv_handle_t* handle) {
  auto* listener = static_cast<Listener*>(handle->data);
  StreamServer& server = *listener->server;
  delete listener;
  server.handle_closed();
  --server.open_listeners_;
  server.release_self_if_done();
}

void StreamServer::release_self_if_done() noexcept {
  if (open_listeners_ == 0 && clients_.empty() && closed_) {
    std::shared_ptr<StreamServer> last = std::move(self_);  // may free this at scope end
  }
}

void StreamServer::wake_up_waiters() {
  woken_ = true;
  for (Future<void>& waiter : waiters_) {
    if (!waiter.done()) waiter.set_result();
  }
  waiters_.clear();
}

Coro<void> StreamServer::wait_closed() {
  std::shared_ptr<StreamServer> keep = shared_from_this();
  if (woken_) co_return;
  Future<void> waiter = loop().create_future<void>();
  waiters_.push_back(waiter);
  co_await waiter;
}

Coro<void> StreamServer::start_serving() {
  std::shared_ptr<StreamServer> keep = shared_from_this();
  begin_serving();
  co_await sleep(std::chrono::seconds(0));
}

Coro<void> StreamServer::serve_forever() {
  std::shared_ptr<StreamServer> keep = shared_from_this();
  if (serving_forever_) throw RuntimeError("server " + repr() + " is already being awaited on serve_forever()");
  if (closed_) throw RuntimeError("server " + repr() + " is closed");
  begin_serving();
  serving_forever_ = loop().create_future<void>();
  Future<void> forever = serving_forever_;
  std::exception_ptr error;
  try {
    co_await forever;
  } catch (...) {
    error = std::current_exception();
  }
  if (serving_forever_ == forever) serving_forever_ = Future<void>();
  if (is_cancelled_error(error)) {
    close();
    co_await wait_closed();
  }
  if (error) std::rethrow_exception(error);
}

std::vector<SocketAddress> StreamServer::sockets() const {
  std::vector<SocketAddress> addresses;
  for (Listener* listener : listeners_) {
    if (listener->kind == StreamTransport::Kind::pipe) {
      char path[1024];
      std::size_t length = sizeof path;
      if (uv_pipe_getsockname(&listener->pipe, path, &length) == 0) {
        addresses.push_back(SocketAddress::from_path(std::string_view(path, length)));
      }
      continue;
    }
    sockaddr_storage storage{};
    int length = sizeof storage;
    if (uv_tcp_getsockname(&listener->tcp, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
      addresses.emplace_back(reinterpret_cast<const sockaddr*>(&storage));
    }
  }
  return addresses;
}

std::vector<std::shared_ptr<StreamTransport>> StreamServer::client_list() const {
  std::vector<std::shared_ptr<StreamTransport>> clients;
  for (StreamTransport* client : clients_) clients.push_back(client->shared_from_this());
  return clients;
}

void StreamServer::close_clients() {
  for (auto& client : client_list()) client->close();
}

void StreamServer::abort_clients() {
  for (auto& client : client_list()) client->abort();
}

void StreamServer::abandon() noexcept {
  // The clients are abandoned on their own; they will not call detach().
  clients_.clear();
  waiters_.clear();
  serving_forever_ = Future<void>();
  closed_ = true;
  serving_ = false;
  for (Listener* listener : listeners_) uv_close(&listener->handle, &on_listener_closed);
  listeners_.clear();
  release_self_if_done();
}

}  // namespace

}  // namespace aiouv::detail

namespace aiouv {
namespace {

/// With `options.ssl`, each client's protocol is served through its own TLS
/// layer, which calls the protocol's connection_made() after the handshake.
/// A failed handshake only closes that connection (asyncio logs it in debug
/// mode).
using Factory = std::function<std::shared_ptr<BaseProtocol>()>;

Factory serve_over_tls(EventLoop& loop, Factory factory, const ServerOptions& options) {
  detail::TlsParams tls = detail::make_tls_params(options.ssl, true, std::nullopt, options.ssl_handshake_timeout,
                                                  options.ssl_shutdown_timeout);
  if (!tls.context) return factory;
  return [&loop, factory = std::move(factory), tls = std::move(tls)]() -> std::shared_ptr<BaseProtocol> {
    std::shared_ptr<BaseProtocol> protocol = factory();
    if (!protocol) return nullptr;
    return detail::SslProtocol::create(loop, std::move(protocol), tls, {}, true);
  };
}

}  // namespace

Coro<std::shared_ptr<Server>> EventLoop::start_unix_server(ProtocolFactory factory, std::string path,
                                                           ServerOptions options) {
  factory = serve_over_tls(*this, std::move(factory), options);
  std::shared_ptr<detail::StreamServer> server =
      detail::StreamServer::create(*this, std::move(factory), options.backlog);
  try {
    server->listen_on(path);
  } catch (...) {
    server->close();
    throw;
  }
  if (options.start_serving) {
    server->begin_serving();
    co_await sleep(std::chrono::seconds(0));
  }
  co_return server;
}

Coro<std::shared_ptr<Server>> EventLoop::start_tcp_server(ProtocolFactory factory, std::vector<std::string> hosts,
                                                          std::uint16_t port, ServerOptions options) {
  if (hosts.empty()) hosts.emplace_back();
  factory = serve_over_tls(*this, std::move(factory), options);
  std::shared_ptr<detail::StreamServer> server =
      detail::StreamServer::create(*this, std::move(factory), options.backlog);
  std::exception_ptr error;
  try {
    std::vector<SocketAddress> bound;
    for (const std::string& host : hosts) {
      const std::vector<AddressInfo> infos = co_await getaddrinfo(
          host, std::to_string(port), AddressHints{options.family, SOCK_STREAM, 0, AI_PASSIVE});
      for (const AddressInfo& info : infos) {
        if (std::find(bound.begin(), bound.end(), info.address) != bound.end()) continue;
        bound.push_back(info.address);
        server->listen_on(info.address, options.reuse_port);
      }
    }
    if (bound.empty()) {
      throw std::system_error(std::make_error_code(std::errc::host_unreachable), "Neither host nor port given");
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    server->close();
    std::rethrow_exception(error);
  }
  if (options.start_serving) {
    server->begin_serving();
    co_await sleep(std::chrono::seconds(0));
  }
  co_return server;
}

}  // namespace aiouv
