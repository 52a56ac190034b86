#ifndef AIOUV_DETAIL_LOOP_NET_IMPL_HPP_INCLUDED
#define AIOUV_DETAIL_LOOP_NET_IMPL_HPP_INCLUDED

// The EventLoop's networking member templates: thin typed wrappers over the
// compiled, type-erased implementations in src/net. Included by tasks.hpp.

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <aiouv/protocols.hpp>
#include <aiouv/servers.hpp>
#include <aiouv/transports.hpp>

namespace aiouv {

namespace detail {

/// P for a factory returning std::shared_ptr<P>.
template <class Factory>
using factory_protocol_t = typename std::invoke_result_t<Factory&>::element_type;

template <class P>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<P>>> typed_connection(
    Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> connecting) {
  auto [transport, protocol] = co_await std::move(connecting);
  co_return std::pair<std::shared_ptr<Transport>, std::shared_ptr<P>>(std::move(transport),
                                                                     std::static_pointer_cast<P>(std::move(protocol)));
}

template <class Factory>
void check_stream_protocol_factory() {
  using P = factory_protocol_t<Factory>;
  static_assert(std::is_base_of_v<Protocol, P> || std::is_base_of_v<BufferedProtocol, P>,
                "the protocol factory must return std::shared_ptr<P> for a Protocol or BufferedProtocol P");
}

}  // namespace detail

template <class Factory>
Coro<std::pair<std::shared_ptr<DatagramTransport>, std::invoke_result_t<Factory&>>> EventLoop::create_datagram_endpoint(
    Factory factory, DatagramOptions options) {
  using Pointer = std::invoke_result_t<Factory&>;
  static_assert(std::is_convertible_v<Pointer, std::shared_ptr<DatagramProtocol>>,
                "the protocol factory must return std::shared_ptr<P> for a DatagramProtocol P");
  auto [transport, protocol] = co_await open_datagram_endpoint(
      std::function<std::shared_ptr<DatagramProtocol>()>(std::move(factory)), std::move(options));
  co_return std::pair<std::shared_ptr<DatagramTransport>, Pointer>(
      std::move(transport), std::static_pointer_cast<typename Pointer::element_type>(std::move(protocol)));
}

template <class Factory>
auto EventLoop::connect_accepted_socket(Factory factory, uv_os_sock_t sock) {
  detail::check_stream_protocol_factory<Factory>();
  return detail::typed_connection<detail::factory_protocol_t<Factory>>(
      adopt_socket(ProtocolFactory(std::move(factory)), sock));
}

template <class Factory>
auto EventLoop::connect_read_pipe(Factory factory, uv_file fd) {
  detail::check_stream_protocol_factory<Factory>();
  return detail::typed_connection<detail::factory_protocol_t<Factory>>(
      open_pipe(ProtocolFactory(std::move(factory)), fd, false));
}

template <class Factory>
auto EventLoop::connect_write_pipe(Factory factory, uv_file fd) {
  detail::check_stream_protocol_factory<Factory>();
  return detail::typed_connection<detail::factory_protocol_t<Factory>>(
      open_pipe(ProtocolFactory(std::move(factory)), fd, true));
}

template <class Factory>
auto EventLoop::create_connection(Factory factory, std::string host, std::uint16_t port, ConnectionOptions options) {
  detail::check_stream_protocol_factory<Factory>();
  return detail::typed_connection<detail::factory_protocol_t<Factory>>(
      connect_stream(ProtocolFactory(std::move(factory)), std::move(host), port, std::move(options)));
}

template <class Factory>
Coro<std::shared_ptr<Server>> EventLoop::create_server(Factory factory, std::string host, std::uint16_t port,
                                                       ServerOptions options) {
  detail::check_stream_protocol_factory<Factory>();
  return start_tcp_server(ProtocolFactory(std::move(factory)), std::vector<std::string>{std::move(host)}, port,
                          options);
}

template <class Factory>
Coro<std::shared_ptr<Server>> EventLoop::create_server(Factory factory, std::vector<std::string> hosts,
                                                       std::uint16_t port, ServerOptions options) {
  detail::check_stream_protocol_factory<Factory>();
  return start_tcp_server(ProtocolFactory(std::move(factory)), std::move(hosts), port, options);
}

template <class Factory>
auto EventLoop::create_unix_connection(Factory factory, std::string path, UnixConnectionOptions options) {
  detail::check_stream_protocol_factory<Factory>();
  return detail::typed_connection<detail::factory_protocol_t<Factory>>(
      connect_unix_stream(ProtocolFactory(std::move(factory)), std::move(path), std::move(options)));
}

template <class Factory>
Coro<std::shared_ptr<Server>> EventLoop::create_unix_server(Factory factory, std::string path, ServerOptions options) {
  detail::check_stream_protocol_factory<Factory>();
  return start_unix_server(ProtocolFactory(std::move(factory)), std::move(path), options);
}

}  // namespace aiouv

#endif
