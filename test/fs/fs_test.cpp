// aiouv::fs: whole-file helpers, descriptors with offsets, stat, rename,
// unlink, mkdir/rmdir, scandir, error codes and messages, cancellation,
// and closing the loop with a request in flight.
#include <algorithm>
#include <atomic>

#include "support/loop_test.hpp"

namespace aiouv::test {
namespace {

using namespace std::chrono_literals;

class Fs : public LoopTest {
 protected:
  Fs() {
    char dir[1024];
    std::size_t size = sizeof dir;
    uv_os_tmpdir(dir, &size);
    static std::atomic<int> counter{0};
    root = std::string(dir, size) + "/aiouv-fs-" + std::to_string(uv_os_getpid()) + "-" + std::to_string(counter++);
  }
  std::string root;
};

TEST_F(Fs, WholeFilesDirectoriesAndRenames) {
  auto main = [&]() -> Coro<void> {
    co_await fs::mkdir(root);
    const std::string a = root + "/a.txt", b = root + "/b.txt";
    std::string big(3 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
    co_await fs::write_file(a, big);
    EXPECT_EQ(co_await fs::read_file(a), big);
    const fs::Stat info = co_await fs::stat(a);
    EXPECT_EQ(info.size, big.size());
    EXPECT_TRUE(info.is_regular_file());
    EXPECT_FALSE(info.is_directory());
    EXPECT_TRUE((co_await fs::stat(root)).is_directory());
    co_await fs::rename(a, b);
    co_await fs::write_file(root + "/empty", "");
    EXPECT_EQ(co_await fs::read_file(root + "/empty"), "");
    std::vector<fs::DirEntry> entries = co_await fs::scandir(root);
    std::vector<std::string> names;
    for (const auto& entry : entries) names.push_back(entry.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"b.txt", "empty"}));
    co_await fs::unlink(b);
    co_await fs::unlink(root + "/empty");
    co_await fs::rmdir(root);
  };
  loop.run_until_complete(main());
}

TEST_F(Fs, DescriptorsWithOffsets) {
  auto main = [&]() -> Coro<void> {
    co_await fs::mkdir(root);
    const std::string path = root + "/f";
    uv_file fd = co_await fs::open(path, fs::read_write | fs::create | fs::truncate);
    EXPECT_EQ(co_await fs::write(fd, "hello world"), 11u);
    EXPECT_EQ(co_await fs::write(fd, "W", 6), 1u);
    EXPECT_EQ(co_await fs::read(fd, 5, 6), "World");
    EXPECT_EQ(co_await fs::read(fd, 100, 0), "hello World");
    EXPECT_EQ(co_await fs::read(fd, 100, 11), "") << "end of file";
    EXPECT_EQ((co_await fs::fstat(fd)).size, 11u);
    co_await fs::close(fd);
    co_await fs::unlink(path);
    co_await fs::rmdir(root);
  };
  loop.run_until_complete(main());
}

TEST_F(Fs, ErrorsCarryTheCodeAndThePath) {
  auto main = [&]() -> Coro<void> {
    const std::string missing = root + "/nothing-here";
    bool not_found = false;
    try {
      (void)co_await fs::read_file(missing);
    } catch (const std::system_error& e) {
      not_found = e.code() == std::errc::no_such_file_or_directory;
      EXPECT_EQ(std::string(e.what()).rfind("open '" + missing + "'", 0), 0u) << e.what();
    }
    EXPECT_TRUE(not_found);
    co_await fs::mkdir(root);
    bool exists = false;
    try {
      co_await fs::mkdir(root);
    } catch (const std::system_error& e) {
      exists = e.code() == std::errc::file_exists;
    }
    EXPECT_TRUE(exists);
    co_await fs::rmdir(root);
  };
  loop.run_until_complete(main());
}

TEST_F(Fs, CancellingAWaitingCallDropsItsResult) {
  auto main = [&]() -> Coro<void> {
    co_await fs::mkdir(root);
    const std::string path = root + "/c";
    co_await fs::write_file(path, std::string(1 << 20, 'c'));
    Task<std::string> reading = create_task(fs::read_file(path));
    co_await sleep(0s);  // the task has started its first request
    reading.cancel();
    bool cancelled = false;
    try {
      (void)co_await reading;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ((co_await fs::read_file(path)).size(), 1u << 20) << "the file is fine afterwards";
    co_await fs::unlink(path);
    co_await fs::rmdir(root);
  };
  loop.run_until_complete(main());
}

TEST_F(Fs, ClosingTheLoopWithARequestInFlight) {
  auto main = [&]() -> Coro<void> {
    (void)create_task(fs::stat(root));
    co_return;
  };
  loop.run_until_complete(main());
  loop.close();  // the fixture checks uv_loop_close() == 0
  EXPECT_EQ(log.sink().take_matching(spdlog::level::err, "Task was destroyed but it is pending!").size(), 1u);
}

}  // namespace
}  // namespace aiouv::test
