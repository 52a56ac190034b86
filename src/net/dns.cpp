// getaddrinfo() and getnameinfo(): libuv's thread-pool lookups as awaitable,
// cancellable futures.
#include <aiouv/detail/io_resource.hpp>
#include <aiouv/sockets.hpp>
#include <aiouv/tasks.hpp>

#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "request_future.hpp"

namespace aiouv {
namespace {

/// One lookup in flight: owns the request until libuv's callback, which
/// completes the future (unless it was cancelled) and frees the lookup.
template <class Request, class Result>
class Lookup final : public detail::IoResource {
 public:
  explicit Lookup(EventLoop& loop)
      : IoResource(loop),
        future(detail::make_request_future<Result>(loop, reinterpret_cast<uv_req_t*>(&request))) {
    request.data = this;
  }
  void started() noexcept { request_started(); }
  void abandon() noexcept override { uv_cancel(reinterpret_cast<uv_req_t*>(&request)); }

  /// Called by libuv's callback: settles the future and frees the lookup.
  template <class MakeResult>
  void finish(int status, const char* operation, MakeResult&& make_result) {
    request_finished();
    // After close() nobody can await the result; an exception stored now
    // would only be reported as never retrieved.
    if (!future.done() && !loop().is_closed()) {
      if (status < 0) {
        future.set_exception(std::make_exception_ptr(std::system_error(make_uv_error_code(status), operation)));
      } else {
        try {
          future.set_result(make_result());
        } catch (...) {
          future.set_exception(std::current_exception());
        }
      }
    }
    delete this;
  }

  Request request{};
  Future<Result> future;
};

using AddrInfoLookup = Lookup<uv_getaddrinfo_t, std::vector<AddressInfo>>;
using NameInfoLookup = Lookup<uv_getnameinfo_t, std::pair<std::string, std::string>>;

void on_addrinfo(uv_getaddrinfo_t* request, int status, addrinfo* results) {
  static_cast<AddrInfoLookup*>(request->data)->finish(status, "getaddrinfo", [results] {
    std::vector<AddressInfo> infos;
    for (const addrinfo* ai = results; ai; ai = ai->ai_next) {
      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
      infos.push_back(AddressInfo{ai->ai_family, ai->ai_socktype, ai->ai_protocol,
                                  ai->ai_canonname ? ai->ai_canonname : "", SocketAddress(ai->ai_addr)});
    }
    return infos;
  });
  uv_freeaddrinfo(results);
}

void on_nameinfo(uv_getnameinfo_t* request, int status, const char* host, const char* service) {
  static_cast<NameInfoLookup*>(request->data)->finish(status, "getnameinfo", [host, service] {
    return std::pair<std::string, std::string>(host ? host : "", service ? service : "");
  });
}

}  // namespace

Coro<std::vector<AddressInfo>> EventLoop::getaddrinfo(std::string host, std::string port) {
  return getaddrinfo(std::move(host), std::move(port), AddressHints{});
}

Coro<std::vector<AddressInfo>> EventLoop::getaddrinfo(std::string host, std::uint16_t port) {
  return getaddrinfo(std::move(host), std::to_string(port), AddressHints{});
}

Coro<std::vector<AddressInfo>> EventLoop::getaddrinfo(std::string host, std::string port, AddressHints hints) {
  check_open();
  addrinfo native{};
  native.ai_family = hints.family;
  native.ai_socktype = hints.type;
  native.ai_protocol = hints.protocol;
  native.ai_flags = hints.flags;
  auto* lookup = new AddrInfoLookup(*this);
  Future<std::vector<AddressInfo>> result = lookup->future;
  const int status = uv_getaddrinfo(uv_loop_, &lookup->request, &on_addrinfo, host.empty() ? nullptr : host.c_str(),
                                    port.empty() ? nullptr : port.c_str(), &native);
  if (status < 0) {
    delete lookup;
    throw std::system_error(make_uv_error_code(status), "getaddrinfo");
  }
  lookup->started();
  co_return co_await std::move(result);
}

Coro<std::pair<std::string, std::string>> EventLoop::getnameinfo(SocketAddress address, int flags) {
  check_open();
  if (address.empty()) throw std::invalid_argument("getnameinfo() needs an IPv4 or IPv6 address");
  auto* lookup = new NameInfoLookup(*this);
  Future<std::pair<std::string, std::string>> result = lookup->future;
  const int status = uv_getnameinfo(uv_loop_, &lookup->request, &on_nameinfo, address.get(), flags);
  if (status < 0) {
    delete lookup;
    throw std::system_error(make_uv_error_code(status), "getnameinfo");
  }
  lookup->started();
  co_return co_await std::move(result);
}

}  // namespace aiouv
