#include "raw_uv.h"

#include <stdlib.h>
#include <uv.h>

/* ---- dispatch ---- */

typedef void (*raw_cb)(void* data);

typedef struct {
  raw_cb cb;
  void* data;
} raw_entry;

typedef struct {
  uv_loop_t loop;
  uv_idle_t idle;
  raw_entry* ring;
  size_t mask;
  size_t head;
  size_t tail;
  size_t remaining; /* callbacks still to schedule */
} raw_dispatcher;

static void raw_grow(raw_dispatcher* d) {
  size_t cap = d->mask + 1;
  raw_entry* fresh = malloc(2 * cap * sizeof *fresh);
  for (size_t t = d->head; t != d->tail; ++t) fresh[t & (2 * cap - 1)] = d->ring[t & d->mask];
  free(d->ring);
  d->ring = fresh;
  d->mask = 2 * cap - 1;
}

static void raw_push(raw_dispatcher* d, raw_cb cb, void* data) {
  if (d->tail - d->head == d->mask + 1) raw_grow(d);
  d->ring[d->tail & d->mask].cb = cb;
  d->ring[d->tail & d->mask].data = data;
  ++d->tail;
  if (!uv_is_active((uv_handle_t*)&d->idle)) uv_idle_start(&d->idle, NULL);
}

static void raw_drain(uv_idle_t* idle) {
  raw_dispatcher* d = idle->data;
  size_t end = d->tail; /* one batch per iteration, like asyncio */
  while (d->head != end) {
    raw_entry e = d->ring[d->head & d->mask];
    ++d->head;
    e.cb(e.data);
  }
  if (d->head == d->tail) uv_idle_stop(idle);
}

static void raw_tick(void* data) {
  raw_dispatcher* d = data;
  if (d->remaining > 0) {
    --d->remaining;
    raw_push(d, raw_tick, d);
  }
}

void raw_dispatch_run(size_t total, size_t batch) {
  raw_dispatcher d;
  uv_loop_init(&d.loop);
  uv_idle_init(&d.loop, &d.idle);
  d.idle.data = &d;
  d.mask = 1023;
  d.ring = malloc((d.mask + 1) * sizeof *d.ring);
  d.head = d.tail = 0;
  d.remaining = total - batch;
  for (size_t i = 0; i < batch; ++i) {
    if (d.tail - d.head == d.mask + 1) raw_grow(&d);
    d.ring[d.tail & d.mask].cb = raw_tick;
    d.ring[d.tail & d.mask].data = &d;
    ++d.tail;
  }
  uv_idle_start(&d.idle, raw_drain);
  uv_run(&d.loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t*)&d.idle, NULL);
  uv_run(&d.loop, UV_RUN_DEFAULT);
  uv_loop_close(&d.loop);
  free(d.ring);
}

/* ---- timers ---- */

struct raw_timers {
  uv_loop_t loop;
  uv_timer_t* timers;
  size_t count;
  size_t fired;
};

static void raw_timer_fired(uv_timer_t* t) {
  raw_timers* r = t->data;
  ++r->fired;
}

raw_timers* raw_timers_create(size_t count) {
  raw_timers* r = malloc(sizeof *r);
  uv_loop_init(&r->loop);
  r->timers = malloc(count * sizeof *r->timers);
  r->count = count;
  for (size_t i = 0; i < count; ++i) {
    uv_timer_init(&r->loop, &r->timers[i]);
    r->timers[i].data = r;
  }
  return r;
}

void raw_timers_run(raw_timers* r) {
  r->fired = 0;
  uv_update_time(&r->loop);
  for (size_t i = 0; i < r->count; ++i) uv_timer_start(&r->timers[i], raw_timer_fired, (i * 7919) % 10, 0);
  for (size_t i = 0; i < r->count; i += 2) uv_timer_stop(&r->timers[i]);
  uv_run(&r->loop, UV_RUN_DEFAULT);
}

void raw_timers_destroy(raw_timers* r) {
  for (size_t i = 0; i < r->count; ++i) uv_close((uv_handle_t*)&r->timers[i], NULL);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_loop_close(&r->loop);
  free(r->timers);
  free(r);
}
