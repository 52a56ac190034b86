// The per-thread slot where a failed Coro<void> leaves its exception for
// its awaiter (see coro_failure_pending).
#include <aiouv/detail/coro_promise.hpp>

#include <utility>

namespace aiouv::detail {

thread_local constinit bool coro_failure_pending = false;

namespace {
// Apart from the flag: an exception_ptr has a destructor, so every access
// to it goes through a guard, which only the failure paths should pay.
thread_local std::exception_ptr coro_failure;
}  // namespace

void stash_coro_failure(std::exception_ptr error) noexcept {
  coro_failure = std::move(error);
  coro_failure_pending = true;
}

std::exception_ptr take_coro_failure() noexcept {
  coro_failure_pending = false;
  return std::exchange(coro_failure, nullptr);
}

}  // namespace aiouv::detail
