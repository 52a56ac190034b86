// ProcessTransport: uv_spawn with the standard streams asked for, and
// asyncio's order of subprocess protocol callbacks.
#include "process_transport.hpp"

#include <csignal>
#include <cstring>
#include <system_error>

namespace aiouv::detail {
namespace {

#ifdef _WIN32
constexpr const char* kNullDevice = "NUL";
#else
constexpr const char* kNullDevice = "/dev/null";
#endif

/// File descriptors this process opened for the child only (the null
/// device, the child's end of a shared stdout/stderr pipe): closed in the
/// parent once the child has them, or on failure.
class ChildOnlyFds {
 public:
  ChildOnlyFds() = default;
  ChildOnlyFds(const ChildOnlyFds&) = delete;
  ChildOnlyFds& operator=(const ChildOnlyFds&) = delete;
  ~ChildOnlyFds() {
    for (uv_file fd : fds_) close_fd(fd);
  }
  uv_file null_device() {
    if (null_ < 0) {
      uv_fs_t request;
      null_ = uv_fs_open(nullptr, &request, kNullDevice, UV_FS_O_RDWR, 0, nullptr);
      uv_fs_req_cleanup(&request);
      if (null_ < 0) throw std::system_error(make_uv_error_code(null_), std::string("open ") + kNullDevice);
      fds_.push_back(null_);
    }
    return null_;
  }
  void add(uv_file fd) { fds_.push_back(fd); }
  static void close_fd(uv_file fd) noexcept {
    uv_fs_t request;
    uv_fs_close(nullptr, &request, fd, nullptr);
    uv_fs_req_cleanup(&request);
  }

 private:
  std::vector<uv_file> fds_;
  uv_file null_ = -1;
};

void check_stream_option(int value, int fd) {
  if (value >= 0 || value == subprocess::PIPE || value == subprocess::DEVNULL || value == subprocess::INHERIT) return;
  if (value == subprocess::STDOUT && fd == 2) return;
  if (value == subprocess::STDOUT) throw std::invalid_argument("STDOUT can only be used for stderr");
  throw std::invalid_argument("invalid value for a standard stream: " + std::to_string(value));
}

}  // namespace

// ---- PipeProtocol ----

void PipeProtocol::connection_made(Transport& transport) {
  if (inner) inner->connection_made(transport);
}

void PipeProtocol::data_received(std::string_view data) {
  if (auto process = process_.lock()) process->pipe_data(fd_, data);
}

void PipeProtocol::connection_lost(std::exception_ptr error) {
  if (inner) inner->connection_lost(error);
  if (auto process = process_.lock()) process->pipe_lost(fd_, error);
}

void PipeProtocol::pause_writing() {
  if (inner) {
    inner->pause_writing();
  } else if (auto process = process_.lock()) {
    process->pipe_flow(true);
  }
}

void PipeProtocol::resume_writing() {
  if (inner) {
    inner->resume_writing();
  } else if (auto process = process_.lock()) {
    process->pipe_flow(false);
  }
}

// ---- ProcessTransport ----

ProcessTransport::ProcessTransport(EventLoop& loop, std::shared_ptr<SubprocessProtocol> protocol) noexcept
    : IoResource(loop), protocol_(std::move(protocol)) {
  process_.data = this;
}

std::shared_ptr<ProcessTransport> ProcessTransport::spawn(EventLoop& loop, std::shared_ptr<SubprocessProtocol> protocol,
                                                          const std::string& program,
                                                          const std::vector<std::string>& args,
                                                          const SubprocessOptions& options) {
  if (!protocol) throw std::invalid_argument("the protocol factory returned nullptr");
  const int requested[3] = {options.stdin_, options.stdout_, options.stderr_};
  for (int fd = 0; fd < 3; ++fd) check_stream_option(requested[fd], fd);

  std::shared_ptr<ProcessTransport> self(new ProcessTransport(loop, std::move(protocol)));
  ChildOnlyFds child_only;
  uv_stdio_container_t stdio[3]{};
  // stderr=STDOUT with stdout=PIPE: libuv's UV_CREATE_PIPE cannot give one
  // pipe to two streams, so make the pipe here and hand its write end to
  // both.
  const bool shared_output = requested[2] == subprocess::STDOUT && requested[1] == subprocess::PIPE;
  for (int fd = 0; fd < 3; ++fd) {
    int value = requested[fd];
    if (fd == 2 && value == subprocess::STDOUT) value = requested[1];
    uv_stdio_container_t& slot = stdio[fd];
    if (fd == 2 && shared_output) {
      slot = stdio[1];  // stderr goes down stdout's pipe
    } else if (value == subprocess::PIPE) {
      auto pipe = StreamTransport::create_pipe(loop);
      self->pipes_[static_cast<std::size_t>(fd)] = pipe;
      if (fd == 1 && shared_output) {
        uv_file ends[2];
        if (int status = uv_pipe(ends, UV_NONBLOCK_PIPE, 0); status < 0) {
          throw std::system_error(make_uv_error_code(status), "uv_pipe");
        }
        child_only.add(ends[1]);
        if (int status = uv_pipe_open(pipe->pipe(), ends[0]); status < 0) {
          ChildOnlyFds::close_fd(ends[0]);
          throw std::system_error(make_uv_error_code(status), "uv_pipe_open");
        }
        slot.flags = UV_INHERIT_FD;
        slot.data.fd = ends[1];
      } else {
#ifdef _WIN32
        const int direction = fd == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE;
#else
        // stdin both ways: our end must be readable to see the child's EOF.
        const int direction = fd == 0 ? UV_READABLE_PIPE | UV_WRITABLE_PIPE : UV_WRITABLE_PIPE;
#endif
        slot.flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | direction);
        slot.data.stream = pipe->stream();
      }
    } else if (value == subprocess::DEVNULL) {
      slot.flags = UV_INHERIT_FD;
      slot.data.fd = child_only.null_device();
    } else {
      slot.flags = UV_INHERIT_FD;
      slot.data.fd = value == subprocess::INHERIT ? fd : value;
    }
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  if (options.env) {
    for (const auto& [key, value] : *options.env) env_strings.push_back(key + "=" + value);
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);
  }

