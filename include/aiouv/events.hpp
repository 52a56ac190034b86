#ifndef AIOUV_EVENTS_HPP_INCLUDED
#define AIOUV_EVENTS_HPP_INCLUDED

/// \file
/// The event loop (asyncio.AbstractEventLoop), its callback handles, and the
/// functions that find the current loop.

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <aiouv/detail/ready_queue.hpp>
#include <aiouv/detail/task_registry.hpp>
#include <aiouv/detail/timer_queue.hpp>
#include <aiouv/exceptions.hpp>
#include <aiouv/futures.hpp>
#include <aiouv/sockets.hpp>

struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;  // NOLINT(modernize-use-using): matches uv.h

namespace aiouv {

/// The clock of `EventLoop::time()` and every deadline (asyncio's
/// `loop.time()`, a monotonic clock).
using Clock = std::chrono::steady_clock;

class EventLoop;
class AnyTask;
template <class T>
class Coro;
template <class T>
class Task;

namespace detail {

/// now + delay on Clock, rounded up; negative delays count as zero, and a
/// delay of years or duration::max() saturates at time_point::max() (never
/// fires) instead of overflowing.
template <class Rep, class Period>
Clock::time_point deadline_after(std::chrono::duration<Rep, Period> delay) noexcept {
  const Clock::time_point now = Clock::now();
  if (delay <= delay.zero()) return now;
  const auto headroom = Clock::time_point::max() - now;
  if (delay >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(headroom)) {
    return Clock::time_point::max();
  }
  return now + std::chrono::ceil<Clock::duration>(delay);
}

}  // namespace detail

template <class T>
class Coro;
class BaseProtocol;
class Server;
class Transport;
class Executor;
class DatagramProtocol;
class DatagramTransport;
class SubprocessProtocol;
class SubprocessTransport;
struct SubprocessOptions;

namespace detail {
using SubprocessFactory = std::function<std::shared_ptr<SubprocessProtocol>()>;
struct ThreadsafeCall;
class LoopCore;
inline void drain_after_poll(EventLoop& loop) noexcept;
class IoResource;
class ExecutorJob;
class UvWorkJob;
}  // namespace detail

/// Returned by call_soon() and call_soon_threadsafe(): asyncio.Handle.
/// Move-only; cancel() and cancelled() belong to the loop's thread, except
/// for a handle from call_soon_threadsafe(), which may be cancelled from any
/// thread. A Handle must not outlive its loop.
class Handle {
 public:
  /// An empty handle; cancel() does nothing.
  Handle() noexcept = default;
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  ~Handle() {
    if (threadsafe_) release_threadsafe();
  }

  /// Prevents the callback from running and releases what it captured.
  /// Does nothing if it already ran.
  void cancel() noexcept;
  /// True if cancel() was called on this handle.
  bool cancelled() const noexcept { return cancelled_; }

 private:
  friend class EventLoop;
  Handle(EventLoop* loop, std::uint64_t ticket) noexcept : loop_(loop), ticket_(ticket) {}
  explicit Handle(detail::ThreadsafeCall* call) noexcept : threadsafe_(call) {}
  void release_threadsafe() noexcept;

  EventLoop* loop_ = nullptr;
  std::uint64_t ticket_ = 0;
  detail::ThreadsafeCall* threadsafe_ = nullptr;
  bool cancelled_ = false;
};

/// Returned by call_later() and call_at(): asyncio.TimerHandle. Move-only,
/// loop-thread only, must not outlive its loop.
class TimerHandle {
 public:
  /// An empty handle; cancel() does nothing.
  TimerHandle() noexcept = default;
  TimerHandle(TimerHandle&& other) noexcept
      : loop_(std::exchange(other.loop_, nullptr)),
        node_(other.node_),
        generation_(other.generation_),
        when_(other.when_),
        cancelled_(other.cancelled_) {}
  TimerHandle& operator=(TimerHandle&& other) noexcept {
    loop_ = std::exchange(other.loop_, nullptr);
    node_ = other.node_;
    generation_ = other.generation_;
    when_ = other.when_;
    cancelled_ = other.cancelled_;
    return *this;
  }

