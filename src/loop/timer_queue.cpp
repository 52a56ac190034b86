#include <aiouv/detail/timer_queue.hpp>

namespace aiouv::detail {
namespace {
constexpr std::size_t kChunkNodes = 256;
}

TimerNode* TimerQueue::allocate() {
  if (!free_) {
    chunks_.push_back(std::make_unique<TimerNode[]>(kChunkNodes));
    TimerNode* chunk = chunks_.back().get();
    for (std::size_t i = kChunkNodes; i-- > 0;) {
      chunk[i].next_free = free_;
      free_ = &chunk[i];
    }
  }
  TimerNode* node = free_;
  free_ = node->next_free;
  ++live_;
  return node;
}

void TimerQueue::recycle(TimerNode* node) noexcept {
  node->callback.reset();
  node->state = TimerNode::State::free;
  ++node->generation;
  node->next_free = free_;
  free_ = node;
  --live_;
}

TimerNode* TimerQueue::add(Clock::time_point when, Callback&& callback) {
  // The only step that can throw, done before anything changes; geometric,
  // as push_back would grow.
  if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.empty() ? 64 : heap_.capacity() * 2);
  TimerNode* node = allocate();
  node->when = when;
  node->sequence = next_sequence_++;
  node->callback = std::move(callback);
  node->state = TimerNode::State::scheduled;
  heap_.push_back(node);
  node->heap_index = static_cast<std::uint32_t>(heap_.size() - 1);
  sift_up(heap_.size() - 1);
  return node;
}

void TimerQueue::cancel(TimerNode* node) noexcept {
  if (node->state == TimerNode::State::scheduled) {
    remove_at(node->heap_index);
    recycle(node);
  } else if (node->state == TimerNode::State::due) {
    node->callback.reset();
  }
}

void TimerQueue::run_due(TimerNode* node) {
  struct Recycle {
    TimerQueue* queue;
    TimerNode* node;
    ~Recycle() { queue->recycle(node); }
  } recycle_after{this, node};
  if (node->callback) node->callback();
}

void TimerQueue::clear() noexcept {
  while (!heap_.empty()) {
    TimerNode* node = heap_.back();
    heap_.pop_back();
    recycle(node);
  }
  // Due nodes were waiting in the ready queue, which the caller cleared first.
  for (auto& chunk : chunks_) {
    for (std::size_t i = 0; i < kChunkNodes; ++i) {
      if (chunk[i].state == TimerNode::State::due) recycle(&chunk[i]);
    }
  }
}

void TimerQueue::remove_at(std::size_t index) noexcept {
  TimerNode* last = heap_.back();
  heap_.pop_back();
  if (index == heap_.size()) return;
  place(index, last);
  if (index > 0 && before(last, heap_[(index - 1) / 2])) {
    sift_up(index);
  } else {
    sift_down(index);
  }
}

void TimerQueue::sift_up(std::size_t index) noexcept {
  TimerNode* node = heap_[index];
  while (index > 0) {
    std::size_t parent = (index - 1) / 2;
    if (!before(node, heap_[parent])) break;
    place(index, heap_[parent]);
    index = parent;
  }
  place(index, node);
}

void TimerQueue::sift_down(std::size_t index) noexcept {
  TimerNode* node = heap_[index];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * index + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], node)) break;
    place(index, heap_[child]);
    index = child;
  }
  place(index, node);
}

}  // namespace aiouv::detail
