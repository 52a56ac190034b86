#ifndef AIOUV_QUEUES_HPP_INCLUDED
#define AIOUV_QUEUES_HPP_INCLUDED

/// \file
/// asyncio's queues (3.13 semantics, shutdown included): Queue (FIFO),
/// LifoQueue, PriorityQueue. Items may be move-only. For tasks of one loop.

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <vector>

#include <aiouv/exceptions.hpp>
#include <aiouv/locks.hpp>

namespace aiouv {

namespace detail {

/// FIFO storage.
template <class T>
struct FifoStore {
  std::deque<T> items;
  void push(T item) { items.push_back(std::move(item)); }
  T pop() {
    T item = std::move(items.front());
    items.pop_front();
    return item;
  }
  std::size_t size() const noexcept { return items.size(); }
};

/// LIFO storage.
template <class T>
struct LifoStore {
  std::vector<T> items;
  void push(T item) { items.push_back(std::move(item)); }
  T pop() {
    T item = std::move(items.back());
    items.pop_back();
    return item;
  }
  std::size_t size() const noexcept { return items.size(); }
};

/// Heap storage: pop() gives the smallest item by Compare, as heapq does.
/// (A std::priority_queue cannot move its top out, so move-only items would
/// not work.)
template <class T, class Compare>
struct HeapStore {
  std::vector<T> items;
  Compare compare;
  // std heaps keep the largest first; invert to keep the smallest first.
  bool inverted(const T& a, const T& b) const { return compare(b, a); }
  void push(T item) {
    items.push_back(std::move(item));
    std::push_heap(items.begin(), items.end(), [this](const T& a, const T& b) { return inverted(a, b); });
  }
  T pop() {
    std::pop_heap(items.begin(), items.end(), [this](const T& a, const T& b) { return inverted(a, b); });
    T item = std::move(items.back());
    items.pop_back();
    return item;
  }
  std::size_t size() const noexcept { return items.size(); }
};

/// asyncio.Queue's logic over any storage.
template <class T, class Store>
class BasicQueue {
 public:
  /// `maxsize` <= 0 means unbounded.
  explicit BasicQueue(long maxsize = 0) : maxsize_(maxsize) { finished_.set(); }
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  /// Number of items queued.
  std::size_t qsize() const noexcept { return store_.size(); }
  /// The bound given at construction (<= 0: unbounded).
  long maxsize() const noexcept { return maxsize_; }
  /// True with no items queued.
  bool empty() const noexcept { return store_.size() == 0; }
  /// True when bounded and at the bound.
  bool full() const noexcept { return maxsize_ > 0 && qsize() >= static_cast<std::size_t>(maxsize_); }

  /// Puts an item, waiting (FIFO) while the queue is full. QueueShutDown
  /// after shutdown().
  Coro<void> put(T item) {
    while (full()) {
      if (shutdown_) throw QueueShutDown();
      Future<void> putter = putters_.enqueue("asyncio.queues.Queue");
      try {
        co_await putter;
      } catch (...) {
        putter.cancel();
        putters_.remove(putter);
        // Woken by a get but cancelled: pass the wake-up on.
        if (!full() && !putter.cancelled()) putters_.wake_next();
        throw;
      }
    }
    put_nowait(std::move(item));
  }

  /// Puts an item now: QueueFull if full, QueueShutDown after shutdown().
  void put_nowait(T item) {
    if (shutdown_) throw QueueShutDown();
    if (full()) throw QueueFull();
    store_.push(std::move(item));
    ++unfinished_;
    finished_.clear();
    getters_.wake_next();
  }

  /// Removes and returns an item, waiting (FIFO) while the queue is empty.
  /// QueueShutDown once shut down and empty (at once if immediate).
  Coro<T> get() {
    while (empty()) {
      if (shutdown_) throw QueueShutDown();
      Future<void> getter = getters_.enqueue("asyncio.queues.Queue");
      try {
        co_await getter;
      } catch (...) {
        getter.cancel();
        getters_.remove(getter);
        // Woken by a put but cancelled: the item goes to the next getter.
        if (!empty() && !getter.cancelled()) getters_.wake_next();
        throw;
      }
    }
    co_return get_nowait();
  }

  /// Removes and returns an item now: QueueEmpty if empty (QueueShutDown if
  /// also shut down).
  T get_nowait() {
    if (empty()) {
      if (shutdown_) throw QueueShutDown();
      throw QueueEmpty();
    }
    T item = store_.pop();
    putters_.wake_next();
    return item;
  }

  /// Marks one item taken by get() as processed (for join()).
  /// std::invalid_argument("task_done() called too many times").
  void task_done() {
    if (unfinished_ == 0) throw std::invalid_argument("task_done() called too many times");
    if (--unfinished_ == 0) finished_.set();
  }

  /// Waits until every item put has been marked task_done().
  Coro<void> join() {
    if (unfinished_ > 0) co_await finished_.wait();
  }

  /// Shuts the queue down: put() fails with QueueShutDown; get() drains
  /// what is left, then fails. `immediate` drops the items at once (and
  /// counts them done for join()). Every blocked put() and get() wakes.
  void shutdown(bool immediate = false) {
    shutdown_ = true;
    if (immediate) {
      while (!empty()) {
        (void)store_.pop();
        if (unfinished_ > 0) --unfinished_;
      }
      if (unfinished_ == 0) finished_.set();
    }
    getters_.wake_all();
    putters_.wake_all();
  }

 private:
  Store store_;
  long maxsize_;
  std::size_t unfinished_ = 0;
  bool shutdown_ = false;
  Event finished_;
  WaiterQueue getters_;
  WaiterQueue putters_;
};

}  // namespace detail

/// asyncio.Queue: FIFO.
template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStore<T>> {
 public:
  using detail::BasicQueue<T, detail::FifoStore<T>>::BasicQueue;
};

/// asyncio.LifoQueue: last in, first out.
template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoStore<T>> {
 public:
  using detail::BasicQueue<T, detail::LifoStore<T>>::BasicQueue;
};

/// asyncio.PriorityQueue: get() returns the smallest item by `Compare`.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::HeapStore<T, Compare>> {
 public:
  using detail::BasicQueue<T, detail::HeapStore<T, Compare>>::BasicQueue;
};

}  // namespace aiouv

#endif
