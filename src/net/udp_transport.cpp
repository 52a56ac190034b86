// create_datagram_endpoint(): asyncio's _SelectorDatagramTransport on a
// uv_udp_t. Datagrams go out with uv_udp_try_send first and are queued
// (copied) only when the kernel would block; they come in through one
// per-thread receive buffer.
#include <aiouv/detail/io_resource.hpp>
#include <aiouv/protocols.hpp>
#include <aiouv/tasks.hpp>
#include <aiouv/transports.hpp>

#include <uv.h>

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#ifndef _WIN32
#include <sys/socket.h>  // SO_REUSEPORT
#endif

#include "../core/connection_made.hpp"
#include "../uv/buffer.hpp"

namespace aiouv {
namespace detail {
namespace {

constexpr std::size_t kDatagramBufferSize = 64 * 1024;  // the largest UDP payload fits
thread_local char datagram_buffer[kDatagramBufferSize];

/// A datagram waiting for the kernel: its bytes and the send request.
struct QueuedDatagram {
  uv_udp_send_t request{};
  std::string data;
  std::optional<SocketAddress> address;
  class UdpTransport* owner = nullptr;
};

class UdpTransport final : public DatagramTransport,
                           public IoResource,
                           public std::enable_shared_from_this<UdpTransport> {
 public:
  static std::shared_ptr<UdpTransport> create(EventLoop& loop, int family) {
    std::shared_ptr<UdpTransport> transport(new UdpTransport(loop));
    if (int status = uv_udp_init_ex(loop.native_handle(), &transport->handle_,
                                    static_cast<unsigned>(family == AF_UNSPEC ? AF_UNSPEC : family));
        status < 0) {
      throw std::system_error(make_uv_error_code(status), "uv_udp_init_ex");
    }
    transport->handle_.data = transport.get();
    transport->handle_open_ = true;
    transport->self_ = transport;
    transport->handle_opened();
    return transport;
  }

  uv_udp_t* handle() noexcept { return &handle_; }
  void set_remote(const SocketAddress& remote) { remote_ = remote; }

  /// Installs the protocol; connection_made() and receiving follow soon.
  void start(std::shared_ptr<DatagramProtocol> protocol, Future<void> made) {
    protocol_ = std::move(protocol);
    loop().call_soon([self = shared_from_this(), made]() mutable {
      if (self->protocol_) {
        try {
          self->protocol_->connection_made(*self);
        } catch (...) {
          if (!made.done()) made.set_exception(std::current_exception());
          self->abort();
          return;
        }
      }
      if (!self->closing_) {
        if (int status = uv_udp_recv_start(&self->handle_, &on_alloc, &on_receive); status < 0) {
          if (!made.done()) made.set_exception(std::system_error(make_uv_error_code(status), "uv_udp_recv_start"));
          self->abort();
          return;
        }
      }
      if (!made.done()) made.set_result();
    });
  }

  void discard() noexcept {
    closing_ = true;
    protocol_ = nullptr;
    close_handle();
  }

  // DatagramTransport
  void sendto(std::string_view data, std::optional<SocketAddress> address) override {
    if (remote_ && address && !(*address == *remote_)) {
      throw std::invalid_argument("Invalid address: must be None or " + remote_->to_string());
    }
    if (!remote_ && !address) throw std::invalid_argument("sendto() needs an address: the endpoint is not connected");
    if (closing_ || !handle_open_) return;  // asyncio only warns after close
    const sockaddr* target = remote_ ? nullptr : address->get();
    if (queue_.empty()) {
      uv_buf_t buffer = make_uv_buf(const_cast<char*>(data.data()), data.size());
      const int sent = uv_udp_try_send(&handle_, &buffer, 1, target);
      if (sent >= 0) return;
      if (sent != UV_EAGAIN) {
        report(sent, "sendto");
        return;
      }
    }
    auto* queued = new QueuedDatagram{};
    queued->data.assign(data);
    queued->address = address;
    queued->owner = this;
    queued->request.data = queued;
    uv_buf_t buffer = make_uv_buf(queued->data.data(), queued->data.size());
    if (int status = uv_udp_send(&queued->request, &handle_, &buffer, 1, target, &on_sent); status < 0) {
      delete queued;
      report(status, "sendto");
      return;
    }
    request_started();
    queued_bytes_ += data.size();
    queue_.push_back(queued);
  }

  void close() override {
    if (closing_) return;
    closing_ = true;
    if (handle_open_) uv_udp_recv_stop(&handle_);
    if (queue_.empty()) finish();
  }

  void abort() override {
    closing_ = true;
    // Queued sends complete with UV_ECANCELED once the handle closes.
    finish();
  }

  bool is_closing() const noexcept override { return closing_; }
  std::size_t get_write_buffer_size() const noexcept override { return queued_bytes_; }

  std::any get_extra_info(std::string_view name) const override {
    if (!handle_open_) return {};
    if (name == "sockname") {
      if (auto address = sockname()) return *address;
      return {};
    }
    if (name == "peername") {
      if (remote_) return *remote_;
      return {};
    }
    if (name == "socket") {
      uv_os_fd_t fd;
      if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&handle_), &fd) == 0) return fd;
    }
    return {};
  }
  std::optional<SocketAddress> sockname() const override {
    sockaddr_storage storage{};
    int length = sizeof storage;
    if (!handle_open_ || uv_udp_getsockname(&handle_, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
    return SocketAddress(reinterpret_cast<const sockaddr*>(&storage));
  }
  std::optional<SocketAddress> peername() const override { return remote_; }
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }
  EventLoop& get_loop() const noexcept override { return loop(); }

  // IoResource
  void abandon() noexcept override {
    protocol_ = nullptr;
    closing_ = true;
    close_handle();
  }

 private:
  explicit UdpTransport(EventLoop& loop) noexcept : IoResource(loop) {}

  static void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buffer) {
    *buffer = make_uv_buf(datagram_buffer, kDatagramBufferSize);
  }

