// Runs every sample and checks what it prints.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Output {
  std::string text;
  int status = -1;
  std::chrono::steady_clock::duration took{};
};

Output run(const std::string& program) {
  Output out;
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = popen((program + " 2>&1").c_str(), "r");  // POSIX; the samples test is Linux/macOS only
  if (!pipe) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.text.append(buffer, n);
  out.status = pclose(pipe);
  out.took = std::chrono::steady_clock::now() - start;
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    result.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return result;
}

void expect_hello(const Output& out) {
  using namespace std::chrono_literals;
  EXPECT_EQ(out.status, 0);
  EXPECT_EQ(out.text, "Hello, World!\nHello, World!\n");
  EXPECT_GE(out.took, 1s);
  EXPECT_LT(out.took, 1900ms) << "the two sleeps must overlap (about 1 s in all, not 2)";
}

TEST(Samples, HelloWithRunUntilComplete) { expect_hello(run(HELLO_BIN)); }

TEST(Samples, HelloWithRun) { expect_hello(run(HELLO_RUN_BIN)); }

TEST(Samples, Timers) {
  const Output out = run(TIMERS_BIN);
  EXPECT_EQ(out.status, 0);
  const auto got = lines(out.text);
  const std::vector<std::string> order = {"call_soon: first", "call_soon: second (FIFO)",
                                          "call_at(loop.time() + 50ms)", "call_later(100ms)",
                                          "call_at(Unix time + 150ms)", "stop()", "run_forever() returned"};
  ASSERT_EQ(got.size(), order.size()) << out.text;
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(got[i].rfind(order[i], 0), 0u) << got[i];
  EXPECT_EQ(out.text.find("never printed"), std::string::npos);
}

TEST(Samples, EmbedLibuv) {
  const Output out = run(EMBED_BIN);
  EXPECT_EQ(out.status, 0) << out.text;
  const auto got = lines(out.text);
  auto count = [&](const std::string& prefix) {
    int n = 0;
    for (const auto& l : got) n += l.rfind(prefix, 0) == 0;
    return n;
  };
  EXPECT_EQ(count("host: libuv timer tick"), 3);
  EXPECT_EQ(count("aiouv: task A step"), 2);
  EXPECT_EQ(count("aiouv: task B step"), 2);
  EXPECT_NE(out.text.find("aiouv: all 4 steps done"), std::string::npos);
  EXPECT_NE(out.text.find("host: uv_run returned, task done: yes"), std::string::npos);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "host: uv_loop_close returned 0");
}

}  // namespace
