#include <aiouv/detail/frame_pool.hpp>

#include <array>
#include <mutex>
#include <new>
#include <vector>

namespace aiouv::detail {
namespace {

#ifndef AIOUV_DISABLE_FRAME_POOL

constexpr std::size_t kGranule = 16;
constexpr std::size_t kClasses = 64;  // blocks up to 1 KiB
constexpr std::size_t kSlabBytes = 64 * 1024;

std::size_t class_of(std::size_t size) noexcept { return (size + kGranule - 1) / kGranule - 1; }

struct FreeBlock {
  FreeBlock* next;
};

// Slabs are shared by all threads and never returned: a block allocated on
// one thread may be freed on another (a loop destroyed elsewhere), so no
// thread may take its slabs with it when it exits. They stay reachable from
// here, so leak checkers do not report them. The cost is that the pool
// keeps its peak size.
void register_slab(void* slab) {
  static std::mutex mutex;
  static auto* slabs = new std::vector<void*>();
  std::lock_guard lock(mutex);
  slabs->push_back(slab);
}

/// Per-thread free lists, one per size class.
struct Pool {
  std::array<FreeBlock*, kClasses> free{};

  void* refill(std::size_t index) {
    const std::size_t block = (index + 1) * kGranule;
    const std::size_t count = kSlabBytes / block;
    auto* slab = static_cast<unsigned char*>(::operator new(count * block));
    register_slab(slab);
    // Keep block 0 for the caller, thread the rest onto the free list.
    for (std::size_t i = count; i-- > 1;) {
      auto* b = reinterpret_cast<FreeBlock*>(slab + i * block);
      b->next = free[index];
      free[index] = b;
    }
    return slab;
  }
};

thread_local Pool pool;

#endif

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
  if (FreeBlock* block = pool.free[index]) {
    pool.free[index] = block->next;
    return block;
  }
  return pool.refill(index);
}

void pool_deallocate(void* block, std::size_t size) noexcept {
  const std::size_t index = class_of(size);
  if (index >= kClasses) {
    ::operator delete(block);
    return;
  }
  auto* free_block = static_cast<FreeBlock*>(block);
  free_block->next = pool.free[index];
  pool.free[index] = free_block;
}
#endif

}  // namespace aiouv::detail