  /// Unschedules the timer and releases what its callback captured; does
  /// nothing if it already ran.
  void cancel() noexcept;
  /// True if cancel() was called on this handle.
  bool cancelled() const noexcept { return cancelled_; }
  /// The scheduled time, on the loop's clock.
  Clock::time_point when() const noexcept { return when_; }

 private:
  friend class EventLoop;
  TimerHandle(EventLoop* loop, detail::TimerNode* node, Clock::time_point when) noexcept
      : loop_(loop), node_(node), generation_(node->generation), when_(when) {}

  EventLoop* loop_ = nullptr;
  detail::TimerNode* node_ = nullptr;
  std::uint32_t generation_ = 0;
  Clock::time_point when_{};
  bool cancelled_ = false;
};

/// What call_exception_handler() receives: asyncio's context dict.
struct ExceptionContext {
  /// Always set: what went wrong.
  std::string message;
  /// The exception, if there is one.
  std::exception_ptr exception;
  /// The future or task involved, if any and still alive (`future.is_task()`
  /// tells which); empty when the report is about an object being destroyed.
  AnyFuture future;
  /// asyncio's repr of the future, task or callback handle involved
  /// (e.g. "<Task pending name='Task-4'>"); set even when `future` is empty.
  std::string object;
};

/// How the loop starts a new task; see EventLoop::set_task_factory().
enum class TaskStart {
  soon,   ///< first step via call_soon (asyncio's default)
  eager,  ///< first step runs inside create_task (asyncio.eager_task_factory)
};

/// A task factory: called by create_task() with the new, not yet started
/// task (it may rename it or add done callbacks) and says how to start it.
using TaskFactory = std::function<TaskStart(EventLoop&, AnyTask&)>;

/// The factory that makes tasks eager, as asyncio.eager_task_factory: the
/// coroutine runs synchronously inside create_task() until it first
/// suspends, and a coroutine that never suspends finishes there.
TaskStart eager_task_factory(EventLoop& loop, AnyTask& task);

/// Counts of what a loop has alive; all zero after close() unless the
/// program still holds futures or tasks (the leak ledger of the tests).
struct LoopCounters {
  std::size_t uv_handles = 0;        ///< libuv handles opened and not yet closed
  std::size_t uv_requests = 0;       ///< libuv requests in flight
  std::size_t callback_handles = 0;  ///< queued callbacks and timers
  std::size_t futures = 0;           ///< live future and task states
  std::size_t tasks = 0;             ///< live task states
};

/// asyncio's event loop, on libuv.
///
/// Either owns a fresh `uv_loop_t` or borrows one that a host program runs
/// (`EventLoop(uv_loop_t*)`): then aiouv makes progress whenever the host
/// calls uv_run, keeps its handles stopped or unreferenced while it has
/// nothing pending (so the host's `uv_run(UV_RUN_DEFAULT)` returns as in a
/// plain libuv program), and after close() the host's uv_loop_close succeeds.
///
/// One loop per thread. Only call_soon_threadsafe() may be called from other
/// threads. Handles, futures and tasks must not outlive their loop.
class EventLoop {
 public:
  /// Owns a fresh uv_loop_t.
  EventLoop();
  /// Borrows a host's loop; see the class comment.
  explicit EventLoop(uv_loop_t* borrowed);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  /// Closes the loop if the program did not.
  ~EventLoop();

  // ---- running and stopping ----

  /// Runs until stop() is called.
  void run_forever();
  /// Runs until the coroutine (wrapped in a task) is done; returns its
  /// result or rethrows its exception.
  template <class T>
  T run_until_complete(Coro<T> coro);
  /// Runs until the task or future is done; returns its result (a copy,
  /// unless T is move-only) or rethrows its exception.
  template <class T>
  T run_until_complete(Future<T> future);
  /// Stops run_forever() after the current batch of callbacks; if called
  /// before run_forever(), that call runs one iteration and returns.
  void stop() noexcept;
  /// True inside run_forever() / run_until_complete().
  bool is_running() const noexcept { return running_; }
  /// True once close() was called.
  bool is_closed() const noexcept { return closed_; }
  /// Drops pending callbacks and timers, destroys pending tasks (reporting
  /// each), closes aiouv's libuv handles and, for an owned loop, the
  /// uv_loop_t. Idempotent. RuntimeError if the loop is running.
  void close();

  // ---- scheduling callbacks ----

