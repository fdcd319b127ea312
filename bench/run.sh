#!/usr/bin/env bash
# bench/run.sh: `flotilla balance` side by side with HAProxy and nginx, in one run, on loopback.
#
#   make bench                      # installs nginx, haproxy, wrk if missing, builds, runs this
#   REPEATS=1 DURATION=5 PARTS=throughput bench/run.sh     # a quick look
#
# Slot (2-core machine): the proxy under test (one thread) and 4 nginx backends share CPU 0,
# wrk runs on CPU 1. Backends answer `200 "ok\n"`.
#
# Parts (PARTS, default "throughput failover"):
#   throughput  flotilla (1 thread), HAProxy (nbthread 1), nginx (1 worker) and flotilla with
#               2 threads on CPUs 0-1 (sharing CPU 1 with wrk), all up at once; for each
#               connection count a warm-up per proxy, then REPEATS rounds in which each proxy
#               gets one DURATION run in turn (interleaved). Medians of req/s, p50, p99; peak RSS.
#   failover    64 connections for FAILOVER_SECONDS; one of the 4 backends gets SIGKILL
#               (master and worker) at KILL_AT s; client errors = non-2xx + socket errors.
#               flotilla, then HAProxy (retries 3 + redispatch), each with fresh backends.
#
# Knobs: REPEATS [3], DURATION [10] s, WARMUP [2] s, CONNS ["64 256"], FAILOVER_SECONDS [20],
# KILL_AT [5], PORT_BASE [19080], SUT_CPU [0], LOADGEN_CPU [1], FLOTILLA [build/bin/flotilla],
# OUT [bench/results/<time>]. Every wrk run is bounded by -d; every wait by a count.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

REPEATS=${REPEATS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-"64 256"}
PARTS=${PARTS:-"throughput failover"}
FAILOVER_SECONDS=${FAILOVER_SECONDS:-20}
KILL_AT=${KILL_AT:-5}
FLOTILLA=${FLOTILLA:-$BENCH_DIR/../build/bin/flotilla}
OUT=${OUT:-$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)}
RUN=$OUT/run
FLOTILLA_2T_PORT=$((PORT_BASE + 5))

for tool in nginx haproxy wrk curl taskset perl; do
  command -v "$tool" > /dev/null || { echo "bench: $tool is missing; run 'make bench' (installs nginx haproxy wrk)" >&2; exit 2; }
done
[[ -x "$FLOTILLA" ]] || { echo "bench: no flotilla at $FLOTILLA; run 'make bench' or set FLOTILLA" >&2; exit 2; }
mkdir -p "$RUN"

cleanup() {
  stop_flotilla flotilla; stop_flotilla flotilla-2t
  stop_haproxy; stop_nginx_proxy
  for ((n = 1; n <= BACKENDS; n++)); do stop_backend "$n"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo "date: $(date -Is)"
  echo "kernel: $(uname -r), cpus: $(nproc)"
  echo "flotilla: $FLOTILLA"
  haproxy -v | sed -n 1p  # sed reads it all: head's early exit would fail the pipe
  nginx -v 2>&1
  wrk -v 2>&1 | head -1 || true
  echo "REPEATS=$REPEATS DURATION=$DURATION WARMUP=$WARMUP CONNS=\"$CONNS\" SUT_CPU=$SUT_CPU LOADGEN_CPU=$LOADGEN_CPU"
} > "$OUT/versions.txt"

start_backends() { local n; for ((n = 1; n <= BACKENDS; n++)); do start_backend "$n"; done; }
stop_backends() { local n; for ((n = 1; n <= BACKENDS; n++)); do stop_backend "$n"; done; }

url_of() {
  case $1 in
    flotilla) echo "http://127.0.0.1:$FLOTILLA_PORT/" ;;
    flotilla-2t) echo "http://127.0.0.1:$FLOTILLA_2T_PORT/" ;;
    haproxy) echo "http://127.0.0.1:$HAPROXY_PORT/" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PROXY_PORT/" ;;
  esac
}
pids_of() {
  case $1 in
    flotilla | flotilla-2t) flotilla_pids "$1" ;;
    haproxy) haproxy_pids ;;
    nginx) nginx_proxy_pids ;;
  esac
}

