#include "raw_io.h"

#include <string.h>
#include <uv.h>

/* ---- UDP echo ---- */

typedef struct {
  uv_loop_t loop;
  uv_udp_t server;
  uv_udp_t client;
  char buffer[65536];
  char* payload;
  size_t size;
  size_t to_send;
  size_t echoed;
  size_t total;
} raw_udp;

static void raw_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  raw_udp* r = handle->data;
  (void)suggested;
  *buf = uv_buf_init(r->buffer, sizeof r->buffer);
}

static void raw_send_one(raw_udp* r) {
  uv_buf_t buf = uv_buf_init(r->payload, (unsigned)r->size);
  if (r->to_send == 0) return;
  --r->to_send;
  uv_udp_try_send(&r->client, &buf, 1, NULL);
}

static void raw_server_read(uv_udp_t* udp, ssize_t n, const uv_buf_t* buf, const struct sockaddr* from, unsigned flags) {
  uv_buf_t out;
  (void)flags;
  if (n <= 0 || from == NULL) return;
  out = uv_buf_init(buf->base, (unsigned)n);
  uv_udp_try_send(udp, &out, 1, from);
}

static void raw_client_read(uv_udp_t* udp, ssize_t n, const uv_buf_t* buf, const struct sockaddr* from, unsigned flags) {
  raw_udp* r = udp->data;
  (void)buf;
  (void)flags;
  if (n <= 0 || from == NULL) return;
  if (++r->echoed == r->total) {
    uv_close((uv_handle_t*)&r->client, NULL);
    uv_close((uv_handle_t*)&r->server, NULL);
    return;
  }
  raw_send_one(r);
}

size_t raw_udp_echo_run(size_t total, size_t window, size_t size) {
  static raw_udp r;
  static char payload[65536];
  struct sockaddr_in any, bound;
  int length = sizeof bound;
  size_t i;
  memset(payload, 'u', sizeof payload);
  uv_loop_init(&r.loop);
  r.payload = payload;
  r.size = size;
  r.to_send = total;
  r.echoed = 0;
  r.total = total;
  uv_udp_init(&r.loop, &r.server);
  uv_udp_init(&r.loop, &r.client);
  r.server.data = r.client.data = &r;
  uv_ip4_addr("127.0.0.1", 0, &any);
  uv_udp_bind(&r.server, (const struct sockaddr*)&any, 0);
  uv_udp_getsockname(&r.server, (struct sockaddr*)&bound, &length);
  uv_udp_connect(&r.client, (const struct sockaddr*)&bound);
  uv_udp_recv_start(&r.server, raw_alloc, raw_server_read);
  uv_udp_recv_start(&r.client, raw_alloc, raw_client_read);
  for (i = 0; i < window; ++i) raw_send_one(&r);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  uv_loop_close(&r.loop);
  return r.echoed;
}

/* ---- whole-file read ---- */

typedef struct {
  uv_fs_t request;
  uv_file fd;
  char* buffer;
  size_t capacity;
  size_t filled;
} raw_reader;

static void raw_read_next(raw_reader* r);

static void raw_on_close(uv_fs_t* request) { uv_fs_req_cleanup(request); }

static void raw_on_read(uv_fs_t* request) {
  raw_reader* r = request->data;
  ssize_t n = request->result;
  uv_fs_req_cleanup(request);
  if (n <= 0 || r->filled + (size_t)n >= r->capacity) {
    if (n > 0) r->filled += (size_t)n;
    uv_fs_close(request->loop, &r->request, r->fd, raw_on_close);
    return;
  }
  r->filled += (size_t)n;
  raw_read_next(r);
}

static void raw_read_next(raw_reader* r) {
  uv_buf_t buf = uv_buf_init(r->buffer + r->filled, (unsigned)(r->capacity - r->filled));
  r->request.data = r;
  uv_fs_read(r->request.loop, &r->request, r->fd, &buf, 1, (int64_t)r->filled, raw_on_read);
}

static void raw_on_open(uv_fs_t* request) {
  raw_reader* r = request->data;
  r->fd = (uv_file)request->result;
  uv_fs_req_cleanup(request);
  if (r->fd < 0) return;
  raw_read_next(r);
}

size_t raw_read_file(const char* path, char* buffer, size_t capacity) {
  uv_loop_t loop;
  raw_reader r;
  uv_loop_init(&loop);
  memset(&r, 0, sizeof r);
  r.buffer = buffer;
  r.capacity = capacity;
  r.request.data = &r;
  r.request.loop = &loop;
  uv_fs_open(&loop, &r.request, path, UV_FS_O_RDONLY, 0, raw_on_open);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return r.filled;
}