  /// The loop's current time.
  Clock::time_point time() const noexcept { return Clock::now(); }

  /// Calls `f(args...)` in the next loop iteration, after the callbacks
  /// already queued (FIFO). A callback scheduled while the queue is being
  /// drained runs in the next iteration.
  template <class F, class... Args>
  Handle call_soon(F&& f, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return Handle(this, enqueue(std::forward<F>(f)));
    } else {
      return Handle(this, enqueue(bind_callback(std::forward<F>(f), std::forward<Args>(args)...)));
    }
  }

  /// Calls `f(args...)` once `delay` has passed (a negative delay counts as
  /// zero). Never early against Clock; equal deadlines run in scheduling order.
  template <class Rep, class Period, class F, class... Args>
  TimerHandle call_later(std::chrono::duration<Rep, Period> delay, F&& f, Args&&... args) {
    return schedule_timer(detail::deadline_after(delay),
                          bind_callback(std::forward<F>(f), std::forward<Args>(args)...));
  }

  /// Calls `f(args...)` at `when` on the loop's clock.
  template <class Duration, class F, class... Args>
  TimerHandle call_at(std::chrono::time_point<Clock, Duration> when, F&& f, Args&&... args) {
    return schedule_timer(std::chrono::time_point_cast<Clock::duration>(when),
                          bind_callback(std::forward<F>(f), std::forward<Args>(args)...));
  }

  /// Calls `f(args...)` at a wall-clock ("Unix") time, converted to the loop
  /// clock once, now: later changes of the system clock do not move it.
  template <class Duration, class F, class... Args>
  TimerHandle call_at(std::chrono::time_point<std::chrono::system_clock, Duration> when, F&& f,
                      Args&&... args) {
    return call_later(when - std::chrono::system_clock::now(), std::forward<F>(f),
                      std::forward<Args>(args)...);
  }

  /// call_soon() from any thread: wakes the loop through a uv_async_t.
  /// RuntimeError("Event loop is closed") once closed.
  template <class F, class... Args>
  Handle call_soon_threadsafe(F&& f, Args&&... args) {
    return enqueue_threadsafe(bind_callback(std::forward<F>(f), std::forward<Args>(args)...));
  }

  // ---- DNS (on uv_getaddrinfo / uv_getnameinfo, in libuv's thread pool) ----

  /// asyncio's loop.getaddrinfo(host, port): the addresses `host` resolves
  /// to, in the resolver's order. An empty host means the local host for
  /// connecting, every interface with AI_PASSIVE. Cancelling the awaiting
  /// task cancels the lookup. std::system_error (uv_category, e.g.
  /// UV_EAI_NONAME) if it fails.
  Coro<std::vector<AddressInfo>> getaddrinfo(std::string host, std::string port);
  Coro<std::vector<AddressInfo>> getaddrinfo(std::string host, std::string port, AddressHints hints);
  Coro<std::vector<AddressInfo>> getaddrinfo(std::string host, std::uint16_t port);
  /// asyncio's loop.getnameinfo(sockaddr, flags): (host, service).
  Coro<std::pair<std::string, std::string>> getnameinfo(SocketAddress address, int flags = 0);

  // ---- TCP and Unix-socket connections and servers (transports.hpp, protocols.hpp) ----

  /// asyncio's loop.create_connection(protocol_factory, host, port): tries
  /// every address `host` resolves to, in order, until one connects; then
  /// calls `factory()` (which returns std::shared_ptr<P>, P a Protocol or
  /// BufferedProtocol), and gives (transport, protocol) once the protocol's
  /// connection_made() has run. If every address fails, the error of the
  /// only one, or std::system_error("Multiple exceptions: ...").
  template <class Factory>
  auto create_connection(Factory factory, std::string host, std::uint16_t port, ConnectionOptions options = {});

  /// asyncio's loop.create_server(protocol_factory, host, port): listens on
  /// every address of `host` ("" for all interfaces; port 0 picks a free
  /// port per address, see Server::sockets()), and for each accepted
  /// connection calls `factory()` and starts a transport.
  template <class Factory>
  Coro<std::shared_ptr<Server>> create_server(Factory factory, std::string host, std::uint16_t port,
                                              ServerOptions options = {});
  /// The same on several hosts.
  template <class Factory>
  Coro<std::shared_ptr<Server>> create_server(Factory factory, std::vector<std::string> hosts, std::uint16_t port,
                                              ServerOptions options = {});

