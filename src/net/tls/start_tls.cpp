// loop.start_tls(): a connection upgraded to TLS in place.
#include <aiouv/ssl.hpp>
#include <aiouv/tasks.hpp>

#include <stdexcept>

#include "../stream_transport.hpp"
#include "ssl_protocol.hpp"

namespace aiouv {

Coro<std::shared_ptr<Transport>> EventLoop::start_tls(std::shared_ptr<Transport> transport,
                                                      std::shared_ptr<BaseProtocol> protocol,
                                                      std::shared_ptr<SSLContext> sslcontext, TlsOptions options) {
  check_open();
  if (!sslcontext) throw std::invalid_argument("sslcontext is expected to be an SSLContext, got nullptr");
  if (!transport || !dynamic_cast<detail::StreamTransport*>(transport.get())) {
    throw std::invalid_argument("transport is not supported by start_tls()");
  }
  if (!protocol) throw std::invalid_argument("start_tls() needs the protocol");
  detail::TlsParams tls =
      detail::make_tls_params(std::move(sslcontext), options.server_side, options.server_hostname,
                              options.ssl_handshake_timeout, options.ssl_shutdown_timeout);
  Future<void> handshake = create_future<void>();
  std::shared_ptr<detail::SslProtocol> layer =
      detail::SslProtocol::create(*this, std::move(protocol), std::move(tls), handshake, false);
  // As asyncio: pause first, so that no data reaches the TLS layer before
  // its connection_made().
  transport->pause_reading();
  transport->set_protocol(layer);
  Handle made = call_soon([layer, raw = transport.get()] { layer->connection_made(*raw); });
  Handle resume = call_soon([transport] { transport->resume_reading(); });
  std::exception_ptr error;
  try {
    co_await handshake;
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    made.cancel();
    resume.cancel();
    transport->close();
    std::rethrow_exception(error);
  }
  co_return layer->app_transport();
}

}  // namespace aiouv
