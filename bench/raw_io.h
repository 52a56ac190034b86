#ifndef AIOUV_BENCH_RAW_IO_H_INCLUDED
#define AIOUV_BENCH_RAW_IO_H_INCLUDED

/* Raw libuv C baselines for bench/io_bench.cpp: UDP echo between two
 * uv_udp_t in one loop, and reading a whole file with uv_fs_read. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `total` datagrams of `size` bytes echoed by a server endpoint, `window`
 * of them in flight; returns the number echoed back. */
size_t raw_udp_echo_run(size_t total, size_t window, size_t size);

/* Reads the whole file at `path` into `buffer` (of `capacity` bytes) with
 * asynchronous uv_fs_open/uv_fs_read/uv_fs_close; returns the bytes read. */
size_t raw_read_file(const char* path, char* buffer, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif
