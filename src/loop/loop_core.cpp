#include "loop_core.hpp"

namespace aiouv::detail {

LoopCore* LoopCore::create(EventLoop& owner, uv_loop_t* loop) {
  auto* core = new LoopCore(owner);
  const int status = core->init(loop);
  if (status != 0) {
    // Whatever was opened is closed; the block frees itself in the close
    // callbacks, the next time the loop runs.
    core->owner_ = nullptr;
    if (core->open_handles_ == 0) {
      delete core;
    } else {
      core->close();
    }
    throw_uv_error(status, "EventLoop: initialising libuv handles");
  }
  return core;
}

int LoopCore::init(uv_loop_t* loop) {
  idle.data = check.data = timer.data = wakeup.data = this;
  // One by one, so that a failure closes exactly what was opened.
  int status = uv_idle_init(loop, &idle);
  if (status == 0) {
    ++open_handles_;
    status = uv_check_init(loop, &check);
  }
  if (status == 0) {
    ++open_handles_;
    uv_check_start(&check, &LoopCore::on_check);
    uv_unref(reinterpret_cast<uv_handle_t*>(&check));
    status = uv_timer_init(loop, &timer);
  }
  if (status == 0) {
    ++open_handles_;
    status = uv_async_init(loop, &wakeup, &LoopCore::on_wakeup);
  }
  if (status != 0) return status;
  ++open_handles_;
  uv_unref(reinterpret_cast<uv_handle_t*>(&wakeup));
  return 0;
}

void LoopCore::close() noexcept {
  uv_handle_t* handles[] = {reinterpret_cast<uv_handle_t*>(&idle), reinterpret_cast<uv_handle_t*>(&check),
                            reinterpret_cast<uv_handle_t*>(&timer), reinterpret_cast<uv_handle_t*>(&wakeup)};
  // A failed constructor leaves later handles uninitialised: close only the
  // first open_handles_ of them.
  const int count = open_handles_;
  for (int i = 0; i < count; ++i) uv_close(handles[i], &LoopCore::on_closed);
}

void LoopCore::on_idle(uv_idle_t*) {
  // Nothing to do: being active is the point (see the class comment).
}

void LoopCore::on_check(uv_check_t* handle) {
  auto* core = static_cast<LoopCore*>(handle->data);
  EventLoop* owner = core->owner_;
  if (owner && (owner->drain_ & (EventLoop::kIdleStarted | EventLoop::kCheckDrains))) owner->run_ready();
}

void LoopCore::on_timer(uv_timer_t* handle) {
  auto* core = static_cast<LoopCore*>(handle->data);
  if (core->owner_) core->owner_->on_timer();
}

void LoopCore::on_wakeup(uv_async_t* handle) {
  auto* core = static_cast<LoopCore*>(handle->data);
  if (core->owner_) core->owner_->on_wakeup();
}

void LoopCore::on_closed(uv_handle_t* handle) {
  auto* core = static_cast<LoopCore*>(handle->data);
  if (--core->open_handles_ > 0) return;
  if (core->owner_) core->owner_->core_ = nullptr;
  delete core;
}

}  // namespace aiouv::detail
