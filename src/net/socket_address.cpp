#include <aiouv/sockets.hpp>

#include <cstring>
#include <stdexcept>

namespace aiouv {

SocketAddress::SocketAddress(const sockaddr* address) noexcept {
  if (!address) return;
  if (address->sa_family == AF_INET) {
    std::memcpy(&storage_, address, sizeof(sockaddr_in));
  } else if (address->sa_family == AF_INET6) {
    std::memcpy(&storage_, address, sizeof(sockaddr_in6));
  }
}

SocketAddress SocketAddress::parse(std::string_view ip, std::uint16_t port) {
  const std::string text(ip);
  SocketAddress result;
  if (uv_ip4_addr(text.c_str(), port, reinterpret_cast<sockaddr_in*>(&result.storage_)) == 0) return result;
  result = SocketAddress();
  if (uv_ip6_addr(text.c_str(), port, reinterpret_cast<sockaddr_in6*>(&result.storage_)) == 0) return result;
  throw std::invalid_argument("not a numeric IP address: '" + text + "'");
}

SocketAddress SocketAddress::from_path(std::string_view path) {
  SocketAddress result;
  result.storage_.ss_family = AF_UNIX;
  result.path_ = path;
  return result;
}

std::string SocketAddress::host() const {
  if (family() == AF_UNIX) return path_;
  char buffer[UV_IF_NAMESIZE + INET6_ADDRSTRLEN + 2] = {};
  if (family() == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&storage_), buffer, sizeof buffer);
  } else if (family() == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&storage_), buffer, sizeof buffer);
  }
  return buffer;
}

std::uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

std::string SocketAddress::to_string() const {
  if (empty()) return "<no address>";
  if (family() == AF_UNIX) return path_;
  // append(), not a chain of operator+: g++ 12 -O2 warns falsely
  // (-Wrestrict) on the chain.
  std::string text;
  if (family() == AF_INET6) text.append("[");
  text.append(host());
  if (family() == AF_INET6) text.append("]");
  text.append(":");
  text.append(std::to_string(port()));
  return text;
}

unsigned SocketAddress::size() const noexcept {
  if (family() == AF_INET) return sizeof(sockaddr_in);
  if (family() == AF_INET6) return sizeof(sockaddr_in6);
  return 0;
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.family() == b.family() && a.size() == b.size() && std::memcmp(a.get(), b.get(), a.size()) == 0 &&
         a.path_ == b.path_;
}

}  // namespace aiouv
