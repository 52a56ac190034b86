#ifndef AIOUV_SRC_LOOP_RUNNING_LOOP_HPP_INCLUDED
#define AIOUV_SRC_LOOP_RUNNING_LOOP_HPP_INCLUDED

#include <aiouv/events.hpp>

namespace aiouv::detail {

/// Makes `loop` this thread's running loop for the scope, unless one
/// already is (then the scope changes nothing).
class RunningLoopScope {
 public:
  explicit RunningLoopScope(EventLoop& loop) noexcept;
  ~RunningLoopScope();
  RunningLoopScope(const RunningLoopScope&) = delete;
  RunningLoopScope& operator=(const RunningLoopScope&) = delete;

 private:
  bool entered_;
};

}  // namespace aiouv::detail

#endif
