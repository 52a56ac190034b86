#include <aiouv/timeouts.hpp>

#include <cmath>
#include <cstdio>

namespace aiouv {

namespace {

const char* state_name(int state) {
  // asyncio's _State values.
  static constexpr const char* names[] = {"created", "active", "expiring", "expired", "finished"};
  return names[state];
}

}  // namespace

Timeout timeout(std::optional<Clock::duration> delay) {
  (void)get_running_loop();
  if (!delay) return Timeout(std::nullopt);
  return Timeout(detail::deadline_after(*delay));
}

void Timeout::reschedule(std::optional<Clock::time_point> when) {
  if (state_ != State::entered) {
    if (state_ == State::created) throw RuntimeError("Timeout has not been entered");
    throw RuntimeError(std::string("Cannot change state of ") + state_name(static_cast<int>(state_)) +
                       " Timeout");
  }
  when_ = when;
  cancel_timer();
  if (!when) return;
  // asyncio uses call_soon() for a deadline already passed; call_at() gives
  // the same next-iteration expiry without reading the clock here.
  timer_ = task_.get_loop().call_at(*when, [this] { on_timeout(); });
}

std::string Timeout::repr() const {
  std::string text = "<Timeout [";
  text += state_name(static_cast<int>(state_));
  text += "]";
  if (state_ == State::entered) {
    if (when_) {
      const double seconds = std::chrono::duration<double>(when_->time_since_epoch()).count();
      char buffer[48];
      std::snprintf(buffer, sizeof buffer, " when=%.3f", seconds);
      text += buffer;
    } else {
      text += " when=None";
    }
  }
  return text + ">";
}

void Timeout::enter() {
  if (state_ != State::created) throw RuntimeError("Timeout has already been entered");
  AnyTask task = current_task();
  if (!task) throw RuntimeError("Timeout should be used inside a task");
  task_ = std::move(task);
  cancelling_ = task_.cancelling();
  state_ = State::entered;
  reschedule(when_);
}

void Timeout::exit(const std::exception_ptr& error) {
  cancel_timer();
  if (state_ == State::expiring) {
    state_ = State::expired;
    // Only a cancellation that nobody else asked for since enter() is ours
    // to turn into TimeoutError (asyncio 3.12+).
    if (task_.uncancel() <= cancelling_ && detail::is_cancelled_error(error)) throw TimeoutError();
  } else if (state_ == State::entered) {
    state_ = State::exited;
  }
}

void Timeout::on_timeout() {
  timer_ = TimerHandle();
  task_.cancel();
  state_ = State::expiring;
}

void Timeout::cancel_timer() noexcept {
  timer_.cancel();
}

}  // namespace aiouv
