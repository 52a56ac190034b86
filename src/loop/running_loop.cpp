// The per-thread running loop and current loop (asyncio's events module).
#include "running_loop.hpp"

namespace aiouv {
namespace {
thread_local EventLoop* running = nullptr;
thread_local EventLoop* current = nullptr;           // set_event_loop()
thread_local std::unique_ptr<EventLoop> owned_default;  // get_event_loop()'s own
}  // namespace

namespace detail {

EventLoop* running_loop() noexcept { return running; }

RunningLoopScope::RunningLoopScope(EventLoop& loop) noexcept : entered_(running == nullptr) {
  if (entered_) running = &loop;
}

RunningLoopScope::~RunningLoopScope() {
  if (entered_) running = nullptr;
}

}  // namespace detail

EventLoop& get_running_loop() {
  if (!running) throw RuntimeError("no running event loop");
  return *running;
}

EventLoop& get_event_loop() {
  if (running) return *running;
  if (current) return *current;
  if (!owned_default || owned_default->is_closed()) owned_default = std::make_unique<EventLoop>();
  current = owned_default.get();
  return *current;
}

void set_event_loop(EventLoop* loop) noexcept { current = loop; }

std::unique_ptr<EventLoop> new_event_loop() { return std::make_unique<EventLoop>(); }

}  // namespace aiouv
