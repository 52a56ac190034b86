// A plain libuv program, written the C way: its own timer, its own uv_run.
// aiouv borrows the same uv_loop_t and its tasks run inside the host's
// uv_run; when neither side has work left, uv_run returns and the host
// closes its loop as usual.
#include <cstdio>

#include <uv.h>

#include <aiouv/aiouv.hpp>

using namespace std::chrono_literals;

namespace {

int ticks = 0;

void on_host_tick(uv_timer_t* timer) {
  std::printf("host: libuv timer tick %d\n", ++ticks);
  if (ticks == 3) uv_timer_stop(timer);
}

aiouv::Coro<int> worker(const char* name, int steps) {
  for (int i = 1; i <= steps; ++i) {
    co_await aiouv::sleep(35ms);
    std::printf("aiouv: %s step %d\n", name, i);
  }
  co_return steps;
}

aiouv::Coro<void> supervisor() {
  auto a = aiouv::create_task(worker("task A", 2));
  auto b = aiouv::create_task(worker("task B", 2));
  const int total = co_await a + co_await b;
  std::printf("aiouv: all %d steps done\n", total);
}

}  // namespace

int main() {
  uv_loop_t loop;
  uv_loop_init(&loop);

  uv_timer_t timer;
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, on_host_tick, 30, 30);

  aiouv::EventLoop aio(&loop);  // borrows the host's loop
  auto task = aio.create_task(supervisor());

  uv_run(&loop, UV_RUN_DEFAULT);  // runs both until nothing is left
  std::printf("host: uv_run returned, task done: %s\n", task.done() ? "yes" : "no");

  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  task = {};
  aio.close();
  const int status = uv_loop_close(&loop);
  std::printf("host: uv_loop_close returned %d\n", status);
  return status == 0 ? 0 : 1;
}
