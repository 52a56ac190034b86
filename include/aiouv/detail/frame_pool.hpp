#ifndef AIOUV_DETAIL_FRAME_POOL_HPP_INCLUDED
#define AIOUV_DETAIL_FRAME_POOL_HPP_INCLUDED

#include <cstddef>
#include <new>

namespace aiouv::detail {

/// Per-thread recycling allocator for coroutine frames and future/task
/// states, the objects every create_task makes and frees (asio recycles
/// frames the same way). Blocks come in 16-byte size classes up to 1 KiB,
/// carved from 64 KiB slabs (no per-block malloc header); larger requests go
/// straight to operator new. The pool keeps its peak size.
///
/// The fast paths are inline: a task makes and frees two blocks, and a call
/// into the library for each cost more than the free-list pop itself.
#ifdef AIOUV_DISABLE_FRAME_POOL
// Sanitizer builds: every block goes back to the system, so that ASan sees
// use-after-free of frames and states instead of a recycled block. (A
// consumer built the other way fails to link: it needs `frame_pool`.)
void* pool_allocate(std::size_t size);
void pool_deallocate(void* block, std::size_t size) noexcept;
#else
struct FreeBlock {
  FreeBlock* next;
};

/// The calling thread's free lists, one per size class.
struct FreeLists {
  static constexpr std::size_t kGranule = 16;
  static constexpr std::size_t kClasses = 64;  // blocks up to 1 KiB
  static constexpr std::size_t class_of(std::size_t size) noexcept { return (size + kGranule - 1) / kGranule - 1; }

  FreeBlock* free[kClasses];
};
extern thread_local constinit FreeLists frame_pool;

/// Slow path: carves a new slab for size class `index`, returns one block.
void* pool_refill(std::size_t index);

inline void* pool_allocate(std::size_t size) {
  const std::size_t index = FreeLists::class_of(size);
  if (index >= FreeLists::kClasses) [[unlikely]] return ::operator new(size);
  FreeLists& pool = frame_pool;
  FreeBlock* block = pool.free[index];
  if (!block) [[unlikely]] return pool_refill(index);
  FreeBlock* const next = block->next;
  // No prefetch of `next`: with a task in 128 bytes it no longer paid for
  // its three instructions (measured with 1000 and 4000 tasks in flight).
  pool.free[index] = next;
  return block;
}

inline void pool_deallocate(void* block, std::size_t size) noexcept {
  const std::size_t index = FreeLists::class_of(size);
  if (index >= FreeLists::kClasses) [[unlikely]] {
    ::operator delete(block);
    return;
  }
  FreeLists& pool = frame_pool;
  auto* free_block = static_cast<FreeBlock*>(block);
  free_block->next = pool.free[index];
  pool.free[index] = free_block;
}
#endif

/// Mix-in giving a class the pool as its operator new/delete.
///
/// Pool blocks are only guaranteed 16-byte alignment, so an over-aligned
/// class (the state of a Future whose value is `alignas(128)`) gets the
/// aligned global forms instead: the new-expression picks them by the
/// type's alignment.
struct PoolAllocated {
  static void* operator new(std::size_t size) { return pool_allocate(size); }
  static void operator delete(void* block, std::size_t size) noexcept { pool_deallocate(block, size); }
  static void* operator new(std::size_t size, std::align_val_t align) { return ::operator new(size, align); }
  // The unsized global form: clang declares the sized ones only with
  // -fsized-deallocation.
  static void operator delete(void* block, std::size_t, std::align_val_t align) noexcept {
    ::operator delete(block, align);
  }

  /// Frees the storage of an object of type T made by `new T` whose
  /// lifetime the caller has ended without its destructor, the way a
  /// delete-expression would.
  template <class T>
  static void free_storage(T* object) noexcept {
    if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      operator delete(object, sizeof(T), std::align_val_t{alignof(T)});
    } else {
      operator delete(object, sizeof(T));
    }
  }
};

}  // namespace aiouv::detail

#endif