  static void on_receive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buffer, const sockaddr* from, unsigned) {
    auto* self = static_cast<UdpTransport*>(handle->data);
    (void)buffer;
    if (!self->protocol_ || self->closing_) return;
    if (nread < 0) {
      self->report(static_cast<int>(nread), "recvfrom");
      return;
    }
    if (!from) return;  // libuv: nothing more to read for now
    try {
      self->protocol_->datagram_received(std::string_view(datagram_buffer, static_cast<std::size_t>(nread)),
                                         SocketAddress(from));
    } catch (...) {
      self->fatal_error(std::current_exception(), "Fatal error: protocol.datagram_received() call failed.");
    }
  }

  static void on_sent(uv_udp_send_t* request, int status) {
    std::unique_ptr<QueuedDatagram> queued(static_cast<QueuedDatagram*>(request->data));
    UdpTransport* self = queued->owner;
    self->request_finished();
    self->queued_bytes_ -= queued->data.size();
    std::erase(self->queue_, queued.get());
    if (status < 0 && status != UV_ECANCELED) self->report(status, "sendto");
    if (self->closing_ && self->queue_.empty()) self->finish();
  }

  /// asyncio: an OSError of sendto/recvfrom goes to error_received().
  void report(int status, const char* operation) {
    if (!protocol_) return;
    try {
      protocol_->error_received(std::make_exception_ptr(std::system_error(make_uv_error_code(status), operation)));
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.error_received() call failed.");
    }
  }

  void fatal_error(std::exception_ptr error, const char* message) {
    ExceptionContext context;
    context.message = message;
    context.exception = error;
    loop().call_exception_handler(context);
    abort();
  }

  /// Closes the handle, then connection_lost(nullptr) in a callback.
  void finish() {
    if (lost_scheduled_) return;
    lost_scheduled_ = true;
    close_handle();
    if (loop().is_closed()) return;  // abandoned: no more callbacks
    loop().call_soon([self = shared_from_this()] {
      std::shared_ptr<DatagramProtocol> protocol = std::move(self->protocol_);
      if (protocol) protocol->connection_lost(nullptr);
    });
  }

  void close_handle() noexcept {
    if (!handle_open_) return;
    handle_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_), &on_close);
  }

  static void on_close(uv_handle_t* handle) {
    auto* self = static_cast<UdpTransport*>(handle->data);
    self->handle_closed();
    std::shared_ptr<UdpTransport> last = std::move(self->self_);  // may free the transport
  }

  uv_udp_t handle_{};
  std::shared_ptr<UdpTransport> self_;  // while the handle is open
  std::shared_ptr<DatagramProtocol> protocol_;
  std::optional<SocketAddress> remote_;
  std::vector<QueuedDatagram*> queue_;
  std::size_t queued_bytes_ = 0;
  bool handle_open_ = false;
  bool closing_ = false;
  bool lost_scheduled_ = false;
};

