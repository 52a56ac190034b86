#ifndef AIOUV_DETAIL_FRAME_POOL_HPP_INCLUDED
#define AIOUV_DETAIL_FRAME_POOL_HPP_INCLUDED

#include <cstddef>

namespace aiouv::detail {

/// Per-thread recycling allocator for coroutine frames and future/task
/// states, the objects every create_task makes and frees (asio recycles
/// frames the same way). Blocks come in 16-byte size classes up to 1 KiB,
/// carved from 64 KiB slabs (no per-block malloc header); larger requests go
/// straight to operator new. The pool keeps its peak size.
void* pool_allocate(std::size_t size);
void pool_deallocate(void* block, std::size_t size) noexcept;

/// Mix-in giving a class the pool as its operator new/delete.
struct PoolAllocated {
  static void* operator new(std::size_t size) { return pool_allocate(size); }
  static void operator delete(void* block, std::size_t size) noexcept { pool_deallocate(block, size); }
};

}  // namespace aiouv::detail

#endif
