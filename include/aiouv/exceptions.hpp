#ifndef AIOUV_EXCEPTIONS_HPP_INCLUDED
#define AIOUV_EXCEPTIONS_HPP_INCLUDED

/// \file
/// The exception types of asyncio's `exceptions` module, plus the bridge from
/// libuv error codes to `std::system_error`.

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace aiouv {

/// Thrown into a coroutine whose task or awaited future was cancelled.
///
/// Deliberately not derived from `std::exception`: asyncio made
/// CancelledError a BaseException so that `except Exception` does not swallow
/// cancellation, and `catch (const std::exception&)` must not either.
class CancelledError {
 public:
  CancelledError() = default;
  explicit CancelledError(std::string message) : message_(std::move(message)) {}
  /// The message given to `cancel(msg)`, empty if none.
  const std::string& message() const noexcept { return message_; }
  /// Same as message(), for symmetry with std::exception.
  const char* what() const noexcept { return message_.c_str(); }

 private:
  std::string message_;
};

/// Python's KeyboardInterrupt: what run() and Runner::run() throw when
/// SIGINT interrupted the main task (the first SIGINT cancels it; a second
/// stops the loop at once). Not a std::exception, like CancelledError.
class KeyboardInterrupt {
 public:
  const char* what() const noexcept { return "KeyboardInterrupt"; }
};

/// asyncio's RuntimeError: misuse of the loop, futures or tasks.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The operation is not allowed in the object's current state
/// (e.g. `result()` of a pending future, `set_result` on a done one).
class InvalidStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// An operation exceeded its deadline (`wait_for`, `timeout`).
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("timed out") {}
  using std::runtime_error::runtime_error;
};

/// `readexactly()` hit EOF before reading the requested number of bytes.
class IncompleteReadError : public std::runtime_error {
 public:
  IncompleteReadError(std::string partial, std::ptrdiff_t expected)
      : std::runtime_error(std::to_string(partial.size()) + " bytes read on a total of " +
                           (expected < 0 ? std::string("undefined") : std::to_string(expected)) +
                           " expected bytes"),
        partial_(std::move(partial)),
        expected_(expected) {}
  /// The bytes read before EOF.
  const std::string& partial() const noexcept { return partial_; }
  /// The number of bytes asked for; negative when unbounded.
  std::ptrdiff_t expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::ptrdiff_t expected_;
};

/// A stream read found no separator within the buffer limit.
class LimitOverrunError : public std::runtime_error {
 public:
  LimitOverrunError(const std::string& message, std::size_t consumed)
      : std::runtime_error(message), consumed_(consumed) {}
  /// How many bytes must be consumed to get past the overrun.
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

/// `Queue::get_nowait()` on an empty queue.
class QueueEmpty : public std::runtime_error {
 public:
  QueueEmpty() : std::runtime_error("queue is empty") {}
};

/// `Queue::put_nowait()` on a full queue.
class QueueFull : public std::runtime_error {
 public:
  QueueFull() : std::runtime_error("queue is full") {}
};

/// put/get on a queue after `shutdown()`.
class QueueShutDown : public std::runtime_error {
 public:
  QueueShutDown() : std::runtime_error("queue is shut down") {}
};

/// A `Barrier` was reset or aborted while a task waited on it.
class BrokenBarrierError : public std::runtime_error {
 public:
  BrokenBarrierError() : std::runtime_error("barrier is broken") {}
  explicit BrokenBarrierError(const std::string& message) : std::runtime_error(message) {}
};

/// `sendfile` is not possible for this transport or file and fallback is off.
class SendfileNotAvailableError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

/// Several exceptions surfacing together (TaskGroup failures), as Python's
/// ExceptionGroup.
class ExceptionGroup : public std::runtime_error {
 public:
  ExceptionGroup(const std::string& message, std::vector<std::exception_ptr> exceptions)
      : std::runtime_error(message + " (" + std::to_string(exceptions.size()) + " sub-exception" +
                           (exceptions.size() == 1 ? "" : "s") + ")"),
        exceptions_(std::move(exceptions)) {}
  /// The grouped exceptions, in the order they occurred.
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
  std::vector<std::exception_ptr> exceptions_;
};

/// The error category of libuv status codes. Values are libuv's (negative)
/// codes; `default_error_condition` maps them to portable `std::errc`
/// conditions so that `e.code() == std::errc::connection_refused` holds on
/// every platform.
const std::error_category& uv_category() noexcept;

/// Builds the `std::error_code` of a libuv status code.
inline std::error_code make_uv_error_code(int status) noexcept { return {status, uv_category()}; }

/// Throws `std::system_error` for a failed libuv call; `operation` names it
/// (e.g. "uv_timer_start").
[[noreturn]] void throw_uv_error(int status, const char* operation);

}  // namespace aiouv

#endif
