#include <aiouv/detail/frame_pool.hpp>

#include <array>
#include <new>

namespace aiouv::detail {
namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kClasses = 64;            // up to 1 KiB
constexpr std::size_t kMaxCachedPerClass = 16384;  // bounds memory kept after a burst

struct FreeBlock {
  FreeBlock* next;
};

struct Pool {
  struct List {
    FreeBlock* head = nullptr;
    std::size_t count = 0;
  };
  std::array<List, kClasses> lists{};

  ~Pool() {
    for (List& list : lists) {
      while (list.head) {
        FreeBlock* block = list.head;
        list.head = block->next;
        ::operator delete(block);
      }
    }
  }
};

#ifndef AIOUV_DISABLE_FRAME_POOL
thread_local Pool pool;
#endif

[[maybe_unused]] std::size_t class_of(std::size_t size) noexcept { return (size + kGranule - 1) / kGranule - 1; }

}  // namespace

#ifdef AIOUV_DISABLE_FRAME_POOL
// Sanitizer builds: every block goes back to the system so that ASan sees
// use-after-free of frames and states instead of a recycled block.
void* pool_allocate(std::size_t size) { return ::operator new(size); }
void pool_deallocate(void* block, std::size_t) noexcept { ::operator delete(block); }
#else
void* pool_allocate(std::size_t size) {
  const std::size_t index = class_of(size);
  if (index >= kClasses) return ::operator new(size);
  Pool::List& list = pool.lists[index];
  if (FreeBlock* block = list.head) {
    list.head = block->next;
    --list.count;
    return block;
  }
  return ::operator new((index + 1) * kGranule);
}

void pool_deallocate(void* block, std::size_t size) noexcept {
  const std::size_t index = class_of(size);
  Pool::List& list = index < kClasses ? pool.lists[index] : pool.lists[0];
  if (index >= kClasses || list.count >= kMaxCachedPerClass) {
    ::operator delete(block);
    return;
  }
  auto* free_block = static_cast<FreeBlock*>(block);
  free_block->next = list.head;
  list.head = free_block;
  ++list.count;
}
#endif

}  // namespace aiouv::detail
