#ifndef AIOUV_SRC_UV_BUFFER_HPP_INCLUDED
#define AIOUV_SRC_UV_BUFFER_HPP_INCLUDED

// A uv_buf_t built in place. uv_buf_init is an exported libuv function, so
// each call on a read or write path is a call through the PLT that does two
// stores (about 9 instructions a message in the echo benchmark). The field
// names are the same everywhere; only their order and the length's type
// differ (Windows: ULONG len first), which the cast below follows.

#include <cstddef>

#include <uv.h>

namespace aiouv::detail {

/// uv_buf_init(base, length) without the call. `length` must fit the
/// platform's len field (callers split larger writes).
inline uv_buf_t make_uv_buf(char* base, std::size_t length) noexcept {
  uv_buf_t buffer;
  buffer.base = base;
  buffer.len = static_cast<decltype(buffer.len)>(length);
  return buffer;
}

}  // namespace aiouv::detail

#endif
