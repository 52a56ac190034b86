#ifndef AIOUV_TEST_SUPPORT_LOOP_TEST_HPP_INCLUDED
#define AIOUV_TEST_SUPPORT_LOOP_TEST_HPP_INCLUDED

// The fixture every loop test uses: a fresh EventLoop, every log line
// captured, and after the test the leak ledger: the loop closes, nothing it
// counts is left alive, and no error was logged that the test did not take.

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <uv.h>

#include <aiouv/aiouv.hpp>

/// ASSERT_TRUE for coroutines returning Coro<void> (gtest's ASSERT_*
/// macros `return`, which a coroutine cannot).
#define CO_ASSERT_TRUE(condition)                         \
  if (!(condition)) {                                     \
    ADD_FAILURE() << "assertion failed: " #condition;     \
    co_return;                                            \
  }

namespace aiouv::test {

/// Collects what aiouv logs.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct Line {
    spdlog::level::level_enum level;
    std::string text;
  };
  std::vector<Line> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(lines_, {});
  }
  /// Removes and returns the lines at `level` or above containing `needle`.
  std::vector<std::string> take_matching(spdlog::level::level_enum level, const std::string& needle) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> found;
    std::vector<Line> kept;
    for (Line& line : lines_) {
      if (line.level >= level && line.text.find(needle) != std::string::npos) {
        found.push_back(std::move(line.text));
      } else {
        kept.push_back(std::move(line));
      }
    }
    lines_ = std::move(kept);
    return found;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.push_back({msg.level, std::string(msg.payload.data(), msg.payload.size())});
  }
  void flush_() override {}

 private:
  std::vector<Line> lines_;
};

/// Installs a capturing logger for the scope.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<CaptureSink>()) {
    auto logger = std::make_shared<spdlog::logger>("aiouv", sink_);
    logger->set_level(spdlog::level::trace);
    set_logger(logger);
  }
  ~LogCapture() { set_logger(nullptr); }
  CaptureSink& sink() { return *sink_; }

 private:
  std::shared_ptr<CaptureSink> sink_;
};

/// Fixture: `loop` plus the leak ledger checked after every test.
class LoopTest : public ::testing::Test {
 protected:
  LoopTest() : loop_ptr(std::make_unique<EventLoop>()), loop(*loop_ptr) {}

  void TearDown() override {
    if (!loop.is_closed()) loop.close();
    const LoopCounters c = loop.counters();
    EXPECT_EQ(c.uv_handles, 0u) << "libuv handles left open";
    EXPECT_EQ(c.uv_requests, 0u) << "libuv requests in flight";
    EXPECT_EQ(c.callback_handles, 0u) << "callbacks or timers left queued";
    EXPECT_EQ(c.futures, 0u) << "futures or tasks left alive";
    EXPECT_EQ(c.tasks, 0u) << "tasks left alive";
    for (const auto& line : log.sink().take()) {
      EXPECT_LT(line.level, spdlog::level::err) << "unexpected log line: " << line.text;
    }
  }

  /// Errors reported through the exception handler, recorded by
  /// record_exceptions().
  std::vector<ExceptionContext> reported;
  void record_exceptions() {
    loop.set_exception_handler([this](EventLoop&, const ExceptionContext& ctx) { reported.push_back(ctx); });
  }

  LogCapture log;
  std::unique_ptr<EventLoop> loop_ptr;
  EventLoop& loop;
};

/// The what() of the std::exception `f` throws, or "<no error>".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no error>";
}

/// The message of an exception_ptr's exception (what() or CancelledError's).
inline std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (const CancelledError& e) {
    return "CancelledError:" + e.message();
  } catch (...) {
    return "?";
  }
}

}  // namespace aiouv::test

#endif