  /// asyncio's loop.start_tls(transport, protocol, sslcontext): upgrades a
  /// connection made by create_connection() or a server (a stream
  /// transport) to TLS. `protocol` keeps receiving, now plaintext, through
  /// the returned transport, which is what to write to from then on (the
  /// old one belongs to the TLS layer). Completes after the handshake;
  /// on failure closes the transport and throws (SSLError,
  /// errc::connection_aborted on timeout). std::invalid_argument for a
  /// transport that is not a stream transport, or a context for the other
  /// side.
  Coro<std::shared_ptr<Transport>> start_tls(std::shared_ptr<Transport> transport,
                                             std::shared_ptr<BaseProtocol> protocol,
                                             std::shared_ptr<SSLContext> sslcontext, TlsOptions options = {});

  /// asyncio's loop.create_unix_connection(protocol_factory, path): as
  /// create_connection() over a Unix socket (a named pipe on Windows).
  /// With `options.ssl`, `options.server_hostname` is required
  /// (std::invalid_argument "you have to pass server_hostname when using
  /// ssl", as asyncio).
  template <class Factory>
  auto create_unix_connection(Factory factory, std::string path, UnixConnectionOptions options = {});
  /// asyncio's loop.create_unix_server(protocol_factory, path): listens on a
  /// Unix socket, replacing a stale socket file at `path` and removing it
  /// again on close() (asyncio 3.13). `options.family` and `reuse_port` do
  /// not apply.
  template <class Factory>
  Coro<std::shared_ptr<Server>> create_unix_server(Factory factory, std::string path, ServerOptions options = {});

  // ---- pipes (uv_pipe_t over a descriptor) ----

  /// asyncio's loop.connect_read_pipe(protocol_factory, pipe): a read
  /// transport over `fd` (a pipe, FIFO or terminal; made non-blocking),
  /// which the transport owns from now on and closes with itself. Gives
  /// (transport, protocol) once connection_made() has run; EOF calls
  /// eof_received(), then the transport closes.
  template <class Factory>
  auto connect_read_pipe(Factory factory, uv_file fd);
  /// asyncio's loop.connect_write_pipe(protocol_factory, pipe): the same
  /// for writing (write(), drain through the protocol's pause_writing and
  /// resume_writing, close()).
  template <class Factory>
  auto connect_write_pipe(Factory factory, uv_file fd);

  // ---- UDP (uv_udp_t) ----

  /// asyncio's loop.create_datagram_endpoint(protocol_factory, ...): a UDP
  /// endpoint bound to `options.local_addr` and/or connected to
  /// `options.remote_addr` (each resolved, the first address that works),
  /// or unbound of `options.family`. Gives (transport, protocol) once
  /// connection_made() has run. std::invalid_argument "unexpected address
  /// family" when neither address nor a family is given.
  template <class Factory>
  Coro<std::pair<std::shared_ptr<DatagramTransport>, std::invoke_result_t<Factory&>>> create_datagram_endpoint(
      Factory factory, DatagramOptions options);

  // ---- watching file descriptors (uv_poll_t) ----

  /// asyncio's loop.add_reader(fd, callback, *args): runs `f(args...)` in
  /// the loop each time `fd` (a socket; on Unix any pollable descriptor) is
  /// readable, replacing a reader already set for it. The descriptor stays
  /// the caller's: remove the reader before closing it.
  template <class F, class... Args>
  void add_reader(uv_os_sock_t fd, F&& f, Args&&... args) {
    set_fd_callback(fd, UV_READABLE, bind_callback(std::forward<F>(f), std::forward<Args>(args)...));
  }
  /// Stops watching `fd` for reading; true if a reader was set.
  bool remove_reader(uv_os_sock_t fd);
  /// asyncio's loop.add_writer(): the same for writability.
  template <class F, class... Args>
  void add_writer(uv_os_sock_t fd, F&& f, Args&&... args) {
    set_fd_callback(fd, UV_WRITABLE, bind_callback(std::forward<F>(f), std::forward<Args>(args)...));
  }
  /// Stops watching `fd` for writing; true if a writer was set.
  bool remove_writer(uv_os_sock_t fd);

