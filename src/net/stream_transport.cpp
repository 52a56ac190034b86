// The stream transport: asyncio's selector socket transport, on libuv.
#include "stream_transport.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

#include <aiouv/events.hpp>
#include <aiouv/log.hpp>

#include <spdlog/spdlog.h>

#include "../core/describe.hpp"
#include "../uv/buffer.hpp"

namespace aiouv::detail {
namespace {

// Plain Protocols get data_received() views of one buffer per thread: a
// connection holds no read buffer while idle, and the protocol consumes
// the bytes before the next read can happen.
constexpr std::size_t kReadBufferSize = 64 * 1024;
thread_local char read_buffer[kReadBufferSize];

// asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES.
constexpr unsigned kLostWritesBeforeWarning = 5;

// After a burst, do not keep more than this much write buffer around.
constexpr std::size_t kKeptWriteCapacity = 64 * 1024;

// One libuv buffer holds at most this much (Windows' ULONG length is 32
// bits): larger writes go out in pieces.
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

uv_buf_t chunk_of(char* data, std::size_t size) noexcept {
  return make_uv_buf(data, std::min(size, kMaxChunk));
}

StreamTransport* owner_of(const void* handle) {
  return static_cast<StreamTransport*>(static_cast<const uv_handle_t*>(handle)->data);
}

std::exception_ptr uv_error(int status, const char* what) {
  return std::make_exception_ptr(std::system_error(make_uv_error_code(status), what));
}

/// asyncio's ConnectionError for a sendfile whose connection ended.
std::exception_ptr connection_closed_error() {
  return std::make_exception_ptr(
      std::system_error(std::make_error_code(std::errc::connection_reset), "Connection is closed by peer"));
}

}  // namespace

StreamTransport::StreamTransport(EventLoop& loop, Kind kind) noexcept : IoResource(loop), kind_(kind) {}

std::shared_ptr<StreamTransport> StreamTransport::create_tcp(EventLoop& loop) {
  std::shared_ptr<StreamTransport> transport(new StreamTransport(loop, Kind::tcp));
  if (int status = uv_tcp_init(loop.native_handle(), transport->tcp()); status < 0) {
    throw std::system_error(make_uv_error_code(status), "uv_tcp_init");
  }
  transport->adopt_handle(transport);
  return transport;
}

std::shared_ptr<StreamTransport> StreamTransport::create_pipe(EventLoop& loop) {
  std::shared_ptr<StreamTransport> transport(new StreamTransport(loop, Kind::pipe));
  if (int status = uv_pipe_init(loop.native_handle(), transport->pipe(), 0); status < 0) {
    throw std::system_error(make_uv_error_code(status), "uv_pipe_init");
  }
  transport->adopt_handle(transport);
  return transport;
}

void StreamTransport::adopt_handle(const std::shared_ptr<StreamTransport>& self) noexcept {
  handle_.handle.data = this;
  handle_open_ = true;
  handle_opened();
  self_ = self;
}

std::string StreamTransport::repr() const {
  std::string text = kind_ == Kind::tcp ? "<TcpTransport" : "<PipeTransport";
  if (conn_lost_ > 0) {
    text += " closed";
  } else if (closing_) {
    text += " closing";
  }
  if (auto peer = peername()) {
    text += " peer=" + peer->to_string();
  } else if (kind_ == Kind::pipe && !connecting_to_.empty()) {
    text += " path=" + connecting_to_;
  }
  text += " bufsize=" + std::to_string(get_write_buffer_size());
  return text + ">";
}

// ---- connection set-up and tear-down ----

void StreamTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  auto* stream_protocol = dynamic_cast<Protocol*>(protocol.get());
  auto* buffered_protocol = stream_protocol ? nullptr : dynamic_cast<BufferedProtocol*>(protocol.get());
  if (!stream_protocol && !buffered_protocol) {
    throw std::invalid_argument("a stream transport needs a Protocol or a BufferedProtocol");
  }
  protocol_ = std::move(protocol);
  stream_protocol_ = stream_protocol;
  buffered_protocol_ = buffered_protocol;
}

