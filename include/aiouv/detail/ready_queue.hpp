#ifndef AIOUV_DETAIL_READY_QUEUE_HPP_INCLUDED
#define AIOUV_DETAIL_READY_QUEUE_HPP_INCLUDED

#include <cstdint>
#include <memory>
#include <vector>

#include <aiouv/detail/small_function.hpp>

namespace aiouv::detail {

using Callback = SmallFunction<void()>;

/// asyncio's `_ready` deque: a FIFO ring of callbacks stored inline (no
/// allocation per callback once the ring has grown to its working size).
///
/// Every entry gets a ticket, its absolute position in the stream of pushes.
/// The entry with ticket t lives in slot `t & mask_`, so a Handle can find and
/// cancel its callback in O(1) for as long as `head_ <= t < tail_`; once the
/// callback ran, the ticket is simply out of range.
class ReadyQueue {
 public:
  ReadyQueue() { reallocate(256); }
  ReadyQueue(const ReadyQueue&) = delete;
  ReadyQueue& operator=(const ReadyQueue&) = delete;

  /// Appends a callable (built in its slot) and returns its ticket.
  template <class F>
  std::uint64_t push(F&& callable) {
    // One slot stays free: the callback running right now was popped but
    // still lives in the slot just before head_, and must not be overwritten.
    if (tail_ - head_ == capacity() - 1) [[unlikely]] reallocate(capacity() * 2);
    slots_[tail_ & mask_].emplace(std::forward<F>(callable));
    return tail_++;
  }

  /// Removes the front callback and returns it by reference. The reference
  /// stays valid until `release_retired()`, even if pushes made by the
  /// callback itself grow the ring meanwhile.
  Callback& pop_front() noexcept { return slots_[head_++ & mask_]; }

  /// Destroys the callback of a ticket still queued; it will be skipped.
  void cancel(std::uint64_t ticket) noexcept {
    if (ticket >= head_ && ticket < tail_) slots_[ticket & mask_].reset();
  }

  bool empty() const noexcept { return head_ == tail_; }
  std::size_t size() const noexcept { return static_cast<std::size_t>(tail_ - head_); }
  std::uint64_t head_ticket() const noexcept { return head_; }
  std::uint64_t tail_ticket() const noexcept { return tail_; }

  /// Frees rings replaced while callbacks from them were still running,
  /// and gives back most of a ring that a burst left mostly empty. Call
  /// between drains, when no callback is running.
  void release_retired() noexcept {
    retired_.clear();
    if (capacity() > kShrinkAbove && size() * 4 < capacity()) [[unlikely]] shrink();
  }

  /// Calls f(const Callback&) for each queued callback, oldest first
  /// (cancelled ones included, as empty callbacks). f must not push.
  template <class F>
  void for_each(F&& f) const {
    for (std::uint64_t ticket = head_; ticket != tail_; ++ticket) f(slots_[ticket & mask_]);
  }

  /// Drops every queued callback (EventLoop::close).
  void clear() noexcept {
    while (head_ != tail_) slots_[head_++ & mask_].reset();
  }

 private:
  static constexpr std::size_t kShrinkAbove = 4096;
  std::size_t capacity() const noexcept { return mask_ + 1; }
  void reallocate(std::size_t new_capacity);
  void shrink() noexcept;

  std::unique_ptr<Callback[]> slots_;
  std::size_t mask_ = 0;
  std::uint64_t head_ = 0;
  std::uint64_t tail_ = 0;
  std::vector<std::unique_ptr<Callback[]>> retired_;
};

}  // namespace aiouv::detail

#endif
