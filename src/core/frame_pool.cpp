#include <aiouv/detail/frame_pool.hpp>

#include <mutex>
#include <new>
#include <vector>

namespace aiouv::detail {

#ifdef AIOUV_DISABLE_FRAME_POOL

void* pool_allocate(std::size_t size) { return ::operator new(size); }
void pool_deallocate(void* block, std::size_t) noexcept { ::operator delete(block); }

#else

namespace {

constexpr std::size_t kSlabBytes = 64 * 1024;

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

}  // namespace

thread_local constinit FreeLists frame_pool{};

void* pool_refill(std::size_t index) {
  const std::size_t block = (index + 1) * FreeLists::kGranule;
  const std::size_t count = kSlabBytes / block;
  // Line-aligned, so that 64- and 128-byte blocks (a small frame, a
  // Task<void> state) each touch as few cache lines as they can.
  auto* slab = static_cast<unsigned char*>(::operator new(count * block, std::align_val_t{64}));
  register_slab(slab);
  // Keep block 0 for the caller, thread the rest onto the free list.
  FreeBlock*& head = frame_pool.free[index];
  for (std::size_t i = count; i-- > 1;) {
    auto* b = reinterpret_cast<FreeBlock*>(slab + i * block);
    b->next = head;
    head = b;
  }
  return slab;
}

#endif

}  // namespace aiouv::detail
