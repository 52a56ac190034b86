// add_signal_handler() and remove_signal_handler() on uv_signal_t.
#include <aiouv/detail/io_resource.hpp>
#include <aiouv/events.hpp>

#include <csignal>
#include <memory>
#include <string>
#include <uv.h>

namespace aiouv {
namespace detail {
namespace {

#if defined(NSIG)
constexpr int kSignalLimit = NSIG;
#elif defined(_NSIG)
constexpr int kSignalLimit = _NSIG;
#else
constexpr int kSignalLimit = 65;
#endif

/// One uv_signal_t and the callback it schedules. Unreferenced: watching a
/// signal does not keep the loop (or a host's uv_run) alive.
class SignalWatcher final : public IoResource {
 public:
  SignalWatcher(EventLoop& loop, Callback&& callback)
      : IoResource(loop), callback_(std::make_shared<Callback>(std::move(callback))) {}

  int start(int signum) {
    if (int status = uv_signal_init(loop().native_handle(), &handle_); status < 0) return status;
    handle_.data = this;
    handle_opened();
    open_ = true;
    uv_unref(reinterpret_cast<uv_handle_t*>(&handle_));
    return uv_signal_start(&handle_, &on_signal, signum);
  }
  void replace(Callback&& callback) { callback_ = std::make_shared<Callback>(std::move(callback)); }
  /// Stops watching and frees itself once libuv is done with the handle.
  void stop() noexcept {
    if (closing_) return;  // removed, then abandoned at close(): once is enough
    closing_ = true;
    if (!open_) {
      delete this;  // libuv never had the handle
      return;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_), &on_closed);
  }
  void abandon() noexcept override { stop(); }

 private:
  static void on_signal(uv_signal_t* handle, int) {
    auto* self = static_cast<SignalWatcher*>(handle->data);
    // As asyncio: the handler runs as a callback of the loop, not inside
    // libuv's dispatch. Shared: the handler may replace or remove itself.
    self->loop().call_soon([callback = self->callback_] { (*callback)(); });
  }
  static void on_closed(uv_handle_t* handle) {
    auto* self = static_cast<SignalWatcher*>(handle->data);
    self->handle_closed();
    delete self;
  }

  uv_signal_t handle_{};
  std::shared_ptr<Callback> callback_;
  bool open_ = false;
  bool closing_ = false;
};

}  // namespace
}  // namespace detail

void EventLoop::set_signal_handler(int signum, detail::Callback&& callback) {
  check_open();
  if (signum < 1 || signum >= detail::kSignalLimit) {
    throw std::invalid_argument("sig " + std::to_string(signum) + " out of range(1, " +
                                std::to_string(detail::kSignalLimit) + ")");
  }
  if (auto it = signal_handlers_.find(signum); it != signal_handlers_.end()) {
    static_cast<detail::SignalWatcher*>(it->second)->replace(std::move(callback));
    return;
  }
  auto* watcher = new detail::SignalWatcher(*this, std::move(callback));
  if (int status = watcher->start(signum); status < 0) {
    watcher->stop();
    if (status == UV_EINVAL) throw RuntimeError("sig " + std::to_string(signum) + " cannot be caught");
    throw std::system_error(make_uv_error_code(status), "add_signal_handler");
  }
  signal_handlers_.emplace(signum, watcher);
}

bool EventLoop::remove_signal_handler(int signum) {
  auto it = signal_handlers_.find(signum);
  if (it == signal_handlers_.end()) return false;
  detail::IoResource* watcher = it->second;
  signal_handlers_.erase(it);
  static_cast<detail::SignalWatcher*>(watcher)->stop();
  return true;
}

}  // namespace aiouv
