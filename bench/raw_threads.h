#ifndef AIOUV_BENCH_RAW_THREADS_H_INCLUDED
#define AIOUV_BENCH_RAW_THREADS_H_INCLUDED

/* Raw libuv C baselines for bench/threads_bench.cpp: what an expert writes
 * by hand for a thread-pool round trip and for spawning a child. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `count` uv_queue_work round trips one after another (an empty job; the
 * after-work callback queues the next), on a fresh loop. */
void raw_queue_work_run(size_t count);

/* `count` times: uv_spawn `program` (no arguments, stdio inherited), wait
 * for its exit callback, close the handle; one at a time. Returns the
 * number of children that exited with status 0. */
size_t raw_spawn_run(const char* program, size_t count);

#ifdef __cplusplus
}
#endif

#endif
