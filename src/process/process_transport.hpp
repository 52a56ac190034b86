#ifndef AIOUV_SRC_PROCESS_PROCESS_TRANSPORT_HPP_INCLUDED
#define AIOUV_SRC_PROCESS_PROCESS_TRANSPORT_HPP_INCLUDED

#include <uv.h>

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include <aiouv/detail/io_resource.hpp>
#include <aiouv/subprocess.hpp>

#include "../net/stream_transport.hpp"

namespace aiouv::detail {

class ProcessTransport;

/// The protocol of one of a child's pipes (asyncio's
/// ReadSubprocessPipeProto/WriteSubprocessPipeProto): tells the process
/// transport about data and the pipe's end, and passes flow control on to
/// `inner` (the stream protocol behind Process::stdin_) when there is one.
class PipeProtocol final : public Protocol {
 public:
  PipeProtocol(std::weak_ptr<ProcessTransport> process, int fd) noexcept : process_(std::move(process)), fd_(fd) {}

  void connection_made(Transport& transport) override;
  void data_received(std::string_view data) override;
  bool eof_received() override { return false; }
  void connection_lost(std::exception_ptr error) override;
  void pause_writing() override;
  void resume_writing() override;

  std::shared_ptr<Protocol> inner;

 private:
  std::weak_ptr<ProcessTransport> process_;
  int fd_;
};

/// asyncio's BaseSubprocessTransport on a uv_process_t: the child, its
/// pipes (StreamTransports over uv_pipe_t), and the order of the protocol
/// callbacks: connection_made, pipe data, process_exited and each
/// pipe_connection_lost, then connection_lost once the child exited and
/// every pipe closed, which is also when wait() returns.
class ProcessTransport final : public SubprocessTransport,
                               public IoResource,
                               public std::enable_shared_from_this<ProcessTransport> {
 public:
  /// Spawns the child; std::system_error if libuv cannot.
  static std::shared_ptr<ProcessTransport> spawn(EventLoop& loop, std::shared_ptr<SubprocessProtocol> protocol,
                                                 const std::string& program, const std::vector<std::string>& args,
                                                 const SubprocessOptions& options);
  /// Schedules connection_made() (after the pipes'); `made` completes after it.
  void start(Future<void> made);

  std::shared_ptr<StreamTransport> pipe(int fd) const noexcept { return pipes_[static_cast<std::size_t>(fd)]; }
  std::shared_ptr<SubprocessProtocol> protocol() const noexcept { return protocol_; }

  // SubprocessTransport
  int get_pid() const noexcept override { return pid_; }
  std::optional<int> get_returncode() const noexcept override { return returncode_; }
  Transport* get_pipe_transport(int fd) const noexcept override;
  void send_signal(int signum) override;
  void terminate() override;
  void kill() override;
  void close() override;
  bool is_closing() const noexcept override { return closed_; }
  Coro<int> wait() override;

  // IoResource
  void abandon() noexcept override;

  // From the pipes' protocols.
  void pipe_data(int fd, std::string_view data);
  void pipe_lost(int fd, std::exception_ptr error);
  void pipe_flow(bool pause);

 private:
  explicit ProcessTransport(EventLoop& loop, std::shared_ptr<SubprocessProtocol> protocol) noexcept;
  static void on_exit(uv_process_t* handle, int64_t exit_status, int term_signal);
  static void on_close(uv_handle_t* handle);
  void close_handle() noexcept;
  void try_finish();

  uv_process_t process_{};
  std::shared_ptr<ProcessTransport> self_;  // while the handle is open or the end is pending
  std::shared_ptr<SubprocessProtocol> protocol_;
  std::array<std::shared_ptr<StreamTransport>, 3> pipes_;
  std::array<bool, 3> pipe_open_{};
  std::vector<Future<int>> exit_waiters_;
  std::optional<int> returncode_;
  int pid_ = 0;
  bool handle_open_ = false;
  bool closed_ = false;
  bool finished_ = false;
};

}  // namespace aiouv::detail

#endif
