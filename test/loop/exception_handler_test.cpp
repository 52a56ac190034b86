// set/get/call/default exception handler, and containment of failures.
#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using ExceptionHandler = LoopTest;

TEST_F(ExceptionHandler, DefaultHandlerLogsAnErrorOnTheAiouvLogger) {
  EXPECT_FALSE(loop.get_exception_handler());
  loop.call_soon([] { throw std::runtime_error("kaboom"); });
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  auto lines = log.sink().take_matching(spdlog::level::err, "Exception in callback");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("kaboom"), std::string::npos);
}

TEST_F(ExceptionHandler, SetGetAndReset) {
  int calls = 0;
  loop.set_exception_handler([&](EventLoop&, const ExceptionContext&) { ++calls; });
  EXPECT_TRUE(loop.get_exception_handler());
  loop.call_exception_handler({"custom", nullptr, {}, {}});
  EXPECT_EQ(calls, 1);
  loop.set_exception_handler(nullptr);
  EXPECT_FALSE(loop.get_exception_handler());
  loop.call_exception_handler({"to the log", nullptr, {}, {}});
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(log.sink().take_matching(spdlog::level::err, "to the log").size(), 1u);
}

TEST_F(ExceptionHandler, HandlerReceivesTheLoopAndContext) {
  EventLoop* seen_loop = nullptr;
  std::string message;
  loop.set_exception_handler([&](EventLoop& l, const ExceptionContext& ctx) {
    seen_loop = &l;
    message = ctx.message;
  });
  loop.call_exception_handler({"hello", std::make_exception_ptr(std::runtime_error("x")), {}, {}});
  EXPECT_EQ(seen_loop, &loop);
  EXPECT_EQ(message, "hello");
}

TEST_F(ExceptionHandler, ThrowingHandlerIsContainedAndTheLoopGoesOn) {
  loop.set_exception_handler([](EventLoop&, const ExceptionContext&) { throw std::runtime_error("handler broke"); });
  bool after = false;
  loop.call_soon([] { throw std::runtime_error("first"); });
  loop.call_soon([&] {
    after = true;
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(after);
  auto lines = log.sink().take_matching(spdlog::level::err, "Unhandled error in exception handler");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("handler broke"), std::string::npos);
}

TEST_F(ExceptionHandler, DefaultHandlerCanBeCalledFromACustomOne) {
  loop.set_exception_handler([](EventLoop& l, const ExceptionContext& ctx) {
    ExceptionContext copy = ctx;
    copy.message = "wrapped: " + ctx.message;
    l.default_exception_handler(copy);
  });
  loop.call_exception_handler({"inner", nullptr, {}, {}});
  EXPECT_EQ(log.sink().take_matching(spdlog::level::err, "wrapped: inner").size(), 1u);
}

TEST_F(ExceptionHandler, CancelledErrorFromACallbackIsReportedToo) {
  record_exceptions();
  loop.call_soon([] { throw CancelledError("odd"); });
  loop.call_soon([this] { loop.stop(); });
  loop.run_forever();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(what_of(reported[0].exception), "CancelledError:odd");
}

TEST(LoggerTest, SetLoggerReplacesAndNullRestoresDefault) {
  auto sink = std::make_shared<CaptureSink>();
  auto mine = std::make_shared<spdlog::logger>("mine", sink);
  set_logger(mine);
  EXPECT_EQ(logger(), mine);
  set_logger(nullptr);
  auto fallback = logger();
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->name(), "aiouv");
}

}  // namespace
}  // namespace aiouv::test