  // ---- non-blocking native sockets (asyncio's sock_* coroutines) ----
  // Each tries the call at once, then again whenever the socket is ready
  // (add_reader/add_writer), and raises the socket error as
  // std::system_error. `sock` must be non-blocking and stays the caller's.

  /// Up to `n` bytes; "" when the peer closed.
  Coro<std::string> sock_recv(uv_os_sock_t sock, std::size_t n);
  /// Into `buffer` (which must outlive the call); gives the byte count.
  Coro<std::size_t> sock_recv_into(uv_os_sock_t sock, std::span<char> buffer);
  /// One datagram of up to `bufsize` bytes and its sender.
  Coro<std::pair<std::string, SocketAddress>> sock_recvfrom(uv_os_sock_t sock, std::size_t bufsize);
  /// One datagram into `buffer` (at most `nbytes`, 0: all of it).
  Coro<std::pair<std::size_t, SocketAddress>> sock_recvfrom_into(uv_os_sock_t sock, std::span<char> buffer,
                                                                 std::size_t nbytes = 0);
  /// Sends all of `data`, waiting for room as often as needed.
  Coro<void> sock_sendall(uv_os_sock_t sock, std::string data);
  /// One datagram to `address`; gives the bytes sent.
  Coro<std::size_t> sock_sendto(uv_os_sock_t sock, std::string data, SocketAddress address);
  /// Connects; std::system_error "Connect call failed ADDRESS" if refused.
  Coro<void> sock_connect(uv_os_sock_t sock, SocketAddress address);
  /// Accepts one connection: the new (non-blocking) socket and its peer.
  Coro<std::pair<uv_os_sock_t, SocketAddress>> sock_accept(uv_os_sock_t sock);
  /// asyncio's loop.sock_sendfile(sock, file, offset, count, fallback):
  /// sends `count` bytes (all up to EOF if unset) of the open file `file`
  /// from `offset`, with sendfile(2) where the system has it; otherwise, or
  /// if the file cannot be sent that way, reads and sends it in blocks when
  /// `fallback` allows, else SendfileNotAvailableError. Gives the bytes sent.
  /// The file's own position is not used or moved. std::invalid_argument
  /// for a negative offset or a zero count.
  Coro<std::size_t> sock_sendfile(uv_os_sock_t sock, uv_file file, std::int64_t offset = 0,
                                  std::optional<std::size_t> count = std::nullopt, bool fallback = true);
  /// asyncio's loop.sendfile(transport, file, offset, count, fallback):
  /// sends `count` bytes (all up to EOF if unset) of `file` from `offset`
  /// through a TCP, Unix-socket or pipe transport, with sendfile(2) where
  /// the system has it, else (if `fallback`) by reading and writing blocks,
  /// else SendfileNotAvailableError. Bytes written before go first; reading
  /// is paused and write() refuses with RuntimeError("unable to write;
  /// sendfile is in progress") until it ends. Gives the bytes sent, once
  /// the OS has them all. RuntimeError("Transport is closing"), or "sendfile
  /// is not supported for transport..." for other transports;
  /// std::system_error("Connection is closed by peer") if the connection
  /// ends meanwhile. The file's own position is not used or moved.
  Coro<std::size_t> sendfile(Transport& transport, uv_file file, std::int64_t offset = 0,
                             std::optional<std::size_t> count = std::nullopt, bool fallback = true);
  /// asyncio's loop.connect_accepted_socket(protocol_factory, sock): a TCP
  /// transport over an already connected socket, which it owns from now on.
  template <class Factory>
  auto connect_accepted_socket(Factory factory, uv_os_sock_t sock);

  // ---- Unix signals (uv_signal_t) ----

  /// asyncio's loop.add_signal_handler(sig, callback, *args): runs
  /// `f(args...)` in the loop (as a call_soon callback) each time `signum`
  /// arrives, replacing a handler already set for it. The watcher does not
  /// keep the loop alive. std::invalid_argument "sig N out of range(1, NSIG)",
  /// RuntimeError "sig N cannot be caught" (SIGKILL, SIGSTOP).
  template <class F, class... Args>
  void add_signal_handler(int signum, F&& f, Args&&... args) {
    set_signal_handler(signum, bind_callback(std::forward<F>(f), std::forward<Args>(args)...));
  }
  /// Removes the handler of `signum`; true if there was one. The signal's
  /// default action applies again.
  bool remove_signal_handler(int signum);

