// asyncio's loop.sock_sendfile() and loop.sendfile(). The zero-copy path
// runs sendfile(2) on libuv's pool (see SendfileCall). When the socket
// buffer is full the call gives UV_EAGAIN, and the send waits for room with
// add_writer() before the next call. Where the system has no sendfile
// (Windows), or refuses this file, the file is read in blocks and written.
#include "sendfile.hpp"

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>

#include <aiouv/detail/io_resource.hpp>
#include <aiouv/fs.hpp>
#include <aiouv/tasks.hpp>

#ifdef _WIN32
#include <io.h>
#else
#include <unistd.h>
#endif
#ifdef __linux__
#include <sys/sendfile.h>
#endif

#include "socket_wait.hpp"
#include "stream_transport.hpp"

namespace aiouv {
namespace {

// The copying path reads this much per block.
constexpr std::size_t kCopyBlock = 256 * 1024;
// One sendfile(2) call asks for at most this much (Linux's own cap is
// about 2 GiB).
constexpr std::size_t kMaxNativeCall = std::size_t{1} << 30;

/// asyncio's _check_sendfile_params, as ValueError (std::invalid_argument).
void check_sendfile_arguments(std::int64_t offset, std::optional<std::size_t> count) {
  if (offset < 0) {
    throw std::invalid_argument("offset must be a non-negative integer (got " + std::to_string(offset) + ")");
  }
  if (count && *count == 0) throw std::invalid_argument("count must be a positive integer (got 0)");
}

[[noreturn]] void throw_transport_closed() {
  throw std::system_error(std::make_error_code(std::errc::connection_reset), "Connection is closed by peer");
}

#ifndef _WIN32

/// The socket that sendfile(2) calls write to. A transport's socket is
/// dup()ed: the transport may close its handle while a call still runs on
/// the pool, and the duplicate stops that descriptor number from being
/// reused under the call. The duplicate closes when the last call holding
/// it is done.
class SendTarget {
 public:
  SendTarget(int sock, bool owned) noexcept : sock_(sock), owned_(owned) {}
  SendTarget(const SendTarget&) = delete;
  SendTarget& operator=(const SendTarget&) = delete;
  ~SendTarget() {
    if (owned_) ::close(sock_);
  }

  /// The caller's own socket, left open.
  static std::shared_ptr<SendTarget> borrow(uv_os_sock_t sock) { return std::make_shared<SendTarget>(sock, false); }
  /// A duplicate of `fd`, closed when no longer needed.
  static std::shared_ptr<SendTarget> duplicate(int fd) {
    const int copy = ::dup(fd);
    if (copy < 0) throw std::system_error(errno, std::generic_category(), "sendfile");
    return std::make_shared<SendTarget>(copy, true);
  }

  int sock() const noexcept { return sock_; }

 private:
  int sock_;
  bool owned_;
};

/// One sendfile(2) call on libuv's pool: the bytes sent, or the libuv
/// error (UV_EAGAIN when the non-blocking socket is full).
///
/// On Linux the call is made directly, as a uv_work_t: libuv 1.44's
/// uv_fs_sendfile tries copy_file_range() first, which refuses sockets,
/// and then copies 8 KiB at a time with a blocking poll() whenever the
/// socket is full. That is never zero-copy, and it holds a worker thread
/// for as long as the peer does not read. Elsewhere uv_fs_sendfile passes
/// the non-blocking socket's EAGAIN through, as we need.
class SendfileCall final : public detail::IoResource {
 public:
  SendfileCall(EventLoop& loop, std::shared_ptr<SendTarget> target)
      : IoResource(loop), result(loop.create_future<std::int64_t>()), target_(std::move(target)) {}

  /// Starts sending up to `length` bytes of `file` from `offset`.
  static std::shared_ptr<SendfileCall> start(EventLoop& loop, std::shared_ptr<SendTarget> target, uv_file file,
                                             std::int64_t offset, std::size_t length) {
    auto call = std::make_shared<SendfileCall>(loop, std::move(target));
    call->begin(file, offset, length);
    call->self_ = call;  // libuv holds it until the call is over
    return call;
  }

  /// What the call gave (a cancelled caller cancels this future).
  Future<std::int64_t> result;

  /// Completes once the call is over, whatever became of `result`: a
  /// cancelled caller waits for it before the socket is anyone else's.
  Future<void> over() {
    if (!over_) {
      over_ = loop().create_future<void>();
      if (!self_) over_.set_result();
    }
    return over_;
  }

  void abandon() noexcept override {
#ifdef __linux__
    uv_cancel(reinterpret_cast<uv_req_t*>(&work_));
#else
    uv_cancel(reinterpret_cast<uv_req_t*>(&request_));
#endif
  }