/// The addresses `where` resolves to, for datagrams of `family`.
Coro<std::vector<AddressInfo>> resolve(EventLoop& loop, HostPort where, int family) {
  std::vector<AddressInfo> infos =
      co_await loop.getaddrinfo(where.host, std::to_string(where.port), AddressHints{family, SOCK_DGRAM, 0, 0});
  if (infos.empty()) {
    throw std::system_error(std::make_error_code(std::errc::host_unreachable), "getaddrinfo() returned empty list");
  }
  co_return infos;
}

void set_socket_options(UdpTransport& transport, const DatagramOptions& options) {
  if (options.reuse_port) {
#if defined(SO_REUSEPORT) && !defined(_WIN32)
    uv_os_fd_t fd;
    int on = 1;
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(transport.handle()), &fd) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
      throw std::system_error(std::error_code(errno, std::generic_category()), "setsockopt(SO_REUSEPORT)");
    }
#else
    throw std::invalid_argument("reuse_port not supported by socket module");
#endif
  }
}

}  // namespace
}  // namespace detail

Coro<std::pair<std::shared_ptr<DatagramTransport>, std::shared_ptr<DatagramProtocol>>>
EventLoop::open_datagram_endpoint(std::function<std::shared_ptr<DatagramProtocol>()> factory,
                                  DatagramOptions options) {
  check_open();
  // The candidate (local, remote) pairs: one family at a time, as asyncio.
  std::vector<std::pair<std::optional<SocketAddress>, std::optional<SocketAddress>>> candidates;
  if (!options.local_addr && !options.remote_addr) {
    if (options.family != AF_INET && options.family != AF_INET6) {
      throw std::invalid_argument("unexpected address family");
    }
    candidates.emplace_back();
  } else {
    std::vector<AddressInfo> locals, remotes;
    if (options.local_addr) locals = co_await detail::resolve(*this, *options.local_addr, options.family);
    if (options.remote_addr) remotes = co_await detail::resolve(*this, *options.remote_addr, options.family);
    for (int family : {AF_INET, AF_INET6}) {
      std::optional<SocketAddress> local, remote;
      for (const AddressInfo& info : locals) {
        if (info.family == family && !local) local = info.address;
      }
      for (const AddressInfo& info : remotes) {
        if (info.family == family && !remote) remote = info.address;
      }
      if ((options.local_addr && !local) || (options.remote_addr && !remote)) continue;
      candidates.emplace_back(local, remote);
    }
    if (candidates.empty()) throw std::invalid_argument("can not get address information");
  }

  std::shared_ptr<detail::UdpTransport> transport;
  std::exception_ptr last_error;
  for (const auto& [local, remote] : candidates) {
    const int family = local ? local->family() : remote ? remote->family() : options.family;
    auto candidate = detail::UdpTransport::create(*this, family);
    try {
      detail::set_socket_options(*candidate, options);
      if (options.allow_broadcast) {
        if (int status = uv_udp_set_broadcast(candidate->handle(), 1); status < 0) {
          throw std::system_error(make_uv_error_code(status), "setsockopt(SO_BROADCAST)");
        }
      }
      if (local) {
        if (int status = uv_udp_bind(candidate->handle(), local->get(), 0); status < 0) {
          throw std::system_error(make_uv_error_code(status),
                                  "error while attempting to bind on address " + local->to_string());
        }
      }
      if (remote) {
        if (int status = uv_udp_connect(candidate->handle(), remote->get()); status < 0) {
          throw std::system_error(make_uv_error_code(status), "connect to " + remote->to_string());
        }
        candidate->set_remote(*remote);
      }
      transport = candidate;
      break;
    } catch (const std::system_error&) {
      last_error = std::current_exception();
      candidate->discard();
    } catch (...) {
      candidate->discard();
      throw;
    }
  }
  if (!transport) std::rethrow_exception(last_error);

  std::shared_ptr<DatagramProtocol> protocol;
  try {
    protocol = factory();
    if (!protocol) throw std::invalid_argument("the protocol factory returned nullptr");
  } catch (...) {
    transport->discard();
    throw;
  }
  Future<void> made = create_future<void>();
  transport->start(protocol, made);
  co_await detail::await_connection_made(std::move(made), *transport, &detail::UdpTransport::abort);
  co_return std::pair<std::shared_ptr<DatagramTransport>, std::shared_ptr<DatagramProtocol>>(std::move(transport),
                                                                                           std::move(protocol));
}

}  // namespace aiouv