  // ---- child processes (defined in subprocess.hpp) ----

  /// asyncio's loop.subprocess_exec(protocol_factory, program, *args,
  /// stdin=..., ...): starts `program` (looked up in PATH) with `args`,
  /// gives (transport, protocol) once connection_made() has run. Each
  /// stream defaults to subprocess::INHERIT here; pass subprocess::PIPE in
  /// `options` for pipes. std::system_error if it cannot start.
  template <class Factory>
  Coro<std::pair<std::shared_ptr<SubprocessTransport>, std::invoke_result_t<Factory&>>> subprocess_exec(
      Factory factory, std::string program, std::vector<std::string> args, SubprocessOptions options);
  /// The same through the shell: /bin/sh -c COMMAND (cmd.exe /c on Windows).
  template <class Factory>
  Coro<std::pair<std::shared_ptr<SubprocessTransport>, std::invoke_result_t<Factory&>>> subprocess_shell(
      Factory factory, std::string command, SubprocessOptions options);

  // ---- executors (defined in threads.hpp) ----

  /// asyncio's loop.run_in_executor(executor, func, *args): runs
  /// `f(args...)` on another thread and gives a Future for its result or
  /// exception. `executor == nullptr` means the default executor: the one
  /// given to set_default_executor(), else libuv's thread pool. Cancelling
  /// the future keeps a call that has not started from running.
  /// RuntimeError("Executor shutdown has been called") after
  /// shutdown_default_executor() for the default one.
  template <class F, class... Args>
  Future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> run_in_executor(Executor* executor, F&& f,
                                                                                       Args&&... args);
  /// Makes `executor` the default for run_in_executor(nullptr, ...) and
  /// to_thread(); nullptr goes back to libuv's thread pool.
  void set_default_executor(std::shared_ptr<Executor> executor);
  /// asyncio's loop.shutdown_default_executor(): refuses new default
  /// jobs, then waits (without blocking the loop) for the accepted ones and
  /// for a set default executor's shutdown(true).
  Coro<void> shutdown_default_executor();

  // ---- futures and tasks ----

  /// A new pending future bound to this loop.
  template <class T = void>
  Future<T> create_future() {
    check_open();
    return Future<T>(new detail::FutureState<T>(*this));
  }
  /// Wraps a coroutine in a task and starts it (through the task factory if
  /// one is set). The name defaults to "Task-N".
  template <class T>
  Task<T> create_task(Coro<T> coro);
  /// As create_task(coro), named `name` ("Task-N" if empty).
  template <class T>
  Task<T> create_task(Coro<T> coro, std::string name);
  /// Sets (or with nullptr, removes) the task factory.
  void set_task_factory(TaskFactory factory) {
    task_factory_ = std::move(factory);
    update_slow_path_flags();
  }
  /// The task factory; empty if none is set.
  const TaskFactory& get_task_factory() const noexcept { return task_factory_; }

  // ---- errors and debugging ----

  /// `handler(loop, context)`; see asyncio's set_exception_handler.
  using ExceptionHandler = std::function<void(EventLoop&, const ExceptionContext&)>;
  /// Sets (or with nullptr, resets) the exception handler.
  void set_exception_handler(ExceptionHandler handler) { exception_handler_ = std::move(handler); }
  /// The exception handler; empty when the default one is in use.
  const ExceptionHandler& get_exception_handler() const noexcept { return exception_handler_; }
  /// Logs the context as an error on the "aiouv" logger.
  void default_exception_handler(const ExceptionContext& context);
  /// Passes the context to the handler (or the default one); an exception
  /// thrown by the handler is logged, never propagated.
  void call_exception_handler(const ExceptionContext& context) noexcept;

  /// Debug mode: callbacks and task steps slower than slow_callback_duration
  /// are logged as warnings; call_soon from a foreign thread throws.
  void set_debug(bool enabled) noexcept {
    debug_ = enabled;
    update_slow_path_flags();
  }
  /// True in debug mode.
  bool get_debug() const noexcept { return debug_; }
  /// Threshold of the slow-callback warning (asyncio's default, 100 ms).
  Clock::duration slow_callback_duration = std::chrono::milliseconds(100);

