// aiouv::fs: each call is one uv_fs_t request whose future completes in
// libuv's callback (cancelling the future asks libuv to cancel it).
#include <aiouv/detail/io_resource.hpp>
#include <aiouv/fs.hpp>
#include <aiouv/tasks.hpp>

#include <functional>
#include <memory>
#include <system_error>

#ifndef _WIN32
#include <sys/stat.h>  // S_IFMT
#endif

#include "../net/request_future.hpp"
#include "../uv/buffer.hpp"

namespace aiouv::fs {
namespace {

/// One request in flight. It owns the buffers libuv reads into or writes
/// from until the callback, which turns the request into a result with
/// `extract` (unless the future was cancelled) and frees the call.
template <class Result>
class FsCall final : public detail::IoResource {
 public:
  FsCall(EventLoop& loop, const char* operation, std::string subject)
      : IoResource(loop),
        future(detail::make_request_future<Result>(loop, reinterpret_cast<uv_req_t*>(&request))),
        operation_(operation),
        subject_(std::move(subject)) {
    request.data = this;
  }

  /// Checks what uv_fs_*() returned when starting the request.
  void started(int status) {
    if (status < 0) {
      uv_fs_req_cleanup(&request);
      const std::system_error error = failure(status);
      delete this;
      throw error;
    }
    request_started();
  }
  void abandon() noexcept override { uv_cancel(reinterpret_cast<uv_req_t*>(&request)); }

  static void on_done(uv_fs_t* request) {
    auto* self = static_cast<FsCall*>(request->data);
    self->request_finished();
    Future<Result>& future = self->future;
    if (!future.done() && !self->loop().is_closed()) {
      if (request->result < 0) {
        future.set_exception(self->failure(static_cast<int>(request->result)));
      } else {
        try {
          if constexpr (std::is_void_v<Result>) {
            future.set_result();
          } else {
            future.set_result(self->extract(*request));
          }
        } catch (...) {
          future.set_exception(std::current_exception());
        }
      }
    }
    uv_fs_req_cleanup(request);
    delete self;
  }

  uv_fs_t request{};
  Future<Result> future;
  std::string buffer;                      // what read() fills
  std::shared_ptr<const void> keep_alive;  // bytes libuv uses that the caller also holds
  std::function<Result(uv_fs_t&)> extract;

 private:
  std::system_error failure(int status) const {
    return std::system_error(make_uv_error_code(status), std::string(operation_) + " '" + subject_ + "'");
  }