# measure LABEL CONNS ROUND: one wrk run; appends a row to runs.tsv.
measure() {
  local label=$1 c=$2 r=$3 url pids raw rss t0 t1 s0 s1 sampler
  url=$(url_of "$label"); pids=$(pids_of "$label")
  raw="$OUT/wrk-$label-c$c-r$r.txt"; rss="$OUT/rss-$label-c$c-r$r.txt"; : > "$rss"; rm -f "$rss.stop"
  # shellcheck disable=SC2086
  rss_sampler "$rss" $(((DURATION + 5) * 2)) $pids & sampler=$!
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids); s0=$(date +%s.%N)
  on_cpu "$LOADGEN_CPU" wrk -t1 -c"$c" -d"${DURATION}s" --timeout 2s --latency "$url" > "$raw" 2>&1 || true
  s1=$(date +%s.%N)
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids)
  touch "$rss.stop"; wait "$sampler" 2>/dev/null || true
  local rps p50 p99 serr non2 peak cpu
  rps=$(awk '/^Requests\/sec:/{print $2}' "$raw"); rps=${rps:-0}
  p50=$(to_ms "$(awk '$1=="50%"{print $2}' "$raw")")
  p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$raw")")
  serr=$(awk '/Socket errors:/{gsub(",",""); print $4+$6+$8+$10}' "$raw"); serr=${serr:-0}
  non2=$(awk '/Non-2xx or 3xx responses:/{print $5}' "$raw"); non2=${non2:-0}
  peak=$(sort -n "$rss" | tail -1); peak=${peak:-0}
  cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" -v s0="$s0" -v s1="$s1" 'BEGIN{printf "%.0f", 100*(b-a)/hz/(s1-s0)}')
  printf "%-12s c=%-4s run %d: %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  RSS %6.1f MB  cpu %4s%%  errors %s\n" \
    "$label" "$c" "$r" "$rps" "$p50" "$p99" "$(awk -v k="$peak" 'BEGIN{print k/1024}')" "$cpu" "$((serr + non2))" >&2
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$label" "$c" "$r" "$rps" "$p50" "$p99" "$peak" "$cpu" "$((serr + non2))" >> "$OUT/runs.tsv"
}

# col LABEL CONNS FIELD -> median over the runs (fields: 4 rps, 5 p50, 6 p99, 7 rss kB, 8 cpu)
col() { awk -F'\t' -v l="$1" -v c="$2" -v f="$3" '$1==l && $2==c {print $f}' "$OUT/runs.tsv" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }

