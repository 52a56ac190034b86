/* Raw libuv baselines, written the way an expert writes plain C: no C++,
 * no abstraction beyond what the case needs. aiouv is measured against
 * these in the same run. */
#ifndef AIOUV_BENCH_RAW_UV_H
#define AIOUV_BENCH_RAW_UV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* call_soon + dispatch: a FIFO ring of (callback, data) drained by a
 * uv_idle_t, `batch` callbacks in flight, each re-queueing itself until
 * `total` callbacks ran. */
void raw_dispatch_run(size_t total, size_t batch);

/* Timers: `count` uv_timer_t, initialised once by raw_timers_create; each
 * run starts them all with delays of 0-9 ms, stops every other one, and runs
 * the loop until the rest fired. */
typedef struct raw_timers raw_timers;
raw_timers* raw_timers_create(size_t count);
void raw_timers_run(raw_timers* timers);
void raw_timers_destroy(raw_timers* timers);

#ifdef __cplusplus
}
#endif

#endif
