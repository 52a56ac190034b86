// add_reader()/add_writer() and their removal on uv_poll_t: one watcher
// per file descriptor, polling for what its callbacks want.
#include <aiouv/detail/io_resource.hpp>
#include <aiouv/events.hpp>

#include <memory>
#include <uv.h>

namespace aiouv {
namespace detail {

/// One uv_poll_t and the reader and writer callbacks of its descriptor.
/// Each ready event schedules the callback with call_soon, as asyncio's
/// selector loop puts the handle on its ready queue.
class FdWatcher final : public IoResource {
 public:
  FdWatcher(EventLoop& loop, uv_os_sock_t fd) : IoResource(loop), fd_(fd) {}

  int open() {
    if (int status = uv_poll_init_socket(loop().native_handle(), &handle_, fd_); status < 0) return status;
    handle_.data = this;
    handle_opened();
    open_ = true;
    return 0;
  }
  /// Sets (or clears, with an empty one) the callback for `events`
  /// (UV_READABLE or UV_WRITABLE); false if removing found none.
  bool set(int events, std::shared_ptr<Callback> callback) {
    std::shared_ptr<Callback>& slot = events == UV_READABLE ? reader_ : writer_;
    const bool had = static_cast<bool>(slot);
    slot = std::move(callback);
    return had;
  }
  /// Polls for what the callbacks want; 0 or a libuv error.
  int update() {
    const int events = (reader_ ? UV_READABLE : 0) | (writer_ ? UV_WRITABLE : 0);
    if (events == 0) return uv_poll_stop(&handle_);
    return uv_poll_start(&handle_, events, &on_poll);
  }
  bool idle() const noexcept { return !reader_ && !writer_; }

  /// Stops watching; frees itself once libuv is done with the handle.
  void stop() noexcept {
    if (closing_) return;
    closing_ = true;
    reader_ = writer_ = nullptr;
    if (!open_) {
      delete this;
      return;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_), &on_closed);
  }
  void abandon() noexcept override { stop(); }

 private:
  static void on_poll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<FdWatcher*>(handle->data);
    // An error (the descriptor went bad) wakes both sides, whose own calls
    // then see it.
    if (status < 0) events = UV_READABLE | UV_WRITABLE;
    if ((events & UV_READABLE) && self->reader_) self->loop().call_soon([callback = self->reader_] { (*callback)(); });
    if ((events & UV_WRITABLE) && self->writer_) self->loop().call_soon([callback = self->writer_] { (*callback)(); });
  }
  static void on_closed(uv_handle_t* handle) {
    auto* self = static_cast<FdWatcher*>(handle->data);
    self->handle_closed();
    delete self;
  }

  uv_poll_t handle_{};
  uv_os_sock_t fd_;
  std::shared_ptr<Callback> reader_;
  std::shared_ptr<Callback> writer_;
  bool open_ = false;
  bool closing_ = false;
};

}  // namespace detail

void EventLoop::set_fd_callback(uv_os_sock_t fd, int events, detail::Callback&& callback) {
  check_open();
  detail::FdWatcher* watcher;
  if (auto it = fd_watchers_.find(fd); it != fd_watchers_.end()) {
    watcher = static_cast<detail::FdWatcher*>(it->second);
  } else {
    watcher = new detail::FdWatcher(*this, fd);
    if (int status = watcher->open(); status < 0) {
      watcher->stop();
      throw std::system_error(make_uv_error_code(status), events == UV_READABLE ? "add_reader" : "add_writer");
    }
    fd_watchers_.emplace(fd, watcher);
  }
  auto shared = std::make_shared<detail::Callback>(std::move(callback));
  auto previous = watcher->set(events, shared);
  (void)previous;
  if (int status = watcher->update(); status < 0) {
    remove_fd_callback(fd, events);
    throw std::system_error(make_uv_error_code(status), events == UV_READABLE ? "add_reader" : "add_writer");
  }
}

bool EventLoop::remove_fd_callback(uv_os_sock_t fd, int events) {
  if (closed_) return false;
  auto it = fd_watchers_.find(fd);
  if (it == fd_watchers_.end()) return false;
  auto* watcher = static_cast<detail::FdWatcher*>(it->second);
  const bool had = watcher->set(events, nullptr);
  if (watcher->idle()) {
    fd_watchers_.erase(it);
    watcher->stop();
  } else {
    (void)watcher->update();
  }
  return had;
}

bool EventLoop::remove_reader(uv_os_sock_t fd) { return remove_fd_callback(fd, UV_READABLE); }
bool EventLoop::remove_writer(uv_os_sock_t fd) { return remove_fd_callback(fd, UV_WRITABLE); }

}  // namespace aiouv