  uv_process_options_t native{};
  native.exit_cb = &ProcessTransport::on_exit;
  native.file = program.c_str();
  native.args = argv.data();
  native.env = options.env ? envp.data() : nullptr;
  native.cwd = options.cwd ? options.cwd->c_str() : nullptr;
  native.stdio_count = 3;
  native.stdio = stdio;
  native.flags = UV_PROCESS_WINDOWS_HIDE;

  const int status = uv_spawn(loop.native_handle(), &self->process_, &native);
  // Even a failed spawn leaves an initialised handle to close.
  self->handle_open_ = true;
  self->self_ = self;
  self->handle_opened();
  if (status < 0) {
    for (auto& pipe : self->pipes_) {
      if (pipe) pipe->discard();
      pipe = nullptr;
    }
    self->closed_ = true;
    self->close_handle();
    throw std::system_error(make_uv_error_code(status), "spawn '" + program + "'");
  }
  self->pid_ = self->process_.pid;

  for (int fd = 0; fd < 3; ++fd) {
    auto& pipe = self->pipes_[static_cast<std::size_t>(fd)];
    if (!pipe) continue;
    self->pipe_open_[static_cast<std::size_t>(fd)] = true;
#ifdef _WIN32
    // Windows gives the parent a write-only end of the stdin pipe.
    if (fd == 0) pipe->set_write_only();
#endif
    // Elsewhere stdin's end is read too, only to see EOF when the child
    // closes it or exits (asyncio's write pipe transport does the same).
    pipe->start(std::make_shared<PipeProtocol>(self, fd));
  }
  return self;
}

void ProcessTransport::start(Future<void> made) {
  // After the pipes' own connection_made (scheduled by their start()).
  loop().call_soon([self = shared_from_this(), made = std::move(made)]() mutable {
    if (self->protocol_) {
      try {
        self->protocol_->connection_made(*self);
      } catch (...) {
        if (!made.done()) made.set_exception(std::current_exception());
        self->close();
        return;
      }
    }
    if (!made.done()) made.set_result();
  });
}

Transport* ProcessTransport::get_pipe_transport(int fd) const noexcept {
  if (fd < 0 || fd > 2) return nullptr;
  return pipes_[static_cast<std::size_t>(fd)].get();
}