  /// The underlying libuv loop.
  uv_loop_t* native_handle() const noexcept { return uv_loop_; }

  /// What the loop has alive right now (see LoopCounters).
  LoopCounters counters() const noexcept;

 private:
  /// create_task(coro) when anything is unusual (closed loop, debug mode,
  /// a ready or empty coroutine, a task factory): the named form, which checks and
  /// reports. Apart, so the common path builds no string and keeps no frame.
  template <class T>
  Task<T> create_task_unusual(Coro<T> coro);
  friend class Handle;
  friend class TimerHandle;
  friend class detail::FutureStateBase;
  friend class detail::TaskStateBase;
  friend class detail::LoopCore;
  friend void detail::drain_after_poll(EventLoop& loop) noexcept;
  friend class detail::IoResource;
  friend class Runner;
  friend AnyTask current_task(EventLoop*);
  friend std::vector<AnyTask> all_tasks(EventLoop*);

  template <class F, class... Args>
  static detail::Callback bind_callback(F&& f, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return detail::Callback(std::forward<F>(f));
    } else {
      return detail::Callback([f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable {
        std::invoke(f, args...);
      });
    }
  }

  void check_open() const {
    // One test on the fast path: closed and debug share the slow one.
    if (closed_or_debug_) [[unlikely]] {
      if (closed_) throw_closed();
      check_thread();
    }
  }
  [[noreturn]] static void throw_closed();
  void check_thread() const;

  template <class F>
  std::uint64_t enqueue(F&& callable) {
    check_open();
    return enqueue_checked(std::forward<F>(callable));
  }
  /// enqueue() for a caller that has just called check_open() itself.
  template <class F>
  std::uint64_t enqueue_checked(F&& callable) {
    std::uint64_t ticket = ready_.push(std::forward<F>(callable));
    if (drain_ == 0) [[unlikely]] start_idle();
    return ticket;
  }
  Handle enqueue_threadsafe(detail::Callback&& callback);
  TimerHandle schedule_timer(Clock::time_point when, detail::Callback&& callback);
  void cancel_timer(detail::TimerNode* node) noexcept;

  // libuv callbacks, entered through LoopCore.
  void run_ready();
  void run_ready_debug();
  void on_timer();
  void on_wakeup();

  void init_core();
  void start_idle();
  void arm_timer();
  void reference_timer(bool referenced) noexcept;
  void report_callback_exception(std::exception_ptr error, const char* what) noexcept;

  using ProtocolFactory = std::function<std::shared_ptr<BaseProtocol>()>;
  Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> connect_stream(
      ProtocolFactory factory, std::string host, std::uint16_t port, ConnectionOptions options);
  Coro<std::shared_ptr<Server>> start_tcp_server(ProtocolFactory factory, std::vector<std::string> hosts,
                                                 std::uint16_t port, ServerOptions options);
  Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> connect_unix_stream(
      ProtocolFactory factory, std::string path, UnixConnectionOptions options);
  Coro<std::shared_ptr<Server>> start_unix_server(ProtocolFactory factory, std::string path, ServerOptions options);

  void set_signal_handler(int signum, detail::Callback&& callback);
  void set_fd_callback(uv_os_sock_t fd, int events, detail::Callback&& callback);
  bool remove_fd_callback(uv_os_sock_t fd, int events);
  std::map<uv_os_sock_t, detail::IoResource*> fd_watchers_;
  void submit_job(Executor* executor, std::unique_ptr<detail::ExecutorJob> job);
  Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> adopt_socket(ProtocolFactory factory,
                                                                                          uv_os_sock_t sock);
  Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> open_pipe(ProtocolFactory factory,
                                                                                       uv_file fd, bool for_writing);
  Coro<std::pair<std::shared_ptr<DatagramTransport>, std::shared_ptr<DatagramProtocol>>> open_datagram_endpoint(
      std::function<std::shared_ptr<DatagramProtocol>()> factory, DatagramOptions options);
  Coro<std::pair<std::shared_ptr<SubprocessTransport>, std::shared_ptr<SubprocessProtocol>>> spawn_process(
      detail::SubprocessFactory factory, std::string program, std::vector<std::string> args,
      SubprocessOptions options);
  std::shared_ptr<Executor> default_executor_;
  bool default_executor_shut_down_ = false;
  std::size_t default_jobs_in_flight_ = 0;  // on libuv's pool
  std::vector<Future<void>> default_jobs_drained_;
  friend class detail::UvWorkJob;
  std::map<int, detail::IoResource*> signal_handlers_;

