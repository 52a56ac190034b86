#include "raw_threads.h"

#include <uv.h>

/* ---- uv_queue_work round trips ---- */

typedef struct {
  uv_work_t work;
  size_t remaining;
} raw_work_chain;

static void raw_work_noop(uv_work_t* work) { (void)work; }

static void raw_work_done(uv_work_t* work, int status) {
  raw_work_chain* chain = work->data;
  (void)status;
  if (--chain->remaining > 0) uv_queue_work(work->loop, &chain->work, raw_work_noop, raw_work_done);
}

void raw_queue_work_run(size_t count) {
  uv_loop_t loop;
  raw_work_chain chain;
  if (count == 0) return;
  uv_loop_init(&loop);
  chain.remaining = count;
  chain.work.data = &chain;
  uv_queue_work(&loop, &chain.work, raw_work_noop, raw_work_done);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

/* ---- spawn and wait ---- */

typedef struct {
  uv_loop_t* loop;
  uv_process_t process;
  uv_process_options_t options;
  char* args[2];
  size_t remaining;
  size_t succeeded;
} raw_spawner;

static void raw_spawn_next(raw_spawner* s);

static void raw_process_closed(uv_handle_t* handle) {
  raw_spawner* s = handle->data;
  if (--s->remaining > 0) raw_spawn_next(s);
}

static void raw_process_exited(uv_process_t* process, int64_t status, int signal) {
  raw_spawner* s = process->data;
  if (status == 0 && signal == 0) ++s->succeeded;
  uv_close((uv_handle_t*)process, raw_process_closed);
}

static void raw_spawn_next(raw_spawner* s) {
  s->process.data = s;
  if (uv_spawn(s->loop, &s->process, &s->options) != 0) {
    s->remaining = 1; /* the failed handle still gets closed: stop after it */
    uv_close((uv_handle_t*)&s->process, raw_process_closed);
  }
}

size_t raw_spawn_run(const char* program, size_t count) {
  uv_loop_t loop;
  uv_stdio_container_t stdio[3];
  raw_spawner s;
  int fd;
  if (count == 0) return 0;
  uv_loop_init(&loop);
  for (fd = 0; fd < 3; ++fd) {
    stdio[fd].flags = UV_INHERIT_FD;
    stdio[fd].data.fd = fd;
  }
  s.args[0] = (char*)program;
  s.args[1] = NULL;
  s.options = (uv_process_options_t){0};
  s.options.exit_cb = raw_process_exited;
  s.options.file = program;
  s.options.args = s.args;
  s.options.stdio_count = 3;
  s.options.stdio = stdio;
  s.remaining = count;
  s.succeeded = 0;
  s.loop = &loop;
  raw_spawn_next(&s);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return s.succeeded;
}
