#!/usr/bin/env bash
# Server benchmark: uncached and cached /api/energy latency, cached throughput under
# wrk (32 connections), and the server's memory before and after ~100,000 requests.
#   bench/server_bench.sh [seconds-per-wrk-run]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
port=$((20000 + RANDOM % 20000))
db=$(mktemp -u /tmp/irene-bench-XXXX.sqlite)
build/irene serve --port "$port" --db "$db" >/tmp/irene-bench-server.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$db"*' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/api/energy?model=bert-base-uncased&batch_size=8&seq_len=128"

echo "uncached /api/energy, bert-base-uncased, one new configuration each:"
for s in 128 120 112 104 96; do
  curl -s -o /dev/null -w "  seq_len=$s: %{time_total} s, %{size_download} bytes\n" \
    "http://127.0.0.1:$port/api/energy?model=bert-base-uncased&batch_size=8&seq_len=$s"
done
echo "cached /api/energy, single client, 200 requests:"
for _ in $(seq 200); do curl -s -o /dev/null -w "%{time_total}\n" "$url"; done | sort -n |
  awk '{a[NR]=$1} END {printf "  median %.2f ms, p99 %.2f ms\n", a[int(NR/2)]*1000, a[int(NR*0.99)]*1000}'
echo "cached /api/energy as a browser asks (Accept-Encoding: gzip, deflate, br, zstd), 200 requests:"
for _ in $(seq 200); do
  curl -s -o /dev/null -H "Accept-Encoding: gzip, deflate, br, zstd" -w "%{time_total} %{size_download}\n" "$url"
done | sort -n |
  awk '{a[NR]=$1; b=$2} END {printf "  median %.2f ms, p99 %.2f ms, %d bytes\n", a[int(NR/2)]*1000, a[int(NR*0.99)]*1000, b}'
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
echo "RSS before load: $(rss) KiB"
echo "wrk, 32 connections, ${secs} s:"
wrk -t2 -c32 -d"${secs}s" --latency "$url" | grep -E "Latency|50%|99%|requests in|Requests/sec|errors|Non-2xx"
echo "RSS after: $(rss) KiB"
wrk -t2 -c32 -d"${secs}s" "$url" | grep -E "requests in|Requests/sec"
echo "wrk, 32 connections, ${secs} s, gzip as browsers get it:"
wrk -t2 -c32 -d"${secs}s" -H "Accept-Encoding: gzip, deflate, br" --latency "$url" |
  grep -E "50%|99%|requests in|Requests/sec|errors|Non-2xx"
echo "RSS after another run: $(rss) KiB"
