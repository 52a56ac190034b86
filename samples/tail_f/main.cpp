// Follows a pipe (stdin, or a FIFO given as the argument) through
// connect_read_pipe, printing each line numbered as it arrives and a
// summary at EOF:
//
//   producer | tail_f            or        tail_f /path/to/fifo
#include <cstdio>
#include <string>

#include <aiouv/aiouv.hpp>

namespace {

/// Splits what arrives into lines; prints each as soon as it is complete.
class LinePrinter : public aiouv::Protocol {
 public:
  explicit LinePrinter(aiouv::EventLoop& loop) : done(loop.create_future<void>()) {}
  void data_received(std::string_view data) override {
    pending_.append(data);
    std::size_t end;
    while ((end = pending_.find('\n')) != std::string::npos) {
      std::printf("[%d] %s\n", ++lines, pending_.substr(0, end).c_str());
      pending_.erase(0, end + 1);
    }
    std::fflush(stdout);
  }
  bool eof_received() override {
    if (!pending_.empty()) std::printf("[%d] %s (no newline at end)\n", ++lines, pending_.c_str());
    return false;
  }
  void connection_lost(std::exception_ptr) override { done.set_result(); }

  int lines = 0;
  aiouv::Future<void> done;

 private:
  std::string pending_;
};

aiouv::Coro<int> follow(std::string path) {
  aiouv::EventLoop& loop = aiouv::get_running_loop();
  uv_file fd = 0;  // stdin
  if (!path.empty()) fd = co_await aiouv::fs::open(path, aiouv::fs::read_only);
  auto [transport, printer] =
      co_await loop.connect_read_pipe([&loop] { return std::make_shared<LinePrinter>(loop); }, fd);
  co_await printer->done;
  std::printf("EOF after %d lines\n", printer->lines);
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) { return aiouv::run(follow(argc > 1 ? argv[1] : "")); }