  // I/O resource bookkeeping (see detail::IoResource).
  void link_io(detail::IoResource* resource) noexcept;
  void unlink_io(detail::IoResource* resource) noexcept;

  // Task bookkeeping.
  detail::TaskStateBase* swap_current_task(detail::TaskStateBase* task) noexcept {
    return std::exchange(current_task_, task);
  }
  void start_task(AnyTask& task);
  /// all_tasks(): the pending tasks in creation order.
  std::vector<AnyTask> unfinished_tasks() const;
  template <class T>
  T run_until_done(Future<T>& future, bool move_result);

  uv_loop_t* uv_loop_ = nullptr;
  bool owns_uv_loop_ = false;
  bool running_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  bool debug_ = false;
  // One test each on the hot paths (check_open, create_task); kept by
  // update_slow_path_flags().
  bool closed_or_debug_ = false;
  bool create_task_slow_ = false;  // closed, debug or a task factory
  void update_slow_path_flags() noexcept {
    closed_or_debug_ = closed_ || debug_;
    create_task_slow_ = closed_or_debug_ || static_cast<bool>(task_factory_);
  }
  // Why the ready queue will be drained without libuv blocking in poll:
  static constexpr std::uint8_t kIdleStarted = 1;  // the idle handle runs
  static constexpr std::uint8_t kCheckDrains = 2;  // see detail::drain_after_poll()
  std::uint8_t drain_ = 0;
  bool timer_armed_ = false;
  bool timer_unreferenced_ = false;  // armed, but no aiouv timer is left

  int callbacks_entered_ = 0;  // >0 while inside one of our libuv callbacks
  Clock::time_point armed_deadline_{};
  std::thread::id thread_id_{};

  detail::ReadyQueue ready_;
  detail::TimerQueue timers_;
  detail::LoopCore* core_ = nullptr;  // libuv handles; freed by their close callbacks

  detail::TaskStateBase* current_task_ = nullptr;
  detail::TaskRegistry tasks_;  // tasks that have suspended (see TaskStateBase), for all_tasks() and close()
  detail::Ref<detail::TaskStateBase> last_stepped_task_;  // debug mode: the task a step ran, to name it
  std::size_t live_futures_ = 0;  // plain futures: a task counts in live_tasks_ only
  std::size_t live_tasks_ = 0;
  std::uint64_t done_callback_ids_ = 0;  // the last id add_done_callback gave

  // Transports, servers and requests: closed by close() if still open.
  detail::IoResource* io_head_ = nullptr;
  std::size_t io_handles_ = 0;   // their libuv handles not yet closed
  std::size_t io_requests_ = 0;  // their libuv requests in flight

  TaskFactory task_factory_;
  ExceptionHandler exception_handler_;

  // call_soon_threadsafe: the only state shared with other threads.
  std::mutex threadsafe_mutex_;
  std::vector<detail::ThreadsafeCall*> threadsafe_pending_;
  bool threadsafe_closed_ = false;
};

/// The loop running in this thread (inside run_forever, or inside an aiouv
/// callback driven by a host's uv_run). RuntimeError("no running event
/// loop") if none.
EventLoop& get_running_loop();
/// The running loop if any, else this thread's loop: the one given to
/// set_event_loop(), or one created on first use and owned by the thread.
EventLoop& get_event_loop();
/// Makes `loop` (not owned; may be nullptr) this thread's current loop.
void set_event_loop(EventLoop* loop) noexcept;
/// A new loop owning a fresh uv_loop_t.
std::unique_ptr<EventLoop> new_event_loop();

namespace detail {
/// The running loop of this thread, or nullptr.
EventLoop* running_loop() noexcept;
}  // namespace detail

}  // namespace aiouv

#include <aiouv/detail/state_lifetime.hpp>
#include <aiouv/tasks.hpp>

#endif
