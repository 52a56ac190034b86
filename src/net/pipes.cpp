// connect_read_pipe() and connect_write_pipe(): a stream transport over an
// existing descriptor (a pipe, a FIFO, a terminal) through uv_pipe_open.
#include <aiouv/tasks.hpp>

#include <system_error>

#include "stream_transport.hpp"

namespace aiouv {

Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> EventLoop::open_pipe(ProtocolFactory factory,
                                                                                                 uv_file fd,
                                                                                                 bool for_writing) {
  check_open();
  std::shared_ptr<detail::StreamTransport> transport = detail::StreamTransport::create_pipe(*this);
  if (int status = uv_pipe_open(transport->pipe(), fd); status < 0) {
    transport->discard();
    throw std::system_error(make_uv_error_code(status), for_writing ? "connect_write_pipe" : "connect_read_pipe");
  }
  // A write end is never read: a reader that goes away shows up as a
  // broken pipe on the next write.
  if (for_writing) transport->set_write_only();
  co_return co_await detail::start_connected(*this, std::move(transport), factory);
}

}  // namespace aiouv