void StreamTransport::start(std::shared_ptr<BaseProtocol> protocol, Future<void> made) {
  set_protocol(std::move(protocol));
  if (kind_ == Kind::tcp) uv_tcp_nodelay(tcp(), 1);  // asyncio sets TCP_NODELAY too
  loop().call_soon([self = shared_from_this(), made = std::move(made)]() mutable { self->make_connection(made); });
}

void StreamTransport::make_connection(Future<void>& made) {
  made_ = true;
  if (protocol_) {
    try {
      if (stream_protocol_) {
        stream_protocol_->connection_made(*this);
      } else {
        buffered_protocol_->connection_made(*this);
      }
    } catch (...) {
      fatal_error(std::current_exception(), "Exception in connection_made()");
    }
  }
  if (made && !made.done()) made.set_result();
  if (!closing_ && reading_wanted_) start_reading();
}

void StreamTransport::close() {
  if (closing_) return;
  closing_ = true;
  stop_reading();
  if (pending_.empty() && !writing_) schedule_connection_lost(nullptr);
  // Otherwise on_write() does it once the buffer is flushed.
}

void StreamTransport::abort() { force_close(nullptr); }

void StreamTransport::force_close(std::exception_ptr error) {
  if (conn_lost_ > 0) return;
  pending_.clear();  // the bytes in flight are cancelled when the handle closes
  closing_ = true;
  stop_reading();
  schedule_connection_lost(std::move(error));
}

void StreamTransport::schedule_connection_lost(std::exception_ptr error) {
  ++conn_lost_;
  loop().call_soon([self = shared_from_this(), error = std::move(error)]() mutable {
    self->call_connection_lost(std::move(error));
  });
}

void StreamTransport::call_connection_lost(std::exception_ptr error) {
  if (flushed_waiter_) {
    Future<void> waiter = std::exchange(flushed_waiter_, {});
    if (!waiter.done()) waiter.set_exception(connection_closed_error());
  }
  if (lost_signal_ && !lost_signal_.done()) fail_lost_signal();
  lost_signal_ = {};
  std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  stream_protocol_ = nullptr;
  buffered_protocol_ = nullptr;
  if (protocol && made_) {
    try {
      protocol->connection_lost(std::move(error));
    } catch (...) {
      loop().call_exception_handler(
          ExceptionContext{"Exception in connection_lost()", std::current_exception(), {}, repr()});
    }
  }
  close_handle();
  if (TransportOwner* owner = std::exchange(owner_, nullptr)) owner->detach(*this);
}

void StreamTransport::discard() noexcept {
  closing_ = true;
  ++conn_lost_;
  protocol_.reset();
  stream_protocol_ = nullptr;
  buffered_protocol_ = nullptr;
  close_handle();
}

void StreamTransport::abandon() noexcept {
  pending_.clear();
  owner_ = nullptr;
  discard();
}

void StreamTransport::close_handle() noexcept {
  if (!handle_open_) return;
  handle_open_ = false;
  read_active_ = false;
  uv_close(&handle_.handle, &on_close);
}

void StreamTransport::on_close(uv_handle_t* handle) {
  StreamTransport* self = owner_of(handle);
  self->handle_closed();
  std::shared_ptr<StreamTransport> last = std::move(self->self_);  // may free the transport
}

void StreamTransport::fatal_error(std::exception_ptr error, const char* message) {
  // asyncio logs OS errors (resets, broken pipes) only in debug mode: they
  // are the peer's doing and reach the protocol through connection_lost().
  if (!is_os_error(error)) {
    loop().call_exception_handler(ExceptionContext{message, error, {}, repr()});
  } else if (loop().get_debug()) {
    logger()->debug("{}: {}: {}", repr(), message, describe_exception(error));
  }
  force_close(std::move(error));
}

void StreamTransport::fatal_uv_error(int status, const char* message) {
  fatal_error(uv_error(status, message), message);
}

// ---- reading ----

void StreamTransport::start_reading() {
  if (read_active_ || eof_ || !handle_open_) return;
  if (int status = uv_read_start(stream(), &on_alloc, &on_read); status < 0) {
    fatal_uv_error(status, "Fatal read error on socket transport");
    return;
  }
  read_active_ = true;
}