  const char* operation_;
  std::string subject_;
};

template <class Result>
FsCall<Result>* make_call(const char* operation, std::string subject) {
  return new FsCall<Result>(get_running_loop(), operation, std::move(subject));
}

uv_loop_t* running_uv_loop() { return get_running_loop().native_handle(); }

Stat stat_of(const uv_stat_t& s) {
  Stat result;
  result.size = s.st_size;
  result.mode = s.st_mode;
  result.mtime_sec = s.st_mtim.tv_sec;
  result.mtime_nsec = s.st_mtim.tv_nsec;
  return result;
}

/// Reads into `(*target)[at...]`; the call keeps `target` alive, so a
/// cancelled caller leaves libuv nothing dangling.
Coro<std::size_t> read_into(uv_file fd, std::shared_ptr<std::string> target, std::size_t at, std::string subject) {
  auto* call = make_call<std::size_t>("read", std::move(subject));
  Future<std::size_t> result = call->future;
  call->extract = [](uv_fs_t& request) { return static_cast<std::size_t>(request.result); };
  const std::size_t size = std::min<std::size_t>(target->size() - at, 1u << 30);
  uv_buf_t buffer = detail::make_uv_buf(target->data() + at, size);
  const auto offset = static_cast<std::int64_t>(at);
  call->keep_alive = std::move(target);
  call->started(uv_fs_read(running_uv_loop(), &call->request, fd, &buffer, 1, offset, &FsCall<std::size_t>::on_done));
  co_return co_await std::move(result);
}

/// Sizes `s` to `n` bytes that the kernel will overwrite: without the
/// zero-fill of resize() where C++23's resize_and_overwrite is available
/// (src/CMakeLists.txt compiles this file as C++23 then).
void size_without_zeroing(std::string& s, std::size_t n) {
#if defined(__cpp_lib_string_resize_and_overwrite)
  s.resize_and_overwrite(n, [](char*, std::size_t size) { return size; });
#else
  s.resize(n);
#endif
}

}  // namespace

bool Stat::is_directory() const noexcept {
#ifdef S_IFDIR
  return (mode & S_IFMT) == S_IFDIR;
#else
  return (mode & 0170000) == 0040000;
#endif
}

bool Stat::is_regular_file() const noexcept {
#ifdef S_IFREG
  return (mode & S_IFMT) == S_IFREG;
#else
  return (mode & 0170000) == 0100000;
#endif
}

Coro<uv_file> open(std::string path, int flags, int mode) {
  auto* call = make_call<uv_file>("open", path);
  Future<uv_file> result = call->future;
  call->extract = [](uv_fs_t& request) { return static_cast<uv_file>(request.result); };
  call->started(uv_fs_open(running_uv_loop(), &call->request, path.c_str(), flags, mode, &FsCall<uv_file>::on_done));
  co_return co_await std::move(result);
}

Coro<void> close(uv_file fd) {
  auto* call = make_call<void>("close", "fd " + std::to_string(fd));
  Future<void> result = call->future;
  call->started(uv_fs_close(running_uv_loop(), &call->request, fd, &FsCall<void>::on_done));
  co_await std::move(result);
}

Coro<std::string> read(uv_file fd, std::size_t size, std::int64_t offset) {
  auto* call = make_call<std::string>("read", "fd " + std::to_string(fd));
  Future<std::string> result = call->future;
  call->buffer.resize(std::min<std::size_t>(size, 1u << 30));
  call->extract = [call](uv_fs_t& request) {
    call->buffer.resize(static_cast<std::size_t>(request.result));
    return std::move(call->buffer);
  };
  uv_buf_t buffer = detail::make_uv_buf(call->buffer.data(), call->buffer.size());
  call->started(uv_fs_read(running_uv_loop(), &call->request, fd, &buffer, 1, offset, &FsCall<std::string>::on_done));
  co_return co_await std::move(result);
}

Coro<std::size_t> write(uv_file fd, std::string data, std::int64_t offset) {
  // Shared with each call, not copied: a cancelled caller leaves the bytes
  // alive for the write in flight.
  auto bytes = std::make_shared<const std::string>(std::move(data));
  std::size_t written = 0;
  // libuv writes at most what one call takes; loop over the rest.
  while (written < bytes->size()) {
    auto* call = make_call<std::size_t>("write", "fd " + std::to_string(fd));
    Future<std::size_t> result = call->future;
    call->keep_alive = bytes;
    call->extract = [](uv_fs_t& request) { return static_cast<std::size_t>(request.result); };
    uv_buf_t buffer = detail::make_uv_buf(const_cast<char*>(bytes->data()) + written,
                                  std::min<std::size_t>(bytes->size() - written, 1u << 30));
    const std::int64_t at = offset < 0 ? -1 : offset + static_cast<std::int64_t>(written);
    call->started(uv_fs_write(running_uv_loop(), &call->request, fd, &buffer, 1, at, &FsCall<std::size_t>::on_done));
    const std::size_t n = co_await std::move(result);
    if (n == 0) break;
    written += n;
  }
  co_return written;
}

Coro<Stat> stat(std::string path) {
  auto* call = make_call<Stat>("stat", path);
  Future<Stat> result = call->future;
  call->extract = [](uv_fs_t& request) { return stat_of(request.statbuf); };
  call->started(uv_fs_stat(running_uv_loop(), &call->request, path.c_str(), &FsCall<Stat>::on_done));
  co_return co_await std::move(result);
}

Coro<Stat> fstat(uv_file fd) {
  auto* call = make_call<Stat>("fstat", "fd " + std::to_string(fd));
  Future<Stat> result = call->future;
  call->extract = [](uv_fs_t& request) { return stat_of(request.statbuf); };
  call->started(uv_fs_fstat(running_uv_loop(), &call->request, fd, &FsCall<Stat>::on_done));
  co_return co_await std::move(result);
}

Coro<void> rename(std::string from, std::string to) {
  auto* call = make_call<void>("rename", from);
  Future<void> result = call->future;
  call->started(uv_fs_rename(running_uv_loop(), &call->request, from.c_str(), to.c_str(), &FsCall<void>::on_done));
  co_await std::move(result);
}

Coro<void> unlink(std::string path) {
  auto* call = make_call<void>("unlink", path);
  Future<void> result = call->future;
  call->started(uv_fs_unlink(running_uv_loop(), &call->request, path.c_str(), &FsCall<void>::on_done));
  co_await std::move(result);
}

Coro<void> mkdir(std::string path, int mode) {
  auto* call = make_call<void>("mkdir", path);
  Future<void> result = call->future;
  call->started(uv_fs_mkdir(running_uv_loop(), &call->request, path.c_str(), mode, &FsCall<void>::on_done));
  co_await std::move(result);
}

Coro<void> rmdir(std::string path) {
  auto* call = make_call<void>("rmdir", path);
  Future<void> result = call->future;
  call->started(uv_fs_rmdir(running_uv_loop(), &call->request, path.c_str(), &FsCall<void>::on_done));
  co_await std::move(result);
}

Coro<std::vector<DirEntry>> scandir(std::string path) {
  auto* call = make_call<std::vector<DirEntry>>("scandir", path);
  Future<std::vector<DirEntry>> result = call->future;
  call->extract = [](uv_fs_t& request) {
    std::vector<DirEntry> entries;
    uv_dirent_t entry;
    while (uv_fs_scandir_next(&request, &entry) != UV_EOF) entries.push_back(DirEntry{entry.name, entry.type});
    return entries;
  };
  call->started(
      uv_fs_scandir(running_uv_loop(), &call->request, path.c_str(), 0, &FsCall<std::vector<DirEntry>>::on_done));
  co_return co_await std::move(result);
}

Coro<std::string> read_file(std::string path) {
  const uv_file fd = co_await open(path, read_only);
  auto content = std::make_shared<std::string>();
  std::exception_ptr error;
  try {
    const Stat info = co_await fstat(fd);
    // Straight into the result: as few reads as the kernel allows, no
    // copy. One spare byte shows EOF without another round; a file that
    // grows meanwhile is read to its new end.
    size_without_zeroing(*content, static_cast<std::size_t>(info.size) + 1);
    std::size_t filled = 0;
    for (;;) {
      if (filled == content->size()) size_without_zeroing(*content, content->size() * 2);
      const std::size_t n = co_await read_into(fd, content, filled, path);
      if (n == 0) break;
      filled += n;
    }
    content->resize(filled);
  } catch (...) {
    error = std::current_exception();
  }
  co_await close(fd);
  if (error) std::rethrow_exception(error);
  co_return std::move(*content);
}

Coro<void> write_file(std::string path, std::string data, int mode) {
  const uv_file fd = co_await open(path, write_only | create | truncate, mode);
  std::exception_ptr error;
  try {
    (void)co_await write(fd, std::move(data), 0);
  } catch (...) {
    error = std::current_exception();
  }
  co_await close(fd);
  if (error) std::rethrow_exception(error);
}

}  // namespace aiouv::fs
