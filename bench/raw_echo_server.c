/* The baseline echo server: plain libuv C as an expert writes it. One read
 * buffer shared by all connections (reads are consumed at once), writes
 * tried with uv_try_write first and queued only when the kernel pushes
 * back.
 *
 *   raw_echo_server [PORT]     prints "listening on 127.0.0.1:PORT"
 *
 * Runs until SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static char read_buffer[64 * 1024];
static uv_loop_t* loop;
static uv_tcp_t server;
static uv_signal_t sigint_watcher, sigterm_watcher;

typedef struct {
  uv_write_t request;
  char data[];
} pending_write;

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  (void)suggested;
  buf->base = read_buffer;
  buf->len = sizeof read_buffer;
}

static void on_closed(uv_handle_t* handle) { free(handle); }

static void on_written(uv_write_t* request, int status) {
  (void)status;
  free(request);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    uv_close((uv_handle_t*)stream, on_closed);
    return;
  }
  if (nread == 0) return;
  uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
  int written = uv_try_write(stream, &out, 1);
  if (written == nread) return;
  if (written < 0 && written != UV_EAGAIN) {
    uv_close((uv_handle_t*)stream, on_closed);
    return;
  }
  if (written < 0) written = 0;
  size_t rest = (size_t)nread - (size_t)written;
  pending_write* pending = malloc(sizeof *pending + rest);
  memcpy(pending->data, buf->base + written, rest);
  uv_buf_t remaining = uv_buf_init(pending->data, (unsigned)rest);
  uv_write(&pending->request, stream, &remaining, 1, on_written);
}

static void on_connection(uv_stream_t* listener, int status) {
  if (status < 0) return;
  uv_tcp_t* client = malloc(sizeof *client);
  uv_tcp_init(loop, client);
  if (uv_accept(listener, (uv_stream_t*)client) != 0) {
    uv_close((uv_handle_t*)client, on_closed);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start((uv_stream_t*)client, on_alloc, on_read);
}

static void close_any(uv_handle_t* handle, void* arg) {
  (void)arg;
  if (!uv_is_closing(handle)) uv_close(handle, handle->type == UV_TCP && handle != (uv_handle_t*)&server ? on_closed : NULL);
}

static void on_signal(uv_signal_t* watcher, int signum) {
  (void)watcher;
  (void)signum;
  uv_walk(loop, close_any, NULL);
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  struct sockaddr_in address;
  uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, &address);
  uv_tcp_init(loop, &server);
  if (uv_tcp_bind(&server, (const struct sockaddr*)&address, 0) != 0 ||
      uv_listen((uv_stream_t*)&server, 128, on_connection) != 0) {
    fprintf(stderr, "cannot listen\n");
    return 1;
  }
  struct sockaddr_storage bound;
  int length = sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr*)&bound, &length);
  printf("listening on 127.0.0.1:%d\n", ntohs(((struct sockaddr_in*)&bound)->sin_port));
  fflush(stdout);
  uv_signal_init(loop, &sigint_watcher);
  uv_signal_start(&sigint_watcher, on_signal, SIGINT);
  uv_signal_init(loop, &sigterm_watcher);
  uv_signal_start(&sigterm_watcher, on_signal, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}
