// Happy Eyeballs: the staggered race on attempts the test controls, the
// family interleaving, and create_connection() with happy_eyeballs_delay.
#include "net/happy_eyeballs.hpp"
#include "net/net_helpers.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;
using HappyEyeballs = LoopTest;

/// Attempts whose futures the test completes; records starts and abandons.
struct ScriptedAttempts {
  explicit ScriptedAttempts(EventLoop& loop, std::size_t count) : loop(loop) {
    for (std::size_t i = 0; i < count; ++i) futures.push_back(loop.create_future<void>());
  }
  detail::StaggeredAttempts attempts() {
    detail::StaggeredAttempts a;
    a.count = futures.size();
    a.start = [this](std::size_t i) {
      started.push_back(i);
      ++in_flight;
      max_in_flight = std::max(max_in_flight, in_flight);
      if (on_start) on_start(i);
      return futures[i];
    };
    a.abandon = [this](std::size_t i) {
      abandoned.push_back(i);
      --in_flight;
    };
    return a;
  }
  void fail(std::size_t i) {
    --in_flight;
    futures[i].set_exception(std::system_error(std::make_error_code(std::errc::connection_refused),
                                               "attempt " + std::to_string(i) + " refused"));
  }

  EventLoop& loop;
  std::vector<Future<void>> futures;
  std::vector<std::size_t> started;
  std::vector<std::size_t> abandoned;
  int in_flight = 0;
  int max_in_flight = 0;
  std::function<void(std::size_t)> on_start;
};

