#ifndef AIOUV_FS_HPP_INCLUDED
#define AIOUV_FS_HPP_INCLUDED

/// \file
/// `aiouv::fs`: awaitable file-system calls on libuv's thread pool
/// (`uv_fs_*`), what asyncio users reach for aiofiles to get. Every call
/// runs off the loop thread and can be cancelled (a call already running
/// finishes, its result is dropped). Errors are `std::system_error` with
/// the libuv code and the path in the message ("open 'x': no such file or
/// directory").

#include <cstdint>
#include <string>
#include <vector>

#include <uv.h>

#include <aiouv/coro.hpp>

namespace aiouv::fs {

/// open(2) flags, portable (libuv's UV_FS_O_*; the O_* names are macros
/// in <fcntl.h>, hence these), combined with |.
inline constexpr int read_only = UV_FS_O_RDONLY;
inline constexpr int write_only = UV_FS_O_WRONLY;
inline constexpr int read_write = UV_FS_O_RDWR;
inline constexpr int create = UV_FS_O_CREAT;
inline constexpr int truncate = UV_FS_O_TRUNC;
inline constexpr int append = UV_FS_O_APPEND;
inline constexpr int exclusive = UV_FS_O_EXCL;

/// What stat() reports.
struct Stat {
  std::uint64_t size = 0;
  std::uint64_t mode = 0;
  /// Last modification, seconds and nanoseconds since the Unix epoch.
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;
  bool is_directory() const noexcept;
  bool is_regular_file() const noexcept;
};

/// One entry of scandir(): a name (no path) and what it is.
struct DirEntry {
  std::string name;
  uv_dirent_type_t type = UV_DIRENT_UNKNOWN;
};

/// Opens `path`; gives the descriptor (close it with close()).
Coro<uv_file> open(std::string path, int flags = read_only, int mode = 0644);
/// Closes a descriptor from open().
Coro<void> close(uv_file fd);
/// Reads up to `size` bytes at `offset` (-1: the current position); ""
/// at end of file.
Coro<std::string> read(uv_file fd, std::size_t size, std::int64_t offset = -1);
/// Writes `data` at `offset` (-1: the current position); gives the bytes
/// written (all of them unless the disk is full).
Coro<std::size_t> write(uv_file fd, std::string data, std::int64_t offset = -1);
/// stat(2) of `path` (following links).
Coro<Stat> stat(std::string path);
/// fstat(2) of an open descriptor.
Coro<Stat> fstat(uv_file fd);
/// Renames `from` to `to`, replacing `to` if it exists.
Coro<void> rename(std::string from, std::string to);
/// Removes a file.
Coro<void> unlink(std::string path);
/// Creates a directory.
Coro<void> mkdir(std::string path, int mode = 0777);
/// Removes an empty directory.
Coro<void> rmdir(std::string path);
/// The entries of a directory, without "." and "..".
Coro<std::vector<DirEntry>> scandir(std::string path);

/// The whole content of a file, read straight into the result.
Coro<std::string> read_file(std::string path);
/// Creates or truncates `path` and writes `data` to it.
Coro<void> write_file(std::string path, std::string data, int mode = 0644);

}  // namespace aiouv::fs

#endif
