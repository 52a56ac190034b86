// Happy Eyeballs: staggered connection attempts over interleaved address
// families.
#include "happy_eyeballs.hpp"

#include <utility>

namespace aiouv::detail {
namespace {

/// The attempts started and not yet finished, by index.
struct Running {
  std::vector<std::size_t> index;
  std::vector<Future<void>> done;

  bool empty() const noexcept { return index.empty(); }
  void add(std::size_t i, Future<void> future) {
    index.push_back(i);
    done.push_back(std::move(future));
  }
  void remove(std::size_t position) {
    index.erase(index.begin() + static_cast<std::ptrdiff_t>(position));
    done.erase(done.begin() + static_cast<std::ptrdiff_t>(position));
  }
};

void abandon_all(StaggeredAttempts& attempts, Running& running) {
  for (std::size_t k = 0; k < running.index.size(); ++k) {
    running.done[k].cancel();
    attempts.abandon(running.index[k]);
  }
  running = Running{};
}

}  // namespace

Coro<StaggeredOutcome> staggered_race(StaggeredAttempts attempts, std::optional<Clock::duration> delay) {
  StaggeredOutcome outcome;
  outcome.errors.resize(attempts.count);
  Running running;
  std::size_t next = 0;
  // Starts the next attempt that does not fail right away.
  auto start_next = [&] {
    while (next < attempts.count) {
      const std::size_t i = next++;
      try {
        running.add(i, attempts.start(i));
        return;
      } catch (...) {
        outcome.errors[i] = std::current_exception();
        attempts.abandon(i);
      }
    }
  };

  start_next();
  while (!running.empty()) {
    const bool more_to_start = next < attempts.count;
    std::exception_ptr cancelled;
    try {
      // wait() rather than the future itself: cancelling this task must
      // not look like an attempt that was cancelled.
      co_await wait(running.done, FIRST_COMPLETED, more_to_start ? delay : std::nullopt);
    } catch (...) {
      cancelled = std::current_exception();
    }
    if (cancelled) {
      abandon_all(attempts, running);
      std::rethrow_exception(cancelled);
    }

    for (std::size_t k = 0; k < running.done.size();) {
      Future<void>& future = running.done[k];
      if (!future.done()) {
        ++k;
        continue;
      }
      const std::size_t i = running.index[k];
      if (!future.cancelled() && !future.exception()) {
        running.remove(k);
        abandon_all(attempts, running);
        outcome.winner = i;
        co_return outcome;
      }
      outcome.errors[i] = future.cancelled() ? std::make_exception_ptr(CancelledError("attempt cancelled"))
                                             : future.exception();
      attempts.abandon(i);
      running.remove(k);
    }
    // A failure or the delay passing without a winner starts the next one.
    start_next();
  }
  co_return outcome;
}

std::vector<SocketAddress> interleave_families(std::vector<SocketAddress> addresses, int first_family_count) {
  if (addresses.empty()) return addresses;
  // Group by family in order of first appearance.
  std::vector<std::vector<SocketAddress>> groups;
  std::vector<int> families;
  for (SocketAddress& address : addresses) {
    std::size_t g = 0;
    while (g < families.size() && families[g] != address.family()) ++g;
    if (g == families.size()) {
      families.push_back(address.family());
      groups.emplace_back();
    }
    groups[g].push_back(std::move(address));
  }
  std::vector<SocketAddress> reordered;
  std::size_t skip_first = 0;  // taken from the first group up front
  for (; skip_first + 1 < static_cast<std::size_t>(first_family_count) && skip_first < groups[0].size(); ++skip_first) {
    reordered.push_back(groups[0][skip_first]);
  }
  for (std::size_t round = 0;; ++round) {
    bool any = false;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::size_t position = round + (g == 0 ? skip_first : 0);
      if (position < groups[g].size()) {
        reordered.push_back(groups[g][position]);
        any = true;
      }
    }
    if (!any) break;
  }
  return reordered;
}

}  // namespace aiouv::detail