 private:
  void begin(uv_file file, std::int64_t offset, std::size_t length) {
#ifdef __linux__
    file_ = file;
    offset_ = offset;
    length_ = length;
    work_.data = this;
    const int status = uv_queue_work(loop().native_handle(), &work_, &run, &on_worked);
#else
    request_.data = this;
    const int status =
        uv_fs_sendfile(loop().native_handle(), &request_, target_->sock(), file, offset, length, &on_sent);
    if (status < 0) uv_fs_req_cleanup(&request_);
#endif
    if (status < 0) throw std::system_error(make_uv_error_code(status), "sendfile");
    request_started();
  }

  void finish(std::int64_t outcome) {
    request_finished();
    std::shared_ptr<SendfileCall> last = std::move(self_);  // may free the call, once done here
    if (loop().is_closed()) return;
    if (!result.done()) result.set_result(outcome);
    if (over_ && !over_.done()) over_.set_result();
  }

#ifdef __linux__
  static void run(uv_work_t* work) {  // on a worker thread
    auto* self = static_cast<SendfileCall*>(work->data);
    off_t offset = static_cast<off_t>(self->offset_);
    ssize_t sent;
    do {
      sent = ::sendfile(self->target_->sock(), self->file_, &offset, self->length_);
    } while (sent < 0 && errno == EINTR);
    self->result_ = sent >= 0 ? sent : uv_translate_sys_error(errno);
  }
  static void on_worked(uv_work_t* work, int status) {
    auto* self = static_cast<SendfileCall*>(work->data);
    self->finish(status < 0 ? status : self->result_);
  }

  uv_work_t work_{};
  uv_file file_ = -1;
  std::int64_t offset_ = 0;
  std::size_t length_ = 0;
  std::int64_t result_ = 0;
#else
  static void on_sent(uv_fs_t* request) {
    auto* self = static_cast<SendfileCall*>(request->data);
    const std::int64_t outcome = request->result;
    uv_fs_req_cleanup(request);
    self->finish(outcome);
  }

