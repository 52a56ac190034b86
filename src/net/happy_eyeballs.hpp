#ifndef AIOUV_SRC_NET_HAPPY_EYEBALLS_HPP_INCLUDED
#define AIOUV_SRC_NET_HAPPY_EYEBALLS_HPP_INCLUDED

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <vector>

#include <aiouv/sockets.hpp>
#include <aiouv/tasks.hpp>

namespace aiouv::detail {

/// The attempts a staggered race runs: `start(i)` begins attempt i and gives
/// the future it completes (throwing counts as that attempt failing);
/// `abandon(i)` stops a started attempt that did not win.
struct StaggeredAttempts {
  std::size_t count = 0;
  std::function<Future<void>(std::size_t)> start;
  std::function<void(std::size_t)> abandon;
};

/// What a race ended with: the winning attempt, if any, and each attempt's
/// failure (null for attempts that did not fail or never started).
struct StaggeredOutcome {
  std::optional<std::size_t> winner;
  std::vector<std::exception_ptr> errors;
};

/// asyncio.staggered.staggered_race, the engine of Happy Eyeballs (RFC
/// 8305): starts attempt 0, then the next one as soon as one fails or
/// `delay` passes without a winner (no delay: only after a failure, so one
/// at a time). The first attempt to succeed wins; every other started one is
/// abandoned. A cancelled race abandons everything it started and rethrows.
Coro<StaggeredOutcome> staggered_race(StaggeredAttempts attempts, std::optional<Clock::duration> delay);

/// asyncio's _interleave_addrinfos: groups the addresses by family (in
/// order of first appearance) and alternates between the groups, taking
/// `first_family_count` of the first family before the first switch.
std::vector<SocketAddress> interleave_families(std::vector<SocketAddress> addresses, int first_family_count);

}  // namespace aiouv::detail

#endif
