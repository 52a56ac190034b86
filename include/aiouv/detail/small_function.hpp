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
      invoke_ = &invoke_inline<D>;
      if constexpr (!std::is_trivially_copyable_v<D>) manage_ = &manage_inline<D>;
    } else {
      D* heap = new D(std::forward<F>(f));
      std::memcpy(storage_, &heap, sizeof heap);
      invoke_ = &invoke_heap<D>;
      manage_ = &manage_heap<D>;
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
    if (manage_) manage_(storage_, nullptr);
    invoke_ = nullptr;
    manage_ = nullptr;
  }

  explicit operator bool() const noexcept { return invoke_ != nullptr; }

  R operator()(Args... args) { return invoke_(storage_, std::forward<Args>(args)...); }

  /// True when a callable of type F is stored without a heap allocation.
  template <class F>
  static constexpr bool fits_inline =
      sizeof(F) <= Capacity && alignof(F) <= alignof(void*) &&
      std::is_nothrow_move_constructible_v<F>;

 private:
  // One function does both jobs so that a trivially copyable callable needs
  // no manager at all: moves are memcpy and destruction is a no-op.
  // manage(self, dst): dst != nullptr moves *self into dst; dst == nullptr destroys.
  using Invoke = R (*)(void*, Args&&...);
  using Manage = void (*)(void*, void*) noexcept;

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

  void take(SmallFunction& other) noexcept {
    if (other.manage_) {
      other.manage_(other.storage_, storage_);
    } else {
      std::memcpy(storage_, other.storage_, Capacity);
    }
    invoke_ = other.invoke_;
    manage_ = other.manage_;
    other.invoke_ = nullptr;
    other.manage_ = nullptr;
  }

  alignas(void*) unsigned char storage_[Capacity]{};
  Invoke invoke_ = nullptr;
  Manage manage_ = nullptr;
};

}  // namespace aiouv::detail

#endif
