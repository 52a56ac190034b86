#ifndef AIOUV_DETAIL_TIMER_QUEUE_HPP_INCLUDED
#define AIOUV_DETAIL_TIMER_QUEUE_HPP_INCLUDED

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <aiouv/detail/ready_queue.hpp>

namespace aiouv::detail {

using Clock = std::chrono::steady_clock;

/// One scheduled call_later/call_at. Nodes live in chunks owned by the
/// TimerQueue and are recycled through a free list, so scheduling a timer
/// does not allocate once the queue has reached its working size.
struct TimerNode {
  enum class State : std::uint8_t { free, scheduled, due };

  Clock::time_point when{};
  std::uint64_t sequence = 0;  // tie-break: equal deadlines run in scheduling order
  Callback callback;
  std::uint32_t heap_index = 0;
  std::uint32_t generation = 0;  // bumped on recycle; stale TimerHandles compare unequal
  State state = State::free;
  TimerNode* next_free = nullptr;
};

/// asyncio's `_scheduled` heap, keyed by (deadline, sequence) as libuv keys
/// its own timers by (timeout, start_id). Cancelled timers leave the heap at
/// once (O(log n)) instead of lingering as in asyncio, so a cancelled timer
/// never keeps a host's uv_run alive.
class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  /// Schedules a callback; the node stays valid until it ran or was cancelled.
  TimerNode* add(Clock::time_point when, Callback&& callback);

  /// Cancels a scheduled or due node. A due node is already in the ready
  /// queue; it only loses its callback and is recycled by run_due().
  void cancel(TimerNode* node) noexcept;

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  Clock::time_point earliest() const noexcept { return heap_.front()->when; }

  /// Pops every node whose deadline is at or before `now`, in order.
  template <class OnDue>
  void pop_due(Clock::time_point now, OnDue&& on_due) {
    while (!heap_.empty() && heap_.front()->when <= now) {
      TimerNode* node = heap_.front();
      remove_at(0);
      node->state = TimerNode::State::due;
      on_due(node);
    }
  }

  /// Runs a due node's callback (if not cancelled meanwhile) and recycles it.
  void run_due(TimerNode* node);

  /// Drops every timer, scheduled or due (EventLoop::close). Clear the ready
  /// queue first: it holds the entries that would run the due nodes.
  void clear() noexcept;

  /// Nodes currently scheduled or due (the leak ledger's count).
  std::size_t live() const noexcept { return live_; }

 private:
  static bool before(const TimerNode* a, const TimerNode* b) noexcept {
    return a->when < b->when || (a->when == b->when && a->sequence < b->sequence);
  }
  TimerNode* allocate();
  void recycle(TimerNode* node) noexcept;
  void remove_at(std::size_t index) noexcept;
  void sift_up(std::size_t index) noexcept;
  void sift_down(std::size_t index) noexcept;
  void place(std::size_t index, TimerNode* node) noexcept {
    heap_[index] = node;
    node->heap_index = static_cast<std::uint32_t>(index);
  }

  std::vector<TimerNode*> heap_;
  std::vector<std::unique_ptr<TimerNode[]>> chunks_;
  TimerNode* free_ = nullptr;
  std::uint64_t next_sequence_ = 0;
  std::size_t live_ = 0;
};

}  // namespace aiouv::detail

#endif
