#ifndef AIOUV_SUBPROCESS_HPP_INCLUDED
#define AIOUV_SUBPROCESS_HPP_INCLUDED

/// \file
/// Child processes on `uv_spawn`: asyncio's `SubprocessProtocol`,
/// `SubprocessTransport`, `loop.subprocess_exec`/`subprocess_shell`, and
/// the high-level `create_subprocess_exec`/`create_subprocess_shell`
/// giving a `Process` with stream pipes.

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <aiouv/protocols.hpp>
#include <aiouv/streams.hpp>
#include <aiouv/tasks.hpp>
#include <aiouv/transports.hpp>

namespace aiouv {

/// Where a child's standard stream goes (asyncio.subprocess's constants;
/// a value >= 0 is a file descriptor of this process to hand over).
namespace subprocess {
/// A new pipe to this process.
inline constexpr int PIPE = -1;
/// stderr only: wherever stdout goes.
inline constexpr int STDOUT = -2;
/// The null device.
inline constexpr int DEVNULL = -3;
/// The parent's own stream (Python's None).
inline constexpr int INHERIT = -4;
}  // namespace subprocess

/// The keyword arguments of subprocess_exec() and friends. Named with a
/// trailing underscore because `stdin`, `stdout` and `stderr` are macros in
/// C's <stdio.h>.
struct SubprocessOptions {
  int stdin_ = subprocess::INHERIT;
  int stdout_ = subprocess::INHERIT;
  int stderr_ = subprocess::INHERIT;
  /// Working directory of the child; the parent's if unset.
  std::optional<std::string> cwd;
  /// The child's whole environment; the parent's if unset.
  std::optional<std::map<std::string, std::string>> env;
};

class SubprocessTransport;

/// asyncio.SubprocessProtocol: callbacks for one child process.
class SubprocessProtocol : public BaseProtocol {
 public:
  /// The child started; `transport` stays valid until connection_lost().
  virtual void connection_made(SubprocessTransport& transport) { (void)transport; }
  /// The child wrote to its stdout (fd 1) or stderr (fd 2).
  virtual void pipe_data_received(int fd, std::string_view data) {
    (void)fd;
    (void)data;
  }
  /// One of the pipes closed (error null on a clean EOF).
  virtual void pipe_connection_lost(int fd, std::exception_ptr error) {
    (void)fd;
    (void)error;
  }
  /// The child exited; the return code is the transport's now.
  virtual void process_exited() {}
};

/// asyncio.SubprocessTransport over a uv_process_t.
class SubprocessTransport {
 public:
  virtual ~SubprocessTransport() = default;
  /// The child's process id.
  virtual int get_pid() const noexcept = 0;
  /// The exit status once it exited: the code, or minus the signal that
  /// killed it. Unset while it runs.
  virtual std::optional<int> get_returncode() const noexcept = 0;
  /// The transport of pipe `fd` (0, 1, 2), or nullptr if that stream is not
  /// a pipe.
  virtual Transport* get_pipe_transport(int fd) const noexcept = 0;
  /// Sends `signum` (ProcessLookupError-like std::system_error "No such
  /// process" once it has exited).
  virtual void send_signal(int signum) = 0;
  /// SIGTERM (TerminateProcess on Windows).
  virtual void terminate() = 0;
  /// SIGKILL (TerminateProcess on Windows).
  virtual void kill() = 0;
  /// Closes the pipes and, if the child still runs, kills it (asyncio).
  virtual void close() = 0;
  virtual bool is_closing() const noexcept = 0;
  /// Waits for the exit and gives the return code (internal; Process::wait).
  virtual Coro<int> wait() = 0;
};

/// asyncio.subprocess.Process: a child with stream pipes.
class Process {
 public:
  /// The child's process id.
  int pid() const noexcept { return transport_->get_pid(); }
  /// Unset while running; the exit code, or minus the killing signal.
  std::optional<int> returncode() const noexcept { return transport_->get_returncode(); }
  /// Waits for the child to exit (and its pipes to close) and gives the
  /// return code. With stdout=PIPE and nobody reading, a chatty child can
  /// block on a full pipe: use communicate() then.
  Coro<int> wait();
  /// Writes `input` to stdin (then closes it), reads stdout and stderr to
  /// their ends, all at once so that no pipe can fill up and stall the
  /// child, then waits for the exit. Gives (stdout, stderr); a stream that
  /// is not a pipe gives "". A child that stops reading its stdin early
  /// (broken pipe, reset) is not an error, as in asyncio.
  Coro<std::pair<std::string, std::string>> communicate(std::string input = {});
  void send_signal(int signum) { transport_->send_signal(signum); }
  void terminate() { transport_->terminate(); }
  void kill() { transport_->kill(); }
  /// The transport underneath.
  const std::shared_ptr<SubprocessTransport>& transport() const noexcept { return transport_; }

  /// The pipes, when they were asked for with subprocess::PIPE.
  std::optional<StreamWriter> stdin_;
  std::optional<StreamReader> stdout_;
  std::optional<StreamReader> stderr_;

  /// Internal: made by create_subprocess_exec/shell.
  Process(std::shared_ptr<SubprocessTransport> transport, std::shared_ptr<SubprocessProtocol> protocol)
      : transport_(std::move(transport)), protocol_(std::move(protocol)) {}

 private:
  std::shared_ptr<SubprocessTransport> transport_;
  std::shared_ptr<SubprocessProtocol> protocol_;
};

/// asyncio.create_subprocess_exec: runs `program` with `args` (argv[1:];
/// the program is looked up in PATH). Streams set to subprocess::PIPE
/// appear as process.stdin_/stdout_/stderr_. `limit` is the StreamReaders'.
/// std::system_error (errc::no_such_file_or_directory, ...) if it cannot
/// start.
Coro<Process> create_subprocess_exec(std::string program, std::vector<std::string> args = {},
                                     SubprocessOptions options = {}, std::size_t limit = kDefaultStreamLimit);
/// asyncio.create_subprocess_shell: runs `command` through /bin/sh -c
/// (cmd.exe /c on Windows).
Coro<Process> create_subprocess_shell(std::string command, SubprocessOptions options = {},
                                      std::size_t limit = kDefaultStreamLimit);

template <class Factory>
Coro<std::pair<std::shared_ptr<SubprocessTransport>, std::invoke_result_t<Factory&>>> EventLoop::subprocess_exec(
    Factory factory, std::string program, std::vector<std::string> args, SubprocessOptions options) {
  using Pointer = std::invoke_result_t<Factory&>;
  static_assert(std::is_convertible_v<Pointer, std::shared_ptr<SubprocessProtocol>>,
                "the factory must return a shared_ptr to a SubprocessProtocol");
  auto [transport, protocol] = co_await spawn_process(detail::SubprocessFactory(std::move(factory)),
                                                      std::move(program), std::move(args), std::move(options));
  co_return std::pair<std::shared_ptr<SubprocessTransport>, Pointer>(
      std::move(transport), std::static_pointer_cast<typename Pointer::element_type>(std::move(protocol)));
}

template <class Factory>
Coro<std::pair<std::shared_ptr<SubprocessTransport>, std::invoke_result_t<Factory&>>> EventLoop::subprocess_shell(
    Factory factory, std::string command, SubprocessOptions options) {
#ifdef _WIN32
  return subprocess_exec(std::move(factory), "cmd.exe", {"/c", std::move(command)}, std::move(options));
#else
  return subprocess_exec(std::move(factory), "/bin/sh", {"-c", std::move(command)}, std::move(options));
#endif
}

}  // namespace aiouv

#endif
