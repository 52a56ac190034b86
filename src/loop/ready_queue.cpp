#include <aiouv/detail/ready_queue.hpp>

namespace aiouv::detail {

// Out of line: growth is rare, and keeping it out of push() keeps every
// call_soon small enough to inline.
void ReadyQueue::reallocate(std::size_t new_capacity) {
  auto fresh = std::make_unique<Callback[]>(new_capacity);
  const std::size_t new_mask = new_capacity - 1;
  for (std::uint64_t t = head_; t != tail_; ++t) fresh[t & new_mask] = std::move(slots_[t & mask_]);
  // The running callback (already popped) may live in the old ring.
  if (slots_) retired_.push_back(std::move(slots_));
  slots_ = std::move(fresh);
  mask_ = new_mask;
}

void ReadyQueue::shrink() noexcept {
  std::size_t target = kShrinkAbove;
  while (target < size() * 2) target *= 2;
  try {
    reallocate(target);
    retired_.clear();
  } catch (...) {
    // Keeping the big ring is fine.
  }
}

}  // namespace aiouv::detail
