// Scheduling plain callbacks, as in asyncio's "Scheduling callbacks" docs:
// call_soon, call_later, call_at (loop clock and wall clock), stop and
// run_forever. Each line says when it ran, relative to the start.
#include <chrono>
#include <cstdio>
#include <string>

#include <aiouv/aiouv.hpp>

using namespace std::chrono_literals;

int main() {
  aiouv::EventLoop loop;
  const aiouv::Clock::time_point start = loop.time();
  auto say = [&](const std::string& what) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(loop.time() - start).count();
    std::printf("%-44s at ~%lld ms\n", what.c_str(), static_cast<long long>(ms / 10 * 10));
    std::fflush(stdout);
  };

  loop.call_soon(say, "call_soon: first");
  loop.call_soon(say, "call_soon: second (FIFO)");
  loop.call_later(100ms, say, "call_later(100ms)");
  loop.call_at(loop.time() + 50ms, say, "call_at(loop.time() + 50ms)");
  loop.call_at(std::chrono::system_clock::now() + 150ms, say, "call_at(Unix time + 150ms)");

  aiouv::TimerHandle never = loop.call_later(120ms, say, "cancelled: never printed");
  never.cancel();

  loop.call_later(200ms, [&] {
    say("stop()");
    loop.stop();
  });
  loop.run_forever();
  std::puts("run_forever() returned");
  loop.close();
}
