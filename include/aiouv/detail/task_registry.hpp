#ifndef AIOUV_DETAIL_TASK_REGISTRY_HPP_INCLUDED
#define AIOUV_DETAIL_TASK_REGISTRY_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <memory>

namespace aiouv::detail {

class TaskStateBase;

/// A loop's unfinished tasks that have suspended at least once (see
/// TaskStateBase), in the order they joined, for all_tasks() and close().
///
/// A ring of task pointers: the task with sequence number s sits in slot
/// `s & mask_`, and keeps s (4 bytes, where a doubly linked list would cost
/// 16 and a task state would no longer fit one cache line). Removing blanks
/// the slot; the ends of the ring move past blanks, so tasks that end in
/// the order they joined or in reverse never cost a pass over the others.
/// Blanks left in the middle are squeezed out (renumbering the tasks) once
/// they outnumber the tasks, which keeps the ring within twice the tasks;
/// a ring left mostly empty by a burst of tasks is reallocated smaller.
class TaskRegistry {
 public:
  TaskRegistry() noexcept = default;
  TaskRegistry(const TaskRegistry&) = delete;
  TaskRegistry& operator=(const TaskRegistry&) = delete;

  /// Registers a task; returns its sequence number. Throws only bad_alloc.
  std::uint32_t add(TaskStateBase* task) {
    if (end_ - begin_ == capacity_) [[unlikely]] grow();
    slots_[end_ & mask_] = task;
    ++live_;
    return end_++;
  }

  /// Unregisters the task with sequence number `seq`.
  void remove(std::uint32_t seq) noexcept {
    slots_[seq & mask_] = nullptr;
    --live_;
    // Inline: the oldest or newest task ending, with a task next to it.
    if (seq == begin_) {
      ++begin_;
      if (begin_ != end_ && !slots_[begin_ & mask_]) [[unlikely]] skip_blanks_at_begin();
    } else if (seq + 1 == end_) {
      --end_;  // seq > begin_, so end_ - 1 still names a slot
      if (!slots_[(end_ - 1) & mask_]) [[unlikely]] skip_blanks_at_end();
    } else if (end_ - begin_ > 2 * live_ + kSlack) [[unlikely]] {
      compact();
    }
    // After a burst: a ring four times wider than its span gives half back.
    if (capacity_ > kKeepCapacity && std::uint64_t{end_ - begin_} * 4 < capacity_) [[unlikely]] shrink();
  }

  /// A ring this small (32 KiB) is never shrunk.
  static constexpr std::uint32_t kKeepCapacity = 4096;
  /// Slots in the ring: at least the span from the oldest task to the
  /// newest, at most four times it (or kKeepCapacity).
  std::uint32_t capacity() const noexcept { return capacity_; }

  /// The oldest registered task, or null.
  TaskStateBase* first() const noexcept { return begin_ == end_ ? nullptr : slots_[begin_ & mask_]; }
  std::size_t size() const noexcept { return live_; }

  /// Calls f(TaskStateBase*) for each task, oldest first. f must not add or
  /// remove tasks.
  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t seq = begin_; seq != end_; ++seq) {
      if (TaskStateBase* task = slots_[seq & mask_]) f(task);
    }
  }

 private:
  // Blanks tolerated beyond the tasks before a squeeze: a handful of
  // long-lived tasks among short ones must not squeeze on every removal.
  static constexpr std::uint32_t kSlack = 64;

  void grow();
  void shrink() noexcept;
  /// Moves every task into `slots`, a ring of `capacity` (a power of two
  /// no smaller than the span), and makes it the registry's.
  void move_to(std::unique_ptr<TaskStateBase*[]> slots, std::uint32_t capacity) noexcept;
  void compact() noexcept;
  void skip_blanks_at_begin() noexcept;
  void skip_blanks_at_end() noexcept;

  std::unique_ptr<TaskStateBase*[]> slots_;
  std::uint32_t capacity_ = 0;  // a power of two, or 0
  std::uint32_t mask_ = 0;
  std::uint32_t begin_ = 0;  // sequence number of the oldest slot in use
  std::uint32_t end_ = 0;    // the next sequence number
  std::uint32_t live_ = 0;
};

}  // namespace aiouv::detail

#endif
