#!/bin/sh
# The echo benchmark: raw libuv C, aiouv protocol mode and aiouv streams
# mode, measured alternately in one run, servers pinned to CPU 0 and the
# load generator to CPU 1.
#
#   bench/echo_bench.sh [BUILD_DIR]      (default build/release)
#
# Prints, per server: requests/s and p50/p99 latency for 64 B and 4 KiB
# messages over 1 and 50 connections; user-space instructions per request
# (valgrind --tool=callgrind, 1 connection, 64 B); system calls per request
# (strace -c -f). The instruction and system-call counts take the
# difference between two runs of different lengths, so start-up and
# shutdown cancel out. Last, the server's memory per idle connection: RSS
# growth with 10,000 connections open (Linux: /proc; each process needs a
# file descriptor limit above 10,000, which the script tries to raise).
set -eu
build=${1:-build/release}
load=$build/bench/echo_load
seconds=${ECHO_SECONDS:-3}

start_server() {  # start_server NAME [wrapper...]: sets $pid, $port
  name=$1; shift
  server_output=$(mktemp)
  case $name in
    raw) "$@" "$build/bench/raw_echo_server" 0 >"$server_output" 2>&1 & ;;
    protocol) "$@" "$build/samples/echo_server" --port 0 --mode protocol >"$server_output" 2>&1 & ;;
    streams) "$@" "$build/samples/echo_server" --port 0 --mode streams >"$server_output" 2>&1 & ;;
  esac
  pid=$!
  while ! grep -q "listening on" "$server_output"; do sleep 0.05; done
  port=$(grep "listening on" "$server_output" | sed 's/.*://')
  rm -f "$server_output"
}

stop_server() {
  # Under strace the server is strace's child: signal the server itself.
  pkill -TERM -P "$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

pin() { if command -v taskset >/dev/null; then taskset -c "$@"; else shift; "$@"; fi; }

echo "== throughput and latency (${seconds}s each; server on CPU 0, load on CPU 1) =="
printf "%-9s %6s %6s %10s %8s %8s\n" server conns bytes "req/s" "p50 us" "p99 us"
for conns in 1 50; do
  for bytes in 64 4096; do
    for name in raw protocol streams; do
      start_server "$name" pin 0
      result=$(pin 1 "$load" "$port" "$conns" "$bytes" "$seconds")
      stop_server
      rps=$(echo "$result" | sed 's/.*rps=\([0-9]*\).*/\1/')
      p50=$(echo "$result" | sed 's/.*p50_us=\([0-9]*\).*/\1/')
      p99=$(echo "$result" | sed 's/.*p99_us=\([0-9]*\).*/\1/')
      printf "%-9s %6s %6s %10s %8s %8s\n" "$name" "$conns" "$bytes" "$rps" "$p50" "$p99"
    done
  done
done

short=2000
long=12000
if command -v valgrind >/dev/null; then
  echo "== user-space instructions per request (callgrind, 1 connection, 64 B) =="
  for name in raw protocol streams; do
    total=""
    for n in $short $long; do
      dir=$(mktemp -d)
      start_server "$name" valgrind --tool=callgrind --callgrind-out-file="$dir/out" -q
      "$load" "$port" 1 64 "-$n" >/dev/null
      stop_server
      total="$total $(grep '^summary:' "$dir/out" | awk '{print $2}')"
      rm -rf "$dir"
    done
    echo "$name $total" | awk -v d=$((long - short)) '{printf "%-9s %8.0f instructions/request\n", $1, ($3 - $2) / d}'
  done
fi

if command -v strace >/dev/null; then
  echo "== system calls per request (strace -c -f, 1 connection, 64 B) =="
  for name in raw protocol streams; do
    total=""
    for n in $short $long; do
      trace=$(mktemp)
      start_server "$name" strace -c -f -o "$trace"
      "$load" "$port" 1 64 "-$n" >/dev/null
      stop_server
      total="$total $(grep ' total$' "$trace" | awk '{print $4}')"
      rm -f "$trace"
    done
    echo "$name $total" | awk -v d=$((long - short)) '{printf "%-9s %8.2f system calls/request\n", $1, ($3 - $2) / d}'
  done
fi

idle=${ECHO_IDLE_CONNECTIONS:-10000}
ulimit -n $((idle + 1000)) 2>/dev/null || true
if [ -r /proc/self/status ] && [ "$(ulimit -n)" -gt $((idle + 100)) ]; then
  echo "== memory per idle connection ($idle connections, server RSS growth) =="
  for name in raw protocol streams; do
    start_server "$name"
    before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    holder_output=$(mktemp)
    "$load" "$port" "$idle" hold >"$holder_output" &
    holder=$!
    while ! grep -q "connected" "$holder_output"; do sleep 0.1; done
    sleep 1  # let the server accept them all
    after=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    kill -TERM "$holder"; wait "$holder" 2>/dev/null || true
    rm -f "$holder_output"
    stop_server
    echo "$name $before $after" | awk -v n="$idle" '{printf "%-9s %8.0f bytes/connection\n", $1, ($3 - $2) * 1024 / n}'
  done
else
  echo "(memory per idle connection skipped: needs Linux and ulimit -n above $((idle + 100)))"
fi
