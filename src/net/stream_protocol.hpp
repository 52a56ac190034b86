#ifndef AIOUV_SRC_NET_STREAM_PROTOCOL_HPP_INCLUDED
#define AIOUV_SRC_NET_STREAM_PROTOCOL_HPP_INCLUDED

// What the rest of the library needs of streams.cpp's StreamProtocol
// (asyncio's StreamReaderProtocol), which stays private to that file.

#include <memory>

#include <aiouv/streams.hpp>

namespace aiouv::detail {

/// A protocol feeding `reader` (and, with `client_connected`, starting a
/// handler task on connection_made), with a StreamWriter's flow control.
std::shared_ptr<StreamProtocol> make_stream_protocol(EventLoop& loop, StreamReader reader,
                                                     ClientConnected client_connected);
/// The same object as a plain Protocol.
std::shared_ptr<Protocol> as_protocol(std::shared_ptr<StreamProtocol> protocol) noexcept;

}  // namespace aiouv::detail

#endif
