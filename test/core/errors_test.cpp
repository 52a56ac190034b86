// exceptions.hpp: the types, their messages, and libuv errors as
// std::system_error with portable conditions.
#include <gtest/gtest.h>
#include <uv.h>

#include <aiouv/exceptions.hpp>

namespace aiouv::test {
namespace {

TEST(Errors, UvCodesMapToPortableConditions) {
  EXPECT_EQ(make_uv_error_code(UV_ECONNREFUSED), std::errc::connection_refused);
  EXPECT_EQ(make_uv_error_code(UV_ECONNRESET), std::errc::connection_reset);
  EXPECT_EQ(make_uv_error_code(UV_EPIPE), std::errc::broken_pipe);
  EXPECT_EQ(make_uv_error_code(UV_EADDRINUSE), std::errc::address_in_use);
  EXPECT_EQ(make_uv_error_code(UV_ETIMEDOUT), std::errc::timed_out);
  EXPECT_EQ(make_uv_error_code(UV_ENOENT), std::errc::no_such_file_or_directory);
  EXPECT_EQ(make_uv_error_code(UV_ECANCELED), std::errc::operation_canceled);
  EXPECT_NE(make_uv_error_code(UV_ECONNREFUSED), std::errc::connection_reset);
}

TEST(Errors, CategoryNameAndMessages) {
  const std::error_code code = make_uv_error_code(UV_ECONNREFUSED);
  EXPECT_STREQ(code.category().name(), "libuv");
  EXPECT_EQ(code.message(), uv_strerror(UV_ECONNREFUSED));
  EXPECT_EQ(code.value(), UV_ECONNREFUSED);
}

TEST(Errors, UnknownCodesStayInTheCategory) {
  const std::error_code code = make_uv_error_code(UV_EAI_NONAME);
  EXPECT_EQ(code.default_error_condition().category(), uv_category());
}

TEST(Errors, ThrowUvErrorNamesTheOperation) {
  try {
    throw_uv_error(UV_EADDRINUSE, "uv_tcp_bind");
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::address_in_use);
    EXPECT_NE(std::string(e.what()).find("uv_tcp_bind"), std::string::npos);
  }
}

TEST(Errors, TypesAndMessages) {
  EXPECT_STREQ(TimeoutError().what(), "timed out");
  EXPECT_STREQ(QueueEmpty().what(), "queue is empty");
  EXPECT_STREQ(QueueFull().what(), "queue is full");
  EXPECT_STREQ(QueueShutDown().what(), "queue is shut down");
  EXPECT_STREQ(BrokenBarrierError().what(), "barrier is broken");
  IncompleteReadError incomplete("abc", 10);
  EXPECT_EQ(incomplete.partial(), "abc");
  EXPECT_EQ(incomplete.expected(), 10);
  EXPECT_STREQ(incomplete.what(), "3 bytes read on a total of 10 expected bytes");
  EXPECT_STREQ(IncompleteReadError("", -1).what(), "0 bytes read on a total of undefined expected bytes");
  LimitOverrunError overrun("Separator is not found, and chunk exceed the limit", 7);
  EXPECT_EQ(overrun.consumed(), 7u);
  ExceptionGroup group("unhandled errors in a TaskGroup",
                       {std::make_exception_ptr(std::runtime_error("a")), std::make_exception_ptr(TimeoutError())});
  EXPECT_EQ(group.exceptions().size(), 2u);
  EXPECT_STREQ(group.what(), "unhandled errors in a TaskGroup (2 sub-exceptions)");
  static_assert(std::is_base_of_v<RuntimeError, SendfileNotAvailableError>);
  static_assert(std::is_base_of_v<std::exception, InvalidStateError>);
  static_assert(!std::is_base_of_v<std::exception, CancelledError>);
  EXPECT_EQ(CancelledError("x").message(), "x");
  EXPECT_STREQ(CancelledError().what(), "");
}

}  // namespace
}  // namespace aiouv::test
