#ifndef AIOUV_SRC_CORE_DESCRIBE_HPP_INCLUDED
#define AIOUV_SRC_CORE_DESCRIBE_HPP_INCLUDED

#include <exception>
#include <string>

namespace aiouv::detail {

/// A one-line description of an exception for logs and reprs: what() for
/// std::exception, "CancelledError(msg)" for cancellation.
std::string describe_exception(const std::exception_ptr& error);

/// True for a std::system_error (an OS, libuv or TLS error): what asyncio
/// treats as an OSError, the peer's doing, logged only in debug mode.
bool is_os_error(const std::exception_ptr& error);

}  // namespace aiouv::detail

#endif
