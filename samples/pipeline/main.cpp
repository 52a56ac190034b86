// Child processes as asyncio users drive them:
//  1. text through a `sort | uniq -c | sort -rn` pipeline with communicate();
//  2. several commands at once, at most two running at a time (Semaphore).
//
// Python equivalent of part 1:
//   proc = await asyncio.create_subprocess_shell(
//       "sort | uniq -c | sort -rn", stdin=PIPE, stdout=PIPE)
//   out, _ = await proc.communicate(text.encode())
#include <cstdio>
#include <string>
#include <vector>

#include <aiouv/aiouv.hpp>

namespace {

namespace sp = aiouv::subprocess;
using namespace std::chrono_literals;

aiouv::Coro<void> count_words() {
  const std::string words = "pear\napple\nfig\napple\npear\napple\n";
  aiouv::SubprocessOptions options;
  options.stdin_ = sp::PIPE;
  options.stdout_ = sp::PIPE;
  // LC_ALL=C: the same order on every machine.
  aiouv::Process proc = co_await aiouv::create_subprocess_shell("LC_ALL=C sort | uniq -c | sort -rn", options);
  auto [out, err] = co_await proc.communicate(words);
  std::printf("word counts (exit %d):\n", *proc.returncode());
  // uniq -c pads the counts; print them as "count word".
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t end = out.find('\n', pos);
    std::string line = out.substr(pos, end - pos);
    line.erase(0, line.find_first_not_of(' '));
    std::printf("  %s\n", line.c_str());
    pos = end + 1;
  }
}

aiouv::Coro<void> run_limited() {
  aiouv::Semaphore slots(2);
  int running = 0;
  int most = 0;
  auto job = [&](int n) -> aiouv::Coro<std::string> {
    auto slot = co_await slots.scoped();
    most = std::max(most, ++running);
    aiouv::SubprocessOptions options;
    options.stdout_ = sp::PIPE;
    aiouv::Process proc =
        co_await aiouv::create_subprocess_shell("sleep 0.1; echo job " + std::to_string(n) + " done", options);
    auto [out, err] = co_await proc.communicate();
    --running;
    co_return out;
  };
  std::vector<aiouv::Task<std::string>> jobs;
  for (int n = 1; n <= 6; ++n) jobs.push_back(aiouv::create_task(job(n)));
  std::vector<std::string> outputs = co_await aiouv::gather(jobs);
  for (const std::string& out : outputs) std::printf("%s", out.c_str());
  std::printf("ran %zu commands, at most %d at once\n", outputs.size(), most);
}

aiouv::Coro<int> main_coro() {
  co_await count_words();
  co_await run_limited();
  co_return 0;
}

}  // namespace

int main() { return aiouv::run(main_coro()); }
