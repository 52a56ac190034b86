#ifndef AIOUV_DETAIL_SMALL_FUNCTION_HPP_INCLUDED
#define AIOUV_DETAIL_SMALL_FUNCTION_HPP_INCLUDED

#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace aiouv::detail {

template <class Signature, std::size_t Capacity = 3 * sizeof(void*)>
class SmallFunction;

/// A move-only `std::function` that stores callables of up to `Capacity`
/// bytes inline, so scheduling a typical callback (a lambda capturing up to
/// three pointers) never touches the heap. Larger callables fall back to one
/// heap allocation.
///
/// Layout: the inline buffer plus one pointer to a per-type table, 32 bytes
/// in all, so a ring of queued callbacks stays small enough for L1.
template <class R, class... Args, std::size_t Capacity>
class SmallFunction<R(Args...), Capacity> {
 public:
  SmallFunction() noexcept = default;
  SmallFunction(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, SmallFunction> &&
                                     std::is_invocable_r_v<R, D&, Args...>>>
  SmallFunction(F&& f) {  // NOLINT(google-explicit-constructor)
    emplace(std::forward<F>(f));
  }

  /// Stores `f` in this function, which must be empty: the queues build
  /// callables in place instead of moving a temporary in.
  template <class F, class D = std::decay_t<F>>
  void emplace(F&& f) {
    if constexpr (std::is_same_v<D, SmallFunction>) {
      take(f);
    } else if constexpr (fits_inline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
      ops_ = &inline_ops<D>;
    } else {
      D* heap = new D(std::forward<F>(f));
      std::memcpy(storage_, &heap, sizeof heap);
      ops_ = &heap_ops<D>;
    }
  }

  SmallFunction(SmallFunction&& other) noexcept { take(other); }
  SmallFunction& operator=(SmallFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  SmallFunction(const SmallFunction&) = delete;
  SmallFunction& operator=(const SmallFunction&) = delete;
  ~SmallFunction() { reset(); }

  /// Destroys the stored callable now, releasing whatever it captured.
  void reset() noexcept {
    if (ops_) {
      if (ops_->manage) ops_->manage(storage_, nullptr);
      ops_ = nullptr;
    }
  }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  R operator()(Args... args) { return ops_->invoke(storage_, std::forward<Args>(args)...); }

  /// The stored callable if it is a D kept inline, else null (as
  /// std::function::target, for the few callables the loop looks into).
  template <class D>
  const D* target() const noexcept {
    if constexpr (fits_inline<D>) {
      if (ops_ == &inline_ops<D>) return std::launder(reinterpret_cast<const D*>(storage_));
    }
    return nullptr;
  }

  /// True when a callable of type F is stored without a heap allocation.
  template <class F>
  static constexpr bool fits_inline =
      sizeof(F) <= Capacity && alignof(F) <= alignof(void*) &&
      std::is_nothrow_move_constructible_v<F>;

 private:
  // manage(self, dst): dst != nullptr moves *self into dst (leaving *self
  // destroyed); dst == nullptr destroys. Null for trivially copyable
  // callables: moves are memcpy and destruction is a no-op.
  struct Ops {
    R (*invoke)(void*, Args&&...);
    void (*manage)(void*, void*) noexcept;
  };

  template <class D>
  static R invoke_inline(void* s, Args&&... args) {
    return (*std::launder(static_cast<D*>(s)))(std::forward<Args>(args)...);
  }
  template <class D>
  static void manage_inline(void* s, void* dst) noexcept {
    D* self = std::launder(static_cast<D*>(s));
    if (dst) ::new (dst) D(std::move(*self));
    self->~D();
  }
  template <class D>
  static D* heap_ptr(void* s) noexcept {
    D* p;
    std::memcpy(&p, s, sizeof p);
    return p;
  }
  template <class D>
  static R invoke_heap(void* s, Args&&... args) {
    return (*heap_ptr<D>(s))(std::forward<Args>(args)...);
  }
  template <class D>
  static void manage_heap(void* s, void* dst) noexcept {
    if (dst) {
      std::memcpy(dst, s, sizeof(D*));
    } else {
      delete heap_ptr<D>(s);
    }
  }

  template <class D>
  static constexpr Ops inline_ops{&invoke_inline<D>,
                                  std::is_trivially_copyable_v<D> ? nullptr : &manage_inline<D>};
  template <class D>
  static constexpr Ops heap_ops{&invoke_heap<D>, &manage_heap<D>};

  void take(SmallFunction& other) noexcept {
    if (other.ops_ && other.ops_->manage) {
      other.ops_->manage(other.storage_, storage_);
    } else {
      std::memcpy(storage_, other.storage_, Capacity);
    }
    ops_ = std::exchange(other.ops_, nullptr);
  }

  alignas(void*) unsigned char storage_[Capacity]{};
  const Ops* ops_ = nullptr;
};

}  // namespace aiouv::detail

#endif