void StreamTransport::stop_reading() noexcept {
  if (!read_active_) return;
  uv_read_stop(stream());
  read_active_ = false;
}

void StreamTransport::pause_reading() {
  if (closing_ || !reading_wanted_) return;
  reading_wanted_ = false;
  stop_reading();
}

void StreamTransport::resume_reading() {
  if (closing_ || reading_wanted_ || write_only_) return;
  reading_wanted_ = true;
  if (made_) start_reading();
}

void StreamTransport::on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buffer) {
  StreamTransport* self = owner_of(handle);
  // Kept apart so that this path, taken on every read, saves no registers.
  if (self->buffered_protocol_) return self->alloc_from_protocol(suggested, buffer);
  *buffer = make_uv_buf(read_buffer, kReadBufferSize);
}

void StreamTransport::alloc_from_protocol(std::size_t suggested, uv_buf_t* buffer) {
  *buffer = make_uv_buf(nullptr, 0);  // libuv then reports UV_ENOBUFS
  try {
    std::span<char> span = buffered_protocol_->get_buffer(suggested);
    if (span.empty()) throw RuntimeError("get_buffer() returned an empty buffer");
    *buffer = chunk_of(span.data(), span.size());
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.get_buffer() call failed.");
  }
}

void StreamTransport::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) {
  StreamTransport* self = owner_of(stream);
  if (nread > 0) {
    if (self->conn_lost_ > 0) return;
    try {
      if (self->stream_protocol_) {
        self->stream_protocol_->data_received(std::string_view(buffer->base, static_cast<std::size_t>(nread)));
      } else if (self->buffered_protocol_) {
        self->buffered_protocol_->buffer_updated(static_cast<std::size_t>(nread));
      }
    } catch (...) {
      self->fatal_error(std::current_exception(), "Fatal error: protocol.data_received() call failed.");
    }
  } else if (nread == UV_EOF) {
    self->eof_received();
  } else if (nread < 0 && self->conn_lost_ == 0) {
    self->fatal_uv_error(static_cast<int>(nread), "Fatal read error on socket transport");
  }
}

void StreamTransport::eof_received() {
  eof_ = true;
  stop_reading();
  if (conn_lost_ > 0) return;
  bool keep_open = false;
  try {
    if (stream_protocol_) {
      keep_open = stream_protocol_->eof_received();
    } else if (buffered_protocol_) {
      keep_open = buffered_protocol_->eof_received();
    }
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.eof_received() call failed.");
    return;
  }
  if (!keep_open) close();
}

// ---- writing ----

void StreamTransport::write(std::string_view data) {
  if (eof_requested_ || sendfile_active_) [[unlikely]] refuse_write();
  write_bytes(data);
}

void StreamTransport::refuse_write() const {
  if (eof_requested_) throw RuntimeError("Cannot call write() after write_eof()");
  throw RuntimeError("unable to write; sendfile is in progress");
}

void StreamTransport::write_bytes(std::string_view data) {
  if (data.empty()) return;
  if (conn_lost_ == 0 && !writing_ && pending_.empty()) [[likely]] {
    // The common case: the kernel takes it all now, nothing is copied.
    uv_buf_t buffer = chunk_of(const_cast<char*>(data.data()), data.size());
    const int written = uv_try_write(stream(), &buffer, 1);
    if (written >= 0 && static_cast<std::size_t>(written) == data.size()) [[likely]] return;
    return write_rest(data, written);
  }
  write_rest(data, 0);
}

// Everything but a write the kernel took whole, apart from write_bytes so
// that its path saves no registers and builds no stack frame.
void StreamTransport::write_rest(std::string_view data, int written) {
  if (conn_lost_ > 0) {
    if (conn_lost_ >= kLostWritesBeforeWarning) logger()->warn("socket.send() raised exception.");
    ++conn_lost_;
    return;
  }
  if (written < 0 && written != UV_EAGAIN) {
    fatal_uv_error(written, "Fatal write error on socket transport");
    return;
  }
  if (written > 0) data.remove_prefix(static_cast<std::size_t>(written));
  pending_.append(data);
  if (!writing_) start_write();
  maybe_pause_protocol();
}

