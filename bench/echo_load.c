/* Load generator for the echo benchmarks, in plain libuv C so that the
 * client costs the same whichever server it drives. Each connection sends
 * a message, waits for all of it to come back, and sends again
 * (ping-pong).
 *
 *   echo_load PORT CONNECTIONS MESSAGE_BYTES (SECONDS | -REQUESTS)
 *   echo_load PORT CONNECTIONS hold
 *
 * With SECONDS it prints one line:
 *   requests=N seconds=S rps=R p50_us=A p99_us=B
 * With -REQUESTS it stops after that many round trips in all (for
 * instruction and system-call counts, which need a fixed amount of work).
 * With "hold" it opens the connections, prints "connected N" and keeps
 * them idle until SIGTERM (for memory per idle connection). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <uv.h>

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  size_t received;
  uint64_t sent_at;
} connection;

static uv_loop_t* loop;
static connection* connections;
static int connection_count;
static size_t message_bytes;
static char* message;
static char read_buffer[256 * 1024];
static uint64_t deadline;
static long request_limit;  /* 0: run until the deadline */
static long requests;
static uint32_t* latencies_us;
static size_t latency_capacity, latency_count;
static int stopping;
static int holding, connected;
static uv_signal_t stop_signal;

static void send_message(connection* c);

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  (void)suggested;
  buf->base = read_buffer;
  buf->len = sizeof read_buffer;
}

static void stop_all(void) {
  if (stopping) return;
  stopping = 1;
  for (int i = 0; i < connection_count; ++i) uv_close((uv_handle_t*)&connections[i].tcp, NULL);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  (void)buf;
  connection* c = (connection*)stream;
  if (nread < 0) {
    fprintf(stderr, "read error: %s\n", uv_strerror((int)nread));
    stop_all();
    return;
  }
  c->received += (size_t)nread;
  if (c->received < message_bytes) return;
  c->received = 0;
  uint64_t now = uv_hrtime();
  if (latency_count == latency_capacity) {
    latency_capacity = latency_capacity ? 2 * latency_capacity : 1 << 16;
    latencies_us = realloc(latencies_us, latency_capacity * sizeof *latencies_us);
  }
  latencies_us[latency_count++] = (uint32_t)((now - c->sent_at) / 1000);
  ++requests;
  if ((request_limit > 0 && requests >= request_limit) || (request_limit == 0 && now >= deadline)) {
    stop_all();
    return;
  }
  send_message(c);
}

static void on_written(uv_write_t* request, int status) {
  (void)request;
  if (status < 0 && !stopping) {
    fprintf(stderr, "write error: %s\n", uv_strerror(status));
    stop_all();
  }
}

static void send_message(connection* c) {
  c->sent_at = uv_hrtime();
  uv_buf_t buf = uv_buf_init(message, (unsigned)message_bytes);
  int written = uv_try_write((uv_stream_t*)&c->tcp, &buf, 1);
  if (written == (int)message_bytes) return;
  if (written < 0) written = 0;
  buf = uv_buf_init(message + written, (unsigned)(message_bytes - (size_t)written));
  uv_write(&c->write, (uv_stream_t*)&c->tcp, &buf, 1, on_written);
}

static void on_connected(uv_connect_t* request, int status) {
  connection* c = (connection*)request->data;
  if (status < 0) {
    fprintf(stderr, "connect error: %s\n", uv_strerror(status));
    exit(1);
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (holding) {
    if (++connected == connection_count) {
      printf("connected %d\n", connected);
      fflush(stdout);
    }
    return;
  }
  uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
  send_message(c);
}

static void on_stop_signal(uv_signal_t* watcher, int signum) {
  (void)signum;
  uv_close((uv_handle_t*)watcher, NULL);
  stop_all();
}

static int compare(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc != 5 && !(argc == 4 && strcmp(argv[3], "hold") == 0)) {
    fprintf(stderr, "usage: %s PORT CONNECTIONS MESSAGE_BYTES (SECONDS | -REQUESTS)\n", argv[0]);
    return 2;
  }
  const int port = atoi(argv[1]);
  connection_count = atoi(argv[2]);
  holding = strcmp(argv[3], "hold") == 0;
  message_bytes = holding ? 1 : (size_t)atol(argv[3]);
  const double amount = holding ? 0 : atof(argv[4]);
  if (amount < 0) request_limit = (long)-amount;
  loop = uv_default_loop();
  message = malloc(message_bytes);
  memset(message, 'm', message_bytes);
  connections = calloc((size_t)connection_count, sizeof *connections);
  struct sockaddr_in address;
  uv_ip4_addr("127.0.0.1", port, &address);
  const uint64_t start = uv_hrtime();
  deadline = start + (uint64_t)(amount * 1e9);
  if (holding) {
    uv_signal_init(loop, &stop_signal);
    uv_signal_start(&stop_signal, on_stop_signal, SIGTERM);
  }
  for (int i = 0; i < connection_count; ++i) {
    uv_tcp_init(loop, &connections[i].tcp);
    connections[i].connect.data = &connections[i];
    uv_tcp_connect(&connections[i].connect, &connections[i].tcp, (const struct sockaddr*)&address, on_connected);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  if (holding) return 0;
  const double seconds = (double)(uv_hrtime() - start) / 1e9;
  qsort(latencies_us, latency_count, sizeof *latencies_us, compare);
  const uint32_t p50 = latency_count ? latencies_us[latency_count / 2] : 0;
  const uint32_t p99 = latency_count ? latencies_us[latency_count * 99 / 100] : 0;
  printf("requests=%ld seconds=%.3f rps=%.0f p50_us=%u p99_us=%u\n", requests, seconds, (double)requests / seconds, p50, p99);
  uv_loop_close(loop);
  return 0;
}
