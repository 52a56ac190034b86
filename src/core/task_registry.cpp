// The slow paths of the loop's task registry.
#include <aiouv/detail/task_registry.hpp>
#include <aiouv/events.hpp>

#include <new>

namespace aiouv::detail {

void TaskRegistry::grow() {
  constexpr std::uint32_t kFirstCapacity = 64;
  constexpr std::uint32_t kMaxCapacity = std::uint32_t{1} << 31;  // sequence numbers are 32 bits
  if (capacity_ == kMaxCapacity) throw std::bad_alloc();
  const std::uint32_t capacity = capacity_ ? capacity_ * 2 : kFirstCapacity;
  move_to(std::make_unique<TaskStateBase*[]>(capacity), capacity);
}

void TaskRegistry::shrink() noexcept {
  // Twice the span, so that the next few additions do not grow it again.
  // (remove() calls this only for a span under a quarter of the ring, so
  // doubling it cannot overflow.)
  std::uint32_t capacity = kKeepCapacity;
  while (capacity < (end_ - begin_) * 2) capacity *= 2;
  std::unique_ptr<TaskStateBase*[]> slots(new (std::nothrow) TaskStateBase*[capacity]());
  if (slots) move_to(std::move(slots), capacity);  // else the wide ring stays, which is fine
}

void TaskRegistry::move_to(std::unique_ptr<TaskStateBase*[]> slots, std::uint32_t capacity) noexcept {
  // Sequence numbers stay: each task moves to its slot in the new ring.
  const std::uint32_t mask = capacity - 1;
  for (std::uint32_t seq = begin_; seq != end_; ++seq) slots[seq & mask] = slots_[seq & mask_];
  slots_ = std::move(slots);
  capacity_ = capacity;
  mask_ = mask;
}

void TaskRegistry::skip_blanks_at_begin() noexcept {
  while (begin_ != end_ && !slots_[begin_ & mask_]) ++begin_;
}

void TaskRegistry::skip_blanks_at_end() noexcept {
  // begin_ holds a task, so this stops there at the latest.
  while (!slots_[(end_ - 1) & mask_]) --end_;
}

void TaskRegistry::compact() noexcept {
  std::uint32_t kept = begin_;
  for (std::uint32_t seq = begin_; seq != end_; ++seq) {
    TaskStateBase* task = slots_[seq & mask_];
    if (!task) continue;
    if (seq != kept) {
      slots_[kept & mask_] = task;
      slots_[seq & mask_] = nullptr;
      task->registry_seq = kept;
    }
    ++kept;
  }
  end_ = kept;
}

}  // namespace aiouv::detail