void StreamTransport::start_write() {
  if (pending_.size() <= kMaxChunk) {
    in_flight_.swap(pending_);
    pending_.clear();
  } else {
    in_flight_.assign(pending_, 0, kMaxChunk);
    pending_.erase(0, kMaxChunk);
  }
  uv_buf_t buffer = chunk_of(in_flight_.data(), in_flight_.size());
  write_request_.data = this;
  if (int status = uv_write(&write_request_, stream(), &buffer, 1, &on_write); status < 0) {
    in_flight_.clear();
    fatal_uv_error(status, "Fatal write error on socket transport");
    return;
  }
  writing_ = true;
  request_started();
}

void StreamTransport::on_write(uv_write_t* request, int status) {
  auto* self = static_cast<StreamTransport*>(request->data);
  self->request_finished();
  self->writing_ = false;
  self->in_flight_.clear();
  if (self->in_flight_.capacity() > kKeptWriteCapacity) std::string().swap(self->in_flight_);
  if (status == UV_ECANCELED || self->conn_lost_ > 0) return;  // closed or aborted meanwhile
  if (status < 0) {
    self->fatal_uv_error(status, "Fatal write error on socket transport");
    return;
  }
  if (!self->pending_.empty()) {
    self->start_write();
    self->maybe_resume_protocol();
    return;
  }
  if (self->flushed_waiter_) [[unlikely]] {
    Future<void> waiter = std::exchange(self->flushed_waiter_, {});
    if (!waiter.done()) waiter.set_result();
  }
  self->maybe_resume_protocol();
  if (self->closing_) {
    self->schedule_connection_lost(nullptr);
  } else if (self->eof_requested_) {
    self->start_shutdown();
  }
}

void StreamTransport::write_eof() {
  if (closing_ || eof_requested_) return;
  eof_requested_ = true;
  if (pending_.empty() && !writing_) start_shutdown();
}

void StreamTransport::start_shutdown() {
  if (shutdown_started_ || !handle_open_) return;
  shutdown_started_ = true;
  shutdown_request_.data = this;
  if (uv_shutdown(&shutdown_request_, stream(), &on_shutdown) == 0) request_started();
  // Failing (not connected any more) is not worth reporting: the read side
  // will tell.
}

void StreamTransport::on_shutdown(uv_shutdown_t* request, int) {
  static_cast<StreamTransport*>(request->data)->request_finished();
}

void StreamTransport::set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low) {
  marks_ = write_water_marks(high, low);
  maybe_pause_protocol();
}

void StreamTransport::maybe_pause_protocol() {
  if (sendfile_active_ || protocol_paused_ || get_write_buffer_size() <= marks_.high || !protocol_) return;
  protocol_paused_ = true;
  try {
    protocol_->pause_writing();
  } catch (...) {
    loop().call_exception_handler(
        ExceptionContext{"protocol.pause_writing() failed", std::current_exception(), {}, repr()});
  }
}

void StreamTransport::maybe_resume_protocol() {
  if (!protocol_paused_ || get_write_buffer_size() > marks_.low || !protocol_) return;
  protocol_paused_ = false;
  try {
    protocol_->resume_writing();
  } catch (...) {
    loop().call_exception_handler(
        ExceptionContext{"protocol.resume_writing() failed", std::current_exception(), {}, repr()});
  }
}

// ---- sendfile support ----

void StreamTransport::begin_sendfile() {
  if (sendfile_active_) throw RuntimeError("Empty waiter is already set");
  sendfile_active_ = true;
}

void StreamTransport::end_sendfile() noexcept {
  sendfile_active_ = false;
  flushed_waiter_ = {};
  lost_signal_ = {};
  if (!closing_) maybe_pause_protocol();
}

Future<void> StreamTransport::wait_flushed() {
  Future<void> waiter = loop().create_future<void>();
  if (conn_lost_ > 0) {
    waiter.set_exception(connection_closed_error());
  } else if (get_write_buffer_size() == 0) {
    waiter.set_result();
  } else {
    flushed_waiter_ = waiter;
  }
  return waiter;
}

