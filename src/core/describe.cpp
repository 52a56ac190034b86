#include "describe.hpp"

#include <system_error>

#include <aiouv/exceptions.hpp>

namespace aiouv::detail {

bool is_os_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string describe_exception(const std::exception_ptr& error) {
  if (!error) return {};
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (const CancelledError& e) {
    return "CancelledError(" + e.message() + ")";
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace aiouv::detail