  uv_fs_t request_{};
#endif
  std::shared_ptr<SendTarget> target_;  // open until the call is over
  std::shared_ptr<SendfileCall> self_;  // while libuv has the call
  Future<void> over_;                   // made by over() on demand
};

bool sendfile_unsupported(std::int64_t status) {
  // ESPIPE and EINVAL: the file is a pipe or some other non-regular file.
  return status == UV_ENOSYS || status == UV_EINVAL || status == UV_ENOTSUP || status == UV_ENOTSOCK ||
         status == UV_ESPIPE;
}

/// Completes once `sock` has room for more, or fails once `transport`
/// (if any) loses its connection: the wait is on a duplicate of the
/// transport's socket, which a close() or abort() does not close.
Coro<void> writable(EventLoop& loop, uv_os_sock_t sock, detail::StreamTransport* transport) {
  auto room = []() -> std::optional<bool> { return true; };
  Future<void> lost = transport ? transport->connection_lost_signal() : Future<void>{};
  (void)co_await detail::when_ready<bool>(loop, sock, detail::SocketEvent::writable, room,
                                          detail::FirstTry::when_ready, std::move(lost));
}

/// sendfile(2) calls until `wanted` bytes or EOF are sent: gives the count,
/// or std::nullopt if the system cannot send this file that way (nothing
/// was sent then). With a `transport`, stops once it is closing.
Coro<std::optional<std::size_t>> send_natively(EventLoop& loop, std::shared_ptr<SendTarget> target, uv_file file,
                                               std::int64_t offset, std::size_t wanted,
                                               detail::StreamTransport* transport) {
  std::size_t total = 0;
  while (total < wanted) {
    std::shared_ptr<SendfileCall> call = SendfileCall::start(
        loop, target, file, offset + static_cast<std::int64_t>(total), std::min(wanted - total, kMaxNativeCall));
    std::int64_t sent = 0;
    std::exception_ptr cancelled;
    try {
      sent = co_await call->result;
    } catch (const CancelledError&) {
      cancelled = std::current_exception();
    }
    if (cancelled) {
      // The call may still be writing to the socket: let it end first, so
      // that no byte of the file can follow what the caller writes next.
      co_await call->over();
      std::rethrow_exception(cancelled);
    }
    if (sent == 0) break;  // end of file
    if (sent > 0) {
      total += static_cast<std::size_t>(sent);
    } else if (sent == UV_EAGAIN) {
      if (transport && transport->is_closing()) throw_transport_closed();
      co_await writable(loop, target->sock(), transport);
    } else if (total == 0 && sendfile_unsupported(sent)) {
      co_return std::nullopt;  // e.g. not a regular file
    } else {
      throw std::system_error(make_uv_error_code(static_cast<int>(sent)), "sendfile");
    }
    if (transport && transport->is_closing()) throw_transport_closed();
  }
  co_return total;
}

#endif  // _WIN32

/// Where the copying path reads from: `offset` in a regular file; the
/// current position (-1) of a pipe, socket or tty, which have no offsets
/// (asyncio's file.seek(offset) fails there, as this does for offset > 0).
std::int64_t copy_start(uv_file file, std::int64_t offset) {
#ifdef _WIN32
  const bool seekable = _lseeki64(file, 0, SEEK_CUR) >= 0;
#else
  const bool seekable = ::lseek(file, 0, SEEK_CUR) >= 0;
#endif
  if (seekable) return offset;
  if (offset > 0) throw std::system_error(make_uv_error_code(UV_ESPIPE), "sendfile");
  return -1;
}

/// The next block of a copy that started at `start` (see copy_start()).
Coro<std::string> read_block(uv_file file, std::int64_t start, std::size_t done, std::size_t size) {
  return fs::read(file, std::min(size, kCopyBlock), start < 0 ? -1 : start + static_cast<std::int64_t>(done));
}

/// The copying path through a transport: read a block, write it, wait for
/// the buffer to drain whenever it passes the high-water mark.
Coro<std::size_t> copy_through(detail::StreamTransport& transport, uv_file file, std::int64_t offset,
                               std::size_t wanted) {
  const std::int64_t start = copy_start(file, offset);
  std::size_t total = 0;
  while (total < wanted) {
    const std::string block = co_await read_block(file, start, total, wanted - total);
    if (block.empty()) break;  // end of file
    if (transport.is_closing()) throw_transport_closed();
    transport.write_for_sendfile(block);
    total += block.size();
    if (transport.get_write_buffer_size() > transport.get_write_buffer_limits().second) {
      co_await transport.wait_flushed();
    }
  }
  co_return total;
}

}  // namespace

namespace detail {

Coro<std::size_t> sendfile_through(std::shared_ptr<StreamTransport> transport, uv_file file, std::int64_t offset,
                                   std::optional<std::size_t> count, SendfileMode mode) {
  // asyncio's _sendfile_native: reading paused, writes held, everything
  // written before goes out first.
  transport->begin_sendfile();
  struct Restore {
    StreamTransport& transport;
    bool resume_reading;
    ~Restore() {
      transport.end_sendfile();
      if (resume_reading) transport.resume_reading();
    }
  } restore{*transport, transport->is_reading()};
  transport->pause_reading();
  co_await transport->wait_flushed();

  const std::size_t wanted = count.value_or(std::numeric_limits<std::size_t>::max());
#ifndef _WIN32
  if (mode != SendfileMode::copy_only) {
    std::shared_ptr<SendTarget> target = SendTarget::duplicate(transport->fileno());
    const std::optional<std::size_t> sent =
        co_await send_natively(transport->get_loop(), std::move(target), file, offset, wanted, transport.get());
    if (sent) co_return *sent;
  }
#endif
  if (mode == SendfileMode::native_only) throw SendfileNotAvailableError("os.sendfile() is not available");
  const std::size_t sent = co_await copy_through(*transport, file, offset, wanted);
  co_await transport->wait_flushed();
  co_return sent;
}

}  // namespace detail

Coro<std::size_t> EventLoop::sock_sendfile(uv_os_sock_t sock, uv_file file, std::int64_t offset,
                                           std::optional<std::size_t> count, bool fallback) {
  check_open();
  check_sendfile_arguments(offset, count);
  const std::size_t wanted = count.value_or(std::numeric_limits<std::size_t>::max());
#ifndef _WIN32
  std::shared_ptr<SendTarget> target = SendTarget::borrow(sock);
  const std::optional<std::size_t> sent =
      co_await send_natively(*this, std::move(target), file, offset, wanted, nullptr);
  if (sent) co_return *sent;
#endif
  if (!fallback) throw SendfileNotAvailableError("os.sendfile() is not available");
  // asyncio's _sock_sendfile_fallback: read blocks, send each.
  const std::int64_t start = copy_start(file, offset);
  std::size_t total = 0;
  while (total < wanted) {
    std::string block = co_await read_block(file, start, total, wanted - total);
    if (block.empty()) break;  // end of file
    const std::size_t n = block.size();
    co_await sock_sendall(sock, std::move(block));
    total += n;
  }
  co_return total;
}

Coro<std::size_t> EventLoop::sendfile(Transport& transport, uv_file file, std::int64_t offset,
                                      std::optional<std::size_t> count, bool fallback) {
  check_open();
  if (transport.is_closing()) throw RuntimeError("Transport is closing");
  auto* stream = dynamic_cast<detail::StreamTransport*>(&transport);
  if (!stream) {
    throw RuntimeError("sendfile is not supported for transport: only TCP, Unix-socket and pipe transports have it");
  }
  check_sendfile_arguments(offset, count);
  std::shared_ptr<detail::StreamTransport> kept = stream->shared_from_this();  // alive until the end
  const auto mode = fallback ? detail::SendfileMode::native_then_copy : detail::SendfileMode::native_only;
  co_return co_await detail::sendfile_through(std::move(kept), file, offset, count, mode);
}

}  // namespace aiouv
