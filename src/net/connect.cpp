// create_connection(): resolve, try each address in turn, start the
// transport.
#include <aiouv/tasks.hpp>

#include <string>
#include <system_error>
#include <vector>

#include "../core/connection_made.hpp"
#include "happy_eyeballs.hpp"
#include "stream_transport.hpp"
#include "tls/ssl_protocol.hpp"

namespace aiouv {
namespace {

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

/// asyncio: one error is raised as is, several identical ones as the first,
/// different ones as OSError("Multiple exceptions: ...").
[[noreturn]] void throw_connect_errors(const std::vector<std::exception_ptr>& errors) {
  const std::string first = what_of(errors.front());
  bool all_same = true;
  for (const auto& error : errors) all_same = all_same && what_of(error) == first;
  if (all_same) std::rethrow_exception(errors.front());
  std::string message = "Multiple exceptions: ";
  for (std::size_t i = 0; i < errors.size(); ++i) message += (i ? ", " : "") + what_of(errors[i]);
  std::error_code code = std::make_error_code(std::errc::connection_refused);
  try {
    std::rethrow_exception(errors.front());
  } catch (const std::system_error& e) {
    code = e.code();
  } catch (...) {
  }
  throw std::system_error(code, message);
}

void bind_local(detail::StreamTransport& transport, const SocketAddress& local) {
  if (int status = uv_tcp_bind(transport.tcp(), local.get(), 0); status < 0) {
    throw std::system_error(make_uv_error_code(status),
                            "error while attempting to bind on address " + local.to_string());
  }
}

}  // namespace

namespace detail {

Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> start_connected(
    EventLoop& loop, std::shared_ptr<detail::StreamTransport> transport,
    const std::function<std::shared_ptr<BaseProtocol>()>& factory, const TlsParams* tls) {
  std::shared_ptr<BaseProtocol> protocol;
  try {
    protocol = factory();
    if (!protocol) throw std::invalid_argument("the protocol factory returned nullptr");
  } catch (...) {
    transport->discard();
    throw;
  }
  Future<void> made = loop.create_future<void>();
  if (!tls || !tls->context) {
    transport->start(protocol, made);
    co_await await_connection_made(std::move(made), *transport, &StreamTransport::close);
    co_return std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>(std::move(transport),
                                                                                   std::move(protocol));
  }
  // TLS: the protocol sees connection_made() once the handshake is done.
  Future<void> handshake = loop.create_future<void>();
  std::shared_ptr<SslProtocol> tls_layer = SslProtocol::create(loop, protocol, *tls, handshake, true);
  transport->start(tls_layer, made);
  co_await await_connection_made(std::move(made), *transport, &StreamTransport::close);
  co_await await_connection_made(std::move(handshake), *tls_layer, &SslProtocol::close);
  co_return std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>(tls_layer->app_transport(),
                                                                                 std::move(protocol));
}

}  // namespace detail

using detail::start_connected;

Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> EventLoop::connect_unix_stream(
    ProtocolFactory factory, std::string path, UnixConnectionOptions options) {
  // asyncio's check: a path names no host to default to.
  if (options.ssl && !options.server_hostname) {
    throw std::invalid_argument("you have to pass server_hostname when using ssl");
  }
  detail::TlsParams tls = detail::make_tls_params(std::move(options.ssl), false, options.server_hostname,
                                                  options.ssl_handshake_timeout, options.ssl_shutdown_timeout);
  std::shared_ptr<detail::StreamTransport> transport = detail::StreamTransport::create_pipe(*this);
  std::exception_ptr error;
  try {
    Future<void> connected = transport->connect(path);
    co_await connected;
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    transport->discard();
    std::rethrow_exception(error);
  }
  co_return co_await start_connected(*this, std::move(transport), factory, &tls);
}

Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<BaseProtocol>>> EventLoop::connect_stream(
    ProtocolFactory factory, std::string host, std::uint16_t port, ConnectionOptions options) {
  if (options.ssl && !options.server_hostname) options.server_hostname = host;
  detail::TlsParams tls = detail::make_tls_params(std::move(options.ssl), false, options.server_hostname,
                                                  options.ssl_handshake_timeout, options.ssl_shutdown_timeout);
  std::vector<AddressInfo> infos =
      co_await getaddrinfo(host, std::to_string(port), AddressHints{options.family, SOCK_STREAM, 0, 0});
  if (infos.empty()) {
    throw std::system_error(std::make_error_code(std::errc::host_unreachable), "getaddrinfo() returned empty list");
  }
  std::vector<SocketAddress> addresses;
  for (const AddressInfo& info : infos) {
    if (!options.local_addr || options.local_addr->family() == info.family) addresses.push_back(info.address);
  }
  if (addresses.empty()) {
    throw std::system_error(std::make_error_code(std::errc::address_family_not_supported),
                            "no address of " + host + " matches local_addr's family");
  }
  const int interleave = options.interleave.value_or(options.happy_eyeballs_delay ? 1 : 0);
  if (interleave > 0) addresses = detail::interleave_families(std::move(addresses), interleave);

  std::vector<std::shared_ptr<detail::StreamTransport>> candidates(addresses.size());
  detail::StaggeredAttempts attempts;
  attempts.count = addresses.size();
  attempts.start = [&](std::size_t i) {
    candidates[i] = detail::StreamTransport::create_tcp(*this);
    if (options.local_addr) bind_local(*candidates[i], *options.local_addr);
    return candidates[i]->connect(addresses[i]);
  };
  attempts.abandon = [&](std::size_t i) {
    if (candidates[i]) std::exchange(candidates[i], nullptr)->discard();
  };
  std::optional<Clock::duration> delay;
  if (options.happy_eyeballs_delay) delay = std::chrono::duration_cast<Clock::duration>(*options.happy_eyeballs_delay);
  detail::StaggeredOutcome outcome = co_await detail::staggered_race(std::move(attempts), delay);
  if (!outcome.winner) {
    std::vector<std::exception_ptr> errors;
    for (auto& error : outcome.errors) {
      if (error) errors.push_back(std::move(error));
    }
    throw_connect_errors(errors);
  }
  co_return co_await start_connected(*this, std::move(candidates[*outcome.winner]), factory, &tls);
}

}  // namespace aiouv