void ProcessTransport::send_signal(int signum) {
  // asyncio: ProcessLookupError once the transport has finished; before
  // that, a child that already exited is not signalled (Popen's rule).
  if (finished_) throw std::system_error(std::make_error_code(std::errc::no_such_process), "No such process");
  if (returncode_) return;
  if (int status = uv_process_kill(&process_, signum); status < 0) {
    throw std::system_error(make_uv_error_code(status), "send_signal");
  }
}

void ProcessTransport::terminate() { send_signal(SIGTERM); }

void ProcessTransport::kill() {
#ifdef SIGKILL
  send_signal(SIGKILL);
#else
  send_signal(SIGTERM);  // Windows: TerminateProcess either way
#endif
}

void ProcessTransport::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& pipe : pipes_) {
    if (pipe) pipe->close();
  }
  // asyncio kills a child still running when its transport is closed.
  if (!returncode_ && handle_open_) {
#ifdef SIGKILL
    uv_process_kill(&process_, SIGKILL);
#else
    uv_process_kill(&process_, SIGTERM);
#endif
  }
}

Coro<int> ProcessTransport::wait() {
  // asyncio's _wait(): at once if the exit is known, else when the
  // transport finishes (the child exited and every pipe closed).
  if (returncode_) co_return *returncode_;
  Future<int> waiter = loop().create_future<int>();
  exit_waiters_.push_back(waiter);
  co_return co_await waiter;
}

void ProcessTransport::abandon() noexcept {
  for (auto& pipe : pipes_) pipe = nullptr;  // their own IoResource entries close them
  exit_waiters_.clear();
  protocol_ = nullptr;
  close_handle();  // on_close lets go of self_
}

void ProcessTransport::pipe_data(int fd, std::string_view data) {
  if (protocol_) protocol_->pipe_data_received(fd, data);
}

void ProcessTransport::pipe_lost(int fd, std::exception_ptr error) {
  pipe_open_[static_cast<std::size_t>(fd)] = false;
  // Scheduled, as asyncio's _call(): after the data already delivered.
  loop().call_soon([self = shared_from_this(), fd, error] {
    if (self->protocol_) self->protocol_->pipe_connection_lost(fd, error);
    self->try_finish();
  });
}

void ProcessTransport::pipe_flow(bool pause) {
  if (!protocol_) return;
  if (pause) {
    protocol_->pause_writing();
  } else {
    protocol_->resume_writing();
  }
}

void ProcessTransport::on_exit(uv_process_t* handle, int64_t exit_status, int term_signal) {
  auto* self = static_cast<ProcessTransport*>(handle->data);
  self->returncode_ = term_signal != 0 ? -term_signal : static_cast<int>(exit_status);
  self->close_handle();
  if (self->loop().is_closed()) return;
  self->loop().call_soon([self = self->shared_from_this()] {
    if (self->protocol_) self->protocol_->process_exited();
    self->try_finish();
  });
}

void ProcessTransport::try_finish() {
  if (finished_ || !returncode_) return;
  for (bool open : pipe_open_) {
    if (open) return;
  }
  finished_ = true;
  loop().call_soon([self = shared_from_this()] {
    std::shared_ptr<SubprocessProtocol> protocol = std::move(self->protocol_);
    std::exception_ptr error;
    if (protocol) {
      try {
        protocol->connection_lost(nullptr);
      } catch (...) {
        error = std::current_exception();
      }
    }
    for (Future<int>& waiter : std::exchange(self->exit_waiters_, {})) {
      if (!waiter.done()) waiter.set_result(*self->returncode_);
    }
    if (error) std::rethrow_exception(error);  // to the exception handler
  });
}

void ProcessTransport::close_handle() noexcept {
  if (!handle_open_) return;
  handle_open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&process_), &ProcessTransport::on_close);
}

void ProcessTransport::on_close(uv_handle_t* handle) {
  auto* self = static_cast<ProcessTransport*>(handle->data);
  self->handle_closed();
  std::shared_ptr<ProcessTransport> last = std::move(self->self_);  // may free the transport
}

}  // namespace aiouv::detail