Future<void> StreamTransport::connection_lost_signal() {
  if (!lost_signal_) {
    lost_signal_ = loop().create_future<void>();
    if (conn_lost_ > 0) fail_lost_signal();
  }
  return lost_signal_;
}

void StreamTransport::fail_lost_signal() {
  lost_signal_.set_exception(connection_closed_error());
  (void)lost_signal_.exception();  // a signal, not a result: nobody need be waiting on it now
}

uv_os_fd_t StreamTransport::fileno() const {
  uv_os_fd_t fd{};
  if (int status = uv_fileno(&handle_.handle, &fd); !handle_open_ || status < 0) {
    throw std::system_error(make_uv_error_code(handle_open_ ? status : UV_EBADF), "fileno");
  }
  return fd;
}

// ---- connecting ----

Future<void> StreamTransport::connect(const SocketAddress& address) {
  Future<void> connected = loop().create_future<void>();
  connect_request_.data = this;
  if (int status = uv_tcp_connect(&connect_request_, tcp(), address.get(), &on_connect); status < 0) {
    throw std::system_error(make_uv_error_code(status), "Connect call failed " + address.to_string());
  }
  request_started();
  connecting_to_ = address.to_string();
  connected_ = connected;
  return connected;
}

Future<void> StreamTransport::connect(const std::string& path) {
  Future<void> connected = loop().create_future<void>();
  connect_request_.data = this;
  uv_pipe_connect(&connect_request_, pipe(), path.c_str(), &on_connect);  // errors come to on_connect
  request_started();
  connecting_to_ = path;
  connected_ = connected;
  return connected;
}

void StreamTransport::on_connect(uv_connect_t* request, int status) {
  auto* self = static_cast<StreamTransport*>(request->data);
  self->request_finished();
  Future<void> connected = std::move(self->connected_);
  if (!connected || connected.done() || self->loop().is_closed()) return;
  if (status < 0) {
    connected.set_exception(
        std::system_error(make_uv_error_code(status), "Connect call failed " + self->connecting_to_));
  } else {
    connected.set_result();
  }
}

// ---- extra info ----

std::optional<SocketAddress> StreamTransport::peername() const {
  if (!peername_ && handle_open_ && kind_ == Kind::tcp) {
    sockaddr_storage storage{};
    int length = sizeof storage;
    if (uv_tcp_getpeername(&handle_.tcp, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
      peername_ = SocketAddress(reinterpret_cast<const sockaddr*>(&storage));
    }
  }
  return peername_;
}

std::optional<SocketAddress> StreamTransport::sockname() const {
  if (!sockname_ && handle_open_ && kind_ == Kind::tcp) {
    sockaddr_storage storage{};
    int length = sizeof storage;
    if (uv_tcp_getsockname(&handle_.tcp, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
      sockname_ = SocketAddress(reinterpret_cast<const sockaddr*>(&storage));
    }
  }
  return sockname_;
}

std::string StreamTransport::pipe_name(bool peer) const {
  char buffer[1024];
  std::size_t length = sizeof buffer;
  const int status = peer ? uv_pipe_getpeername(&handle_.pipe, buffer, &length)
                          : uv_pipe_getsockname(&handle_.pipe, buffer, &length);
  return status == 0 ? std::string(buffer, length) : std::string();
}

std::any StreamTransport::get_extra_info(std::string_view name) const {
  if (kind_ == Kind::pipe && (name == "peername" || name == "sockname")) {
    // A Unix socket's address is its path (asyncio gives the path string).
    if (!handle_open_) return {};
    return pipe_name(name == "peername");
  }
  if (name == "peername") {
    if (auto address = peername()) return *address;
  } else if (name == "sockname") {
    if (auto address = sockname()) return *address;
  } else if (name == "socket" && handle_open_) {
    uv_os_fd_t fd;
    if (uv_fileno(&handle_.handle, &fd) == 0) return fd;
  }
  return {};
}

}  // namespace aiouv::detail
