#ifndef AIOUV_SRC_NET_SENDFILE_HPP_INCLUDED
#define AIOUV_SRC_NET_SENDFILE_HPP_INCLUDED

// The engine behind EventLoop::sendfile. It is declared here, rather than
// hidden in sendfile.cpp, so that tests can force the copying path, which
// Linux never takes on its own: libuv emulates sendfile(2) wherever the
// kernel refuses it.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>

#include <aiouv/coro.hpp>

namespace aiouv::detail {

class StreamTransport;

/// How sendfile_through() may send the bytes.
enum class SendfileMode : std::uint8_t {
  native_then_copy,  // sendfile(2); reads and writes if the system cannot
  native_only,       // sendfile(2) or SendfileNotAvailableError
  copy_only,         // reads and writes through the transport
};

/// Sends `count` bytes (all up to EOF if unset) of `file` from `offset`
/// through `transport`: reading paused, earlier writes flushed first,
/// write() refused meanwhile, everything restored however it ends. Gives
/// the bytes sent once the OS has all of them. Arguments must be checked.
Coro<std::size_t> sendfile_through(std::shared_ptr<StreamTransport> transport, uv_file file, std::int64_t offset,
                                   std::optional<std::size_t> count, SendfileMode mode);

}  // namespace aiouv::detail

#endif
