#ifndef AIOUV_SRC_NET_WATER_MARKS_HPP_INCLUDED
#define AIOUV_SRC_NET_WATER_MARKS_HPP_INCLUDED

// The write-buffer water marks of every transport that buffers writes (the
// stream transport, the TLS layer), with asyncio's defaults and its check.

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace aiouv::detail {

/// Pause the protocol's writing above `high` buffered bytes, resume it at
/// `low` or below.
struct WaterMarks {
  std::size_t high = 64 * 1024;
  std::size_t low = 16 * 1024;
};

/// asyncio's set_write_buffer_limits(high, low): `high` defaults to 4 x low,
/// or 64 KiB without either; `low` to high / 4. std::invalid_argument
/// (asyncio's ValueError message) if high < low.
inline WaterMarks write_water_marks(std::optional<std::size_t> high, std::optional<std::size_t> low) {
  WaterMarks marks;
  marks.high = high ? *high : (low ? 4 * *low : WaterMarks{}.high);
  marks.low = low ? *low : marks.high / 4;
  if (marks.high < marks.low) {
    throw std::invalid_argument("high (" + std::to_string(marks.high) + ") must be >= low (" +
                                std::to_string(marks.low) + ") must be >= 0");
  }
  return marks;
}

}  // namespace aiouv::detail

#endif
