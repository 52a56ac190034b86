// Producers and consumers around a bounded Queue, as in asyncio's queue
// example:
//
//   queue = asyncio.Queue(maxsize=4)
//   producers put jobs (put() waits while the queue is full),
//   consumers get() them, work, and call task_done();
//   await asyncio.gather(*producers); await queue.join()
//   queue.shutdown()   # 3.13: the consumers' get() raises QueueShutDown
//
// Every job is processed exactly once, the queue never holds more than
// maxsize jobs, and the consumers stop by themselves once it is shut down.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <aiouv/aiouv.hpp>

using namespace std::chrono_literals;

namespace {

constexpr int kProducers = 3;
constexpr int kJobsEach = 8;
constexpr int kConsumers = 4;
constexpr long kMaxSize = 4;

struct Job {
  int producer;
  int number;
  std::string name() const { return std::to_string(producer) + "-" + std::to_string(number); }
};

std::size_t largest_backlog = 0;

aiouv::Coro<void> produce(aiouv::Queue<Job>& queue, int producer) {
  for (int number = 1; number <= kJobsEach; ++number) {
    co_await aiouv::sleep(1ms);  // preparing the job
    co_await queue.put(Job{producer, number});
    largest_backlog = std::max(largest_backlog, queue.qsize());
    std::printf("producer %d queued job %d-%d\n", producer, producer, number);
  }
}

aiouv::Coro<int> consume(aiouv::Queue<Job>& queue, int consumer) {
  int processed = 0;
  try {
    for (;;) {
      Job job = co_await queue.get();
      co_await aiouv::sleep(std::chrono::milliseconds(1 + (job.producer * 7 + job.number * 3) % 5));
      std::printf("consumer %d finished job %s\n", consumer, job.name().c_str());
      ++processed;
      queue.task_done();
    }
  } catch (const aiouv::QueueShutDown&) {
    std::printf("consumer %d stopped after %d jobs: queue shut down\n", consumer, processed);
  }
  co_return processed;
}

aiouv::Coro<void> main_coro() {
  aiouv::Queue<Job> queue(kMaxSize);

  std::vector<aiouv::Task<int>> consumers;
  for (int c = 1; c <= kConsumers; ++c) consumers.push_back(aiouv::create_task(consume(queue, c)));
  std::vector<aiouv::Task<void>> producers;
  for (int p = 1; p <= kProducers; ++p) producers.push_back(aiouv::create_task(produce(queue, p)));

  co_await aiouv::gather(producers);
  std::printf("all %d jobs queued\n", kProducers * kJobsEach);
  co_await queue.join();
  std::printf("queue joined: every job is done\n");

  queue.shutdown();  // graceful: consumers finish, then their get() throws
  const std::vector<int> counts = co_await aiouv::gather(consumers);
  int total = 0;
  for (int n : counts) total += n;
  std::printf("processed %d jobs; largest backlog %zu (maxsize %ld)\n", total, largest_backlog, kMaxSize);
}

}  // namespace

int main() { aiouv::run(main_coro()); }
