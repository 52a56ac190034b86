// getaddrinfo() and getnameinfo(): results, errors, cancellation, and
// lookups still in flight when the loop closes.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using Dns = LoopTest;

TEST_F(Dns, NumericAddressResolvesToItself) {
  auto main = [&]() -> Coro<void> {
    const auto infos = co_await loop.getaddrinfo("127.0.0.1", "8080", AddressHints{AF_UNSPEC, SOCK_STREAM, 0, 0});
    CO_ASSERT_TRUE(infos.size() == 1u);
    EXPECT_EQ(infos[0].family, AF_INET);
    EXPECT_EQ(infos[0].type, SOCK_STREAM);
    EXPECT_EQ(infos[0].address.to_string(), "127.0.0.1:8080");
    EXPECT_EQ(infos[0].address, SocketAddress::parse("127.0.0.1", 8080));
    const auto v6 = co_await loop.getaddrinfo("::1", std::uint16_t{443});
    CO_ASSERT_TRUE(!v6.empty());
    EXPECT_EQ(v6[0].family, AF_INET6);
    EXPECT_EQ(v6[0].address.to_string(), "[::1]:443");
  };
  loop.run_until_complete(main());
}

TEST_F(Dns, LocalhostResolves) {
  auto main = [&]() -> Coro<void> {
    const auto infos = co_await loop.getaddrinfo("localhost", "80", AddressHints{AF_INET, SOCK_STREAM, 0, 0});
    CO_ASSERT_TRUE(!infos.empty());
    EXPECT_EQ(infos[0].address.host(), "127.0.0.1");
  };
  loop.run_until_complete(main());
}

TEST_F(Dns, FailureIsASystemError) {
  auto main = [&]() -> Coro<void> {
    bool failed = false;
    try {
      (void)co_await loop.getaddrinfo("not-an-address", "80", AddressHints{AF_UNSPEC, SOCK_STREAM, 0, AI_NUMERICHOST});
    } catch (const std::system_error& e) {
      failed = true;
      EXPECT_EQ(&e.code().category(), &uv_category());
      EXPECT_EQ(e.code().value(), UV_EAI_NONAME);
      EXPECT_NE(std::string(e.what()).find("getaddrinfo"), std::string::npos);
    }
    EXPECT_TRUE(failed);
  };
  loop.run_until_complete(main());
}

TEST_F(Dns, NameInfo) {
  auto main = [&]() -> Coro<void> {
    const auto [host, service] =
        co_await loop.getnameinfo(SocketAddress::parse("127.0.0.1", 80), NI_NUMERICHOST | NI_NUMERICSERV);
    EXPECT_EQ(host, "127.0.0.1");
    EXPECT_EQ(service, "80");
  };
  loop.run_until_complete(main());
  EXPECT_THROW(SocketAddress::parse("localhost", 1), std::invalid_argument);
}

TEST_F(Dns, CancellingTheAwaitingTaskCancelsTheLookup) {
  auto lookup = [&]() -> Coro<void> { (void)co_await loop.getaddrinfo("localhost", "80"); };
  Task<void> task = loop.create_task(lookup());
  loop.call_soon([&] { task.cancel(); });
  EXPECT_THROW(loop.run_until_complete(task), CancelledError);
  // The request may have been running in the thread pool: wait for libuv
  // to hand it back before the ledger looks.
  while (loop.counters().uv_requests > 0) loop.run_until_complete(sleep(1ms));
}

TEST_F(Dns, CloseWithALookupInFlightLeavesNothingBehind) {
  auto lookup = [&]() -> Coro<void> { (void)co_await loop.getaddrinfo("localhost", "80"); };
  {
    Task<void> task = loop.create_task(lookup());
    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();  // the lookup has started
    EXPECT_EQ(loop.counters().uv_requests, 1u);
  }
  record_exceptions();
  loop.close();
  EXPECT_EQ(loop.counters().uv_requests, 0u);
  reported.clear();
}

}  // namespace
}  // namespace aiouv::test