throughput() {
  local labels="flotilla haproxy nginx flotilla-2t" c r label
  start_backends
  start_flotilla flotilla 1 "$SUT_CPU" "$FLOTILLA_PORT"
  start_flotilla flotilla-2t 2 "$SUT_CPU${LOADGEN_CPU:+,$LOADGEN_CPU}" "$FLOTILLA_2T_PORT"
  start_haproxy
  start_nginx_proxy
  sleep 3  # HAProxy needs `rise 2` x `inter 1s` before it routes to all 4
  echo -e "label\tconns\trun\trps\tp50_ms\tp99_ms\tpeak_rss_kb\tcpu_pct\terrors" > "$OUT/runs.tsv"
  for c in $CONNS; do
    for label in $labels; do
      on_cpu "$LOADGEN_CPU" wrk -t1 -c"$c" -d"${WARMUP}s" --timeout 2s "$(url_of "$label")" > "$OUT/warmup-$label-c$c.txt" 2>&1 || true
    done
    for ((r = 1; r <= REPEATS; r++)); do
      for label in $labels; do measure "$label" "$c" "$r"; done
    done
  done
  stop_flotilla flotilla; stop_flotilla flotilla-2t; stop_haproxy; stop_nginx_proxy; stop_backends

  {
    echo
    echo "Throughput, medians of $REPEATS x ${DURATION}s (proxy + 4 backends on CPU $SUT_CPU, wrk on CPU $LOADGEN_CPU)"
    printf "%-12s %5s %10s %8s %8s %9s %6s %7s\n" proxy conns req/s p50_ms p99_ms peakRSS cpu% errors
    for c in $CONNS; do
      for label in $labels; do
        printf "%-12s %5s %10.0f %8s %8s %8.1fM %6s %7s\n" "$label" "$c" "$(col "$label" "$c" 4)" \
          "$(col "$label" "$c" 5)" "$(col "$label" "$c" 6)" \
          "$(awk -F'\t' -v l="$label" -v c="$c" '$1==l && $2==c {if ($7 > m) m = $7} END {print m/1024}' "$OUT/runs.tsv")" \
          "$(col "$label" "$c" 8)" \
          "$(awk -F'\t' -v l="$label" -v c="$c" '$1==l && $2==c {s += $9} END {print s+0}' "$OUT/runs.tsv")"
      done
    done
    echo
    echo "Ratios (median req/s; p99: lower is better)"
    for c in $CONNS; do
      printf "c=%-4s flotilla/haproxy %s  flotilla/nginx %s  p99 flotilla/haproxy %s  2 threads/1 thread %s\n" "$c" \
        "$(ratio "$(col flotilla "$c" 4)" "$(col haproxy "$c" 4)")" \
        "$(ratio "$(col flotilla "$c" 4)" "$(col nginx "$c" 4)")" \
        "$(ratio "$(col flotilla "$c" 6)" "$(col haproxy "$c" 6)")" \
        "$(ratio "$(col flotilla-2t "$c" 4)" "$(col flotilla "$c" 4)")"
    done
    echo "(peak RSS: the largest of the runs; flotilla-2t runs on CPUs ${SUT_CPU}${LOADGEN_CPU:+,$LOADGEN_CPU} and shares one with wrk)"
  } | tee "$OUT/summary-throughput.txt"
}

# failover_one LABEL: fresh backends, 64 connections, SIGKILL backend 2 at KILL_AT.
failover_one() {
  local label=$1 raw="$OUT/failover-$1.txt"
  start_backends
  case $label in
    flotilla) start_flotilla flotilla 1 "$SUT_CPU" "$FLOTILLA_PORT" ;;
    haproxy) start_haproxy ;;
  esac
  sleep 3
  on_cpu "$LOADGEN_CPU" wrk -t1 -c64 -d"${FAILOVER_SECONDS}s" --timeout 10s --latency \
    -s "$BENCH_DIR/failover.lua" "$(url_of "$label")" > "$raw" 2>&1 &
  local load=$!
  sleep "$KILL_AT"
  kill_backend 2
  say "$label: backend 2 killed (SIGKILL) at ~${KILL_AT}s"
  wait "$load" || true
  case $label in
    flotilla) cp "$RUN/flotilla.err" "$OUT/failover-flotilla-log.txt"; stop_flotilla flotilla ;;
    haproxy) stop_haproxy ;;
  esac
  stop_backends
  awk -v l="$label" '/^FAILOVER responses/{printf "%-9s responses %9d  errors %5d  (non-2xx %d, connect %d, read %d, write %d, timeout %d)", l, $3, $5+$7+$9+$11+$13, $5, $7, $9, $11, $13}
                     /^FAILOVER status/{codes = codes " " $3 "x" $4}
                     /^FAILOVER p99_ms/{printf "  p99 %s ms  max %s ms", $3, $5}
                     END {print (codes == "" ? "" : "  non-2xx by status:" codes)}' "$raw"
}

failover() {
  {
    echo
    echo "Failover: 64 connections, ${FAILOVER_SECONDS}s, 1 of $BACKENDS backends SIGKILLed at ${KILL_AT}s"
    failover_one flotilla
    failover_one haproxy
  } | tee "$OUT/summary-failover.txt"
}

for part in $PARTS; do
  case $part in
    throughput) throughput ;;
    failover) failover ;;
    *) echo "bench: unknown part $part (throughput, failover)" >&2; exit 2 ;;
  esac
done
echo "results: $OUT"
