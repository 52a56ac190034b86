// A crawler's skeleton: many fetches, at most kLimit at once (a Semaphore),
// each bounded by wait_for, one task per site inside a TaskGroup, and each
// site's pages collected with gather(return_exceptions=True) so that one
// bad page does not stop the others. Fetching is simulated with sleeps (the
// network layer is not part of this sample):
//
//   async def crawl_site(site):
//       results = await asyncio.gather(*(fetch_limited(u) for u in pages),
//                                      return_exceptions=True)
//   async with asyncio.TaskGroup() as tg:
//       for site in sites: tg.create_task(crawl_site(site))
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <aiouv/aiouv.hpp>

using namespace std::chrono_literals;

namespace {

constexpr long kLimit = 4;
constexpr auto kPerPageTimeout = 100ms;

/// A simulated page: how long the server takes, and whether it fails.
struct Page {
  std::string url;
  std::chrono::milliseconds latency;
  const char* failure = nullptr;
};

struct Site {
  std::string host;
  std::vector<Page> pages;
};

struct Stats {
  int ok = 0;
  int failed = 0;
  int timed_out = 0;
  int in_flight = 0;
  int most_in_flight = 0;
};

Stats stats;

/// Stands in for an HTTP GET: the body's size after the page's latency.
aiouv::Coro<std::size_t> fetch(const Page& page) {
  co_await aiouv::sleep(page.latency);
  if (page.failure) throw std::runtime_error(page.failure);
  co_return page.url.size() * 100;
}

aiouv::Coro<std::size_t> fetch_limited(aiouv::Semaphore& limit, const Page& page) {
  auto slot = co_await limit.scoped();
  ++stats.in_flight;
  stats.most_in_flight = std::max(stats.most_in_flight, stats.in_flight);
  struct Leave {
    ~Leave() { --stats.in_flight; }
  } leave;
  co_return co_await aiouv::wait_for(fetch(page), kPerPageTimeout);
}

aiouv::Coro<void> crawl_site(aiouv::Semaphore& limit, const Site& site) {
  std::vector<aiouv::Task<std::size_t>> fetches;
  for (const Page& page : site.pages) fetches.push_back(aiouv::create_task(fetch_limited(limit, page)));
  auto results = co_await aiouv::gather(aiouv::return_exceptions, fetches);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::string url = "http://" + site.host + site.pages[i].url;
    if (const auto* size = std::get_if<std::size_t>(&results[i])) {
      ++stats.ok;
      std::printf("ok      %s (%zu bytes)\n", url.c_str(), *size);
      continue;
    }
    try {
      std::rethrow_exception(std::get<std::exception_ptr>(results[i]));
    } catch (const aiouv::TimeoutError&) {
      ++stats.timed_out;
      std::printf("timeout %s\n", url.c_str());
    } catch (const std::exception& e) {
      ++stats.failed;
      std::printf("error   %s: %s\n", url.c_str(), e.what());
    }
  }
}

std::vector<Site> make_sites() {
  std::vector<Site> sites;
  for (const char* host : {"alpha.example", "beta.example", "gamma.example"}) {
    Site site{host, {}};
    for (int n = 1; n <= 6; ++n) site.pages.push_back({"/page" + std::to_string(n), std::chrono::milliseconds(2 + n % 4)});
    sites.push_back(std::move(site));
  }
  sites[0].pages[2].latency = 10s;  // never answers in time
  sites[1].pages[4].failure = "HTTP 404";
  sites[2].pages[0].failure = "connection reset by peer";
  sites[2].pages[3].latency = 10s;
  return sites;
}

aiouv::Coro<void> main_coro() {
  const std::vector<Site> sites = make_sites();
  aiouv::Semaphore limit(kLimit);
  co_await aiouv::TaskGroup().run([&](aiouv::TaskGroup& group) -> aiouv::Coro<void> {
    for (const Site& site : sites) group.create_task(crawl_site(limit, site), site.host);
    co_return;
  });
  std::printf("crawled %d pages: %d ok, %d failed, %d timed out; at most %d fetches at once (limit %ld)\n",
              stats.ok + stats.failed + stats.timed_out, stats.ok, stats.failed, stats.timed_out,
              stats.most_in_flight, kLimit);
}

}  // namespace

int main() { aiouv::run(main_coro()); }