TEST_F(HappyEyeballs, DelayStartsTheNextAttemptAndTheFirstToSucceedWins) {
  ScriptedAttempts script(loop, 3);
  // Attempt 0 hangs; attempt 1 connects 50 ms after it started, by which
  // time the 10 ms delay has started attempt 2 as well.
  script.on_start = [&](std::size_t i) {
    if (i == 1) loop.call_later(50ms, [&] { script.futures[1].set_result(); });
  };
  auto outcome = loop.run_until_complete(detail::staggered_race(script.attempts(), 10ms));
  ASSERT_TRUE(outcome.winner.has_value());
  EXPECT_EQ(*outcome.winner, 1u);
  EXPECT_EQ(script.started, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(script.abandoned, (std::vector<std::size_t>{0, 2})) << "every loser is abandoned, the winner is not";
  EXPECT_TRUE(script.futures[0].cancelled());
  EXPECT_TRUE(script.futures[2].cancelled());
  for (const auto& error : outcome.errors) EXPECT_FALSE(error);
}

TEST_F(HappyEyeballs, WithoutADelayAttemptsRunOneAtATime) {
  ScriptedAttempts script(loop, 3);
  script.on_start = [&](std::size_t i) {
    loop.call_soon([&script, i] {
      if (i < 2) {
        script.fail(i);
      } else {
        script.futures[i].set_result();
      }
    });
  };
  auto outcome = loop.run_until_complete(detail::staggered_race(script.attempts(), std::nullopt));
  ASSERT_TRUE(outcome.winner.has_value());
  EXPECT_EQ(*outcome.winner, 2u);
  EXPECT_EQ(script.max_in_flight, 1);
  EXPECT_EQ(script.started, (std::vector<std::size_t>{0, 1, 2}));
  ASSERT_EQ(outcome.errors.size(), 3u);
  EXPECT_TRUE(outcome.errors[0] && outcome.errors[1]);
  EXPECT_FALSE(outcome.errors[2]);
  EXPECT_EQ(what_of(outcome.errors[1]), "attempt 1 refused: Connection refused");
}

TEST_F(HappyEyeballs, AFailureStartsTheNextAttemptWithoutWaitingForTheDelay) {
  ScriptedAttempts script(loop, 2);
  script.on_start = [&](std::size_t i) {
    loop.call_soon([&script, i] {
      if (i == 0) {
        script.fail(0);
      } else {
        script.futures[1].set_result();
      }
    });
  };
  const Clock::time_point start = Clock::now();
  auto outcome = loop.run_until_complete(detail::staggered_race(script.attempts(), 60s));
  EXPECT_LT(Clock::now() - start, 10s);
  ASSERT_TRUE(outcome.winner.has_value());
  EXPECT_EQ(*outcome.winner, 1u);
}

TEST_F(HappyEyeballs, AllFailingGivesEveryError) {
  ScriptedAttempts script(loop, 2);
  script.on_start = [&](std::size_t i) { loop.call_soon([&script, i] { script.fail(i); }); };
  auto outcome = loop.run_until_complete(detail::staggered_race(script.attempts(), 1ms));
  EXPECT_FALSE(outcome.winner.has_value());
  ASSERT_EQ(outcome.errors.size(), 2u);
  EXPECT_TRUE(outcome.errors[0] && outcome.errors[1]);
  EXPECT_EQ(script.abandoned, (std::vector<std::size_t>{0, 1}));
}

TEST_F(HappyEyeballs, AStartThatThrowsCountsAsAFailedAttempt) {
  ScriptedAttempts script(loop, 2);
  detail::StaggeredAttempts attempts = script.attempts();
  auto start = attempts.start;
  attempts.start = [&, start](std::size_t i) -> Future<void> {
    if (i == 0) throw std::runtime_error("cannot bind");
    loop.call_soon([&script] { script.futures[1].set_result(); });
    return start(i);
  };
  auto outcome = loop.run_until_complete(detail::staggered_race(std::move(attempts), std::nullopt));
  ASSERT_TRUE(outcome.winner.has_value());
  EXPECT_EQ(*outcome.winner, 1u);
  EXPECT_EQ(what_of(outcome.errors[0]), "cannot bind");
  EXPECT_EQ(script.abandoned, (std::vector<std::size_t>{0}));
}

TEST_F(HappyEyeballs, CancellingTheRaceAbandonsEveryStartedAttempt) {
  ScriptedAttempts script(loop, 3);
  Future<void> all_started = loop.create_future<void>();
  script.on_start = [&](std::size_t i) {
    if (i == 2) all_started.set_result();
  };
  auto main = [&]() -> Coro<void> {
    Task<detail::StaggeredOutcome> race = create_task(detail::staggered_race(script.attempts(), 1ms));
    co_await all_started;
    race.cancel();
    bool cancelled = false;
    try {
      (void)co_await race;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
  };
  loop.run_until_complete(main());
  EXPECT_EQ(script.abandoned, (std::vector<std::size_t>{0, 1, 2}));
  for (auto& future : script.futures) EXPECT_TRUE(future.cancelled());
}

TEST(Interleave, AlternatesFamiliesAsAsyncioDoes) {
  const auto a6 = SocketAddress::parse("::1", 1), b6 = SocketAddress::parse("::2", 1),
             c6 = SocketAddress::parse("::3", 1);
  const auto a4 = SocketAddress::parse("10.0.0.1", 1), b4 = SocketAddress::parse("10.0.0.2", 1);
  auto text = [](const std::vector<SocketAddress>& addresses) {
    std::string joined;
    for (const auto& address : addresses) joined.append(address.host()).append(" ");
    return joined;
  };
  const std::vector<SocketAddress> resolved{a6, b6, a4, b4, c6};
  EXPECT_EQ(text(detail::interleave_families(resolved, 1)), "::1 10.0.0.1 ::2 10.0.0.2 ::3 ");
  EXPECT_EQ(text(detail::interleave_families(resolved, 2)), "::1 ::2 10.0.0.1 ::3 10.0.0.2 ");
  EXPECT_EQ(text(detail::interleave_families({a4, b4}, 1)), "10.0.0.1 10.0.0.2 ");
  EXPECT_TRUE(detail::interleave_families({}, 1).empty());
}

TEST_F(HappyEyeballs, CreateConnectionWithADelayConnects) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await loop.create_server([] { return std::make_shared<EchoProtocol>(); }, "127.0.0.1", 0);
    ConnectionOptions options;
    options.happy_eyeballs_delay = 250ms;
    auto [transport, client] = co_await loop.create_connection(
        [&] { return std::make_shared<RecordingProtocol>(loop, 2); }, "127.0.0.1", port_of(*server), options);
    transport->write("hi");
    co_await client->got_all;
    EXPECT_EQ(client->received, "hi");
    transport->close();
    co_await client->lost;
    co_await shut_down(*server);
  };
  loop.run_until_complete(main());
}

TEST_F(HappyEyeballs, CreateConnectionReportsEveryFailedAddress) {
  auto main = [&]() -> Coro<void> {
    auto server = co_await loop.create_server([] { return std::make_shared<EchoProtocol>(); }, "127.0.0.1", 0);
    const std::uint16_t port = port_of(*server);
    co_await shut_down(*server);
    ConnectionOptions options;
    options.happy_eyeballs_delay = 10ms;
    bool refused = false;
    try {
      (void)co_await loop.create_connection([] { return std::make_shared<Protocol>(); }, "127.0.0.1", port, options);
    } catch (const std::system_error& e) {
      refused = e.code() == std::errc::connection_refused;
    }
    EXPECT_TRUE(refused);
  };
  loop.run_until_complete(main());
}

}  // namespace
}  // namespace aiouv::test
