// spawn_process() behind loop.subprocess_exec, and the high-level Process
// (asyncio.subprocess): stream pipes, wait() and communicate().
#include <aiouv/subprocess.hpp>

#include <system_error>

#include "../core/connection_made.hpp"
#include "../net/stream_protocol.hpp"
#include "process_transport.hpp"

namespace aiouv {

Coro<std::pair<std::shared_ptr<SubprocessTransport>, std::shared_ptr<SubprocessProtocol>>> EventLoop::spawn_process(
    detail::SubprocessFactory factory, std::string program, std::vector<std::string> args,
    SubprocessOptions options) {
  check_open();
  std::shared_ptr<SubprocessProtocol> protocol = factory();
  auto transport = detail::ProcessTransport::spawn(*this, protocol, program, args, options);
  Future<void> made = create_future<void>();
  transport->start(made);
  // asyncio: a failed or cancelled start kills the child (close() does).
  co_await detail::await_connection_made(std::move(made), *transport, &detail::ProcessTransport::close);
  co_return std::pair<std::shared_ptr<SubprocessTransport>, std::shared_ptr<SubprocessProtocol>>(
      std::move(transport), std::move(protocol));
}

namespace detail {
namespace {

/// asyncio's SubprocessStreamProtocol: stdout and stderr feed StreamReaders
/// (reading pauses when a reader's buffer is full); stdin's pipe gets a
/// stream protocol so that its StreamWriter can drain().
class StreamsProtocol final : public SubprocessProtocol {
 public:
  StreamsProtocol(EventLoop& loop, const SubprocessOptions& options, std::size_t limit) {
    if (options.stdin_ == subprocess::PIPE) {
      stdin_flow = make_stream_protocol(loop, StreamReader(limit), nullptr);
    }
    if (options.stdout_ == subprocess::PIPE) stdout_reader.emplace(limit);
    if (options.stderr_ == subprocess::PIPE) stderr_reader.emplace(limit);
  }

  void connection_made(SubprocessTransport& transport) override {
    if (stdout_reader) stdout_reader->set_transport(transport.get_pipe_transport(1));
    if (stderr_reader) stderr_reader->set_transport(transport.get_pipe_transport(2));
    if (stdin_flow) {
      if (Transport* pipe = transport.get_pipe_transport(0)) {
        if (auto* pipe_protocol = dynamic_cast<PipeProtocol*>(pipe->get_protocol().get())) {
          pipe_protocol->inner = as_protocol(stdin_flow);
        }
      }
    }
  }
  void pipe_data_received(int fd, std::string_view data) override {
    if (StreamReader* reader = reader_of(fd)) reader->feed_data(data);
  }
  void pipe_connection_lost(int fd, std::exception_ptr error) override {
    StreamReader* reader = reader_of(fd);
    if (!reader) return;
    if (error) {
      reader->set_exception(error);
    } else {
      reader->feed_eof();
    }
    reader->set_transport(nullptr);
  }

  std::shared_ptr<StreamProtocol> stdin_flow;
  std::optional<StreamReader> stdout_reader;
  std::optional<StreamReader> stderr_reader;

 private:
  StreamReader* reader_of(int fd) noexcept {
    if (fd == 1 && stdout_reader) return &*stdout_reader;
    if (fd == 2 && stderr_reader) return &*stderr_reader;
    return nullptr;
  }
};

bool is_broken_pipe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    return e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset;
  } catch (...) {
    return false;
  }
}

/// Process::communicate's stdin side: write, drain, close; a child that
/// stopped reading is not an error.
Coro<void> feed_stdin(StreamWriter writer, std::string input) {
  std::exception_ptr error;
  try {
    if (!input.empty()) {
      writer.write(input);
      co_await writer.drain();
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (error && !is_broken_pipe(error)) std::rethrow_exception(error);
  writer.close();
}

/// Process::communicate's read side: everything up to EOF, then close the pipe.
Coro<std::string> read_to_end(StreamReader reader, Transport* pipe) {
  std::string output = co_await reader.read();
  if (pipe) pipe->close();
  co_return output;
}

Coro<void> nothing() { co_return; }
Coro<std::string> empty_output() { co_return std::string(); }

}  // namespace
}  // namespace detail

Coro<int> Process::wait() { return transport_->wait(); }

Coro<std::pair<std::string, std::string>> Process::communicate(std::string input) {
  EventLoop& loop = get_running_loop();
  Task<void> writing = loop.create_task(stdin_ ? detail::feed_stdin(*stdin_, std::move(input)) : detail::nothing());
  Task<std::string> out = loop.create_task(
      stdout_ ? detail::read_to_end(*stdout_, transport_->get_pipe_transport(1)) : detail::empty_output());
  Task<std::string> err = loop.create_task(
      stderr_ ? detail::read_to_end(*stderr_, transport_->get_pipe_transport(2)) : detail::empty_output());
  auto [ignored, output, errors] = co_await gather(writing, out, err);
  (void)ignored;
  co_await wait();
  co_return std::pair<std::string, std::string>(std::move(output), std::move(errors));
}

namespace {

Coro<Process> start_process(std::string program, std::vector<std::string> args, SubprocessOptions options,
                            std::size_t limit) {
  EventLoop& loop = get_running_loop();
  auto protocol = std::make_shared<detail::StreamsProtocol>(loop, options, limit);
  // Named: g++ 12 destroys a capturing lambda temporary inside a co_await
  // expression twice.
  auto factory = [protocol] { return protocol; };
  auto [transport, made] =
      co_await loop.subprocess_exec(std::move(factory), std::move(program), std::move(args), options);
  (void)made;
  Process process(transport, protocol);
  if (protocol->stdin_flow) {
    if (Transport* pipe = transport->get_pipe_transport(0)) {
      auto* stream = dynamic_cast<detail::StreamTransport*>(pipe);
      process.stdin_.emplace(std::static_pointer_cast<Transport>(stream->shared_from_this()), protocol->stdin_flow);
    }
  }
  process.stdout_ = protocol->stdout_reader;
  process.stderr_ = protocol->stderr_reader;
  co_return process;
}

}  // namespace

Coro<Process> create_subprocess_exec(std::string program, std::vector<std::string> args, SubprocessOptions options,
                                     std::size_t limit) {
  return start_process(std::move(program), std::move(args), std::move(options), limit);
}

Coro<Process> create_subprocess_shell(std::string command, SubprocessOptions options, std::size_t limit) {
#ifdef _WIN32
  std::vector<std::string> args{"/c", std::move(command)};
  return start_process("cmd.exe", std::move(args), std::move(options), limit);
#else
  std::vector<std::string> args{"-c", std::move(command)};
  return start_process("/bin/sh", std::move(args), std::move(options), limit);
#endif
}

}  // namespace aiouv
