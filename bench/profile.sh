#!/usr/bin/env bash
# bench/profile.sh: the repeatable cost of one proxied request, for `flotilla balance` (1 thread,
# the bench config) and HAProxy (nbthread 1, the bench config), on the same 4 nginx backends:
#
#   callgrind  user-space instructions per request (valgrind's count, the same on a busy or an
#              idle machine): counters zeroed after a warm-up, dumped after a wrk run, less an
#              idle spell of the same length.
#   strace     system calls per request (strace -c -f attached after a warm-up, for one wrk run),
#              with the calls by name.
#   cpu        at full speed (no tracer): CPU time per request, user and system, of the proxy and
#              of the 4 backends that share its CPU (from /proc/PID/stat over one wrk run), and
#              where the proxy's time goes (perf record over a second run): user space, and the
#              kernel by system call (each call's share includes what the kernel does inside it,
#              such as loopback delivery to the peer on a send) and outside any call.
#
#   make bench-profile                                   # both tools, c=64 and c=256
#   TOOLS=strace CONNS=64 DURATION=5 bench/profile.sh    # a quick look
#
# Requests are the ones wrk completed; the health checks each proxy sends meanwhile (1 s
# interval, 4 targets) are counted in its cost. Under either tool the proxy is slower than
# normal, so more events arrive per wakeup than at full speed: compare the two proxies with
# each other, not with the figures of bench/run.sh.
#
# Knobs: TOOLS ["callgrind strace cpu"], PROXIES ["flotilla haproxy"], CONNS ["64 256"],
# DURATION [10] s, WARMUP [2] s, PORT_BASE [19080], SUT_CPU [0], LOADGEN_CPU [1],
# FLOTILLA [build/bin/flotilla], OUT [bench/results/profile-<time>].
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TOOLS=${TOOLS:-"callgrind strace cpu"}
PROXIES=${PROXIES:-"flotilla haproxy"}
CONNS=${CONNS:-"64 256"}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
FLOTILLA=${FLOTILLA:-$BENCH_DIR/../build/bin/flotilla}
OUT=${OUT:-$BENCH_DIR/results/profile-$(date +%Y%m%d-%H%M%S)}
RUN=$OUT/run

needs="nginx haproxy wrk curl taskset perl"
[[ " $TOOLS " == *" callgrind "* ]] && needs+=" valgrind callgrind_control"
[[ " $TOOLS " == *" strace "* ]] && needs+=" strace"
[[ " $TOOLS " == *" cpu "* ]] && needs+=" perf"
for tool in $needs; do
  command -v "$tool" > /dev/null || { echo "bench: $tool is missing; run 'make bench-profile'" >&2; exit 2; }
done
[[ -x "$FLOTILLA" ]] || { echo "bench: no flotilla at $FLOTILLA; run 'make bench-profile' or set FLOTILLA" >&2; exit 2; }
mkdir -p "$RUN"

SUT_PID=""
stop_sut() {
  [[ -n "$SUT_PID" ]] || return 0
  stop_pid "$SUT_PID"
  wait "$SUT_PID" 2>/dev/null || true
  SUT_PID=""
}
cleanup() {
  stop_sut
  for ((n = 1; n <= BACKENDS; n++)); do stop_backend "$n"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_of() { case $1 in flotilla) echo "$FLOTILLA_PORT" ;; haproxy) echo "$HAPROXY_PORT" ;; esac; }

# start_sut PROXY PREFIX...: the proxy in the foreground of a background job (PREFIX: valgrind's
# command line, or nothing), pinned to SUT_CPU; SUT_PID is the pid the prefix runs as.
start_sut() {
  local proxy=$1 cmd targets=() n; shift
  case $proxy in
    flotilla)
      for ((n = 1; n <= BACKENDS; n++)); do targets+=(--target "127.0.0.1:$(backend_port "$n")"); done
      cmd=("$FLOTILLA" balance --config "$BENCH_DIR/conf/flotilla-balance.json"
        --listen "127.0.0.1:$FLOTILLA_PORT" --threads 1 "${targets[@]}")
      ;;
    haproxy)
      render "$BENCH_DIR/conf/haproxy.cfg.tmpl" "$RUN/haproxy.cfg" RUN="$RUN" PORT="$HAPROXY_PORT" \
        SERVERS="$(servers_lines 'server b%d 127.0.0.1:%d')"
      cmd=(haproxy -db -f "$RUN/haproxy.cfg")  # -db: foreground, no fork
      ;;
  esac
  cmd=("$@" "${cmd[@]}")
  [[ -n "$SUT_CPU" ]] && cmd=(taskset -c "$SUT_CPU" "${cmd[@]}")
  # taskset and valgrind exec their command, so $! is the proxy's pid (not a subshell's).
  "${cmd[@]}" > "$RUN/$proxy.out" 2> "$RUN/$proxy.err" &
  SUT_PID=$!
  # Under valgrind the start takes seconds; then health checks need rise 2 x 1 s.
  wait_ok "http://127.0.0.1:$(port_of "$proxy")/" 600 || { say "$proxy did not start: $(tail -3 "$RUN/$proxy.err")"; return 1; }
  sleep 3
}

# load PROXY CONNS SECONDS OUTFILE: one bounded wrk run; prints the requests it completed.
load() {
  on_cpu "$LOADGEN_CPU" wrk -t1 -c"$2" -d"${3}s" --timeout 10s "http://127.0.0.1:$(port_of "$1")/" > "$4" 2>&1 || true
  awk '/ requests in /{print $1}' "$4"
}

per() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1f", a/b; else print "-" }'; }

# callgrind_one PROXY CONNS: Ir between a zero after the warm-up and a dump after the run, less
# the Ir of as long an idle spell just before it (timers and health checks: under callgrind the
# proxy serves a few thousand requests per second, so these would otherwise weigh in).
callgrind_one() {
  local proxy=$1 c=$2 dir="$RUN/callgrind-$1-c$2" requests idle busy
  mkdir -p "$dir"
  start_sut "$proxy" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    --dump-instr=no --collect-jumps=no
  load "$proxy" "$c" "$WARMUP" "$dir/warmup.txt" > /dev/null
  callgrind_control -z "$SUT_PID" > /dev/null 2>&1
  sleep "$DURATION"
  callgrind_control -d "$SUT_PID" > /dev/null 2>&1  # part 1: idle
  callgrind_control -z "$SUT_PID" > /dev/null 2>&1
  requests=$(load "$proxy" "$c" "$DURATION" "$dir/wrk.txt")
  callgrind_control -d "$SUT_PID" > /dev/null 2>&1  # part 2: under load
  stop_sut
  idle=$(awk '/^(summary|totals):/{print $2; exit}' "$dir/callgrind.out.1" 2>/dev/null || echo 0)
  busy=$(awk '/^(summary|totals):/{print $2; exit}' "$dir/callgrind.out.2" 2>/dev/null || echo 0)
  requests=${requests:-0}
  printf "%-9s c=%-4s callgrind: %12s Ir (%s idle) / %8s requests = %8s instructions/request (%s with idle)\n" \
    "$proxy" "$c" "$busy" "$idle" "$requests" "$(per "$((busy - idle))" "$requests")" "$(per "$busy" "$requests")"
  printf "%s\t%s\tinstructions\t%s\t%s\t%s\n" "$proxy" "$c" "$((busy - idle))" "$requests" "$(per "$((busy - idle))" "$requests")" >> "$OUT/profile.tsv"
}

# strace_one PROXY CONNS: every thread's system calls during one run, by name.
strace_one() {
  local proxy=$1 c=$2 raw="$RUN/strace-$1-c$2" requests calls tracer i
  start_sut "$proxy"
  load "$proxy" "$c" "$WARMUP" "$raw.warmup.txt" > /dev/null
  strace -c -f -p "$SUT_PID" -o "$raw.txt" 2> "$raw.err" & tracer=$!
  for ((i = 0; i < 50; i++)); do grep -q 'Process .* attached' "$raw.err" 2>/dev/null && break; sleep 0.1; done
  requests=$(load "$proxy" "$c" "$DURATION" "$raw.wrk.txt")
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  stop_sut
  calls=$(awk '$NF=="total"{print $4}' "$raw.txt")
  printf "%-9s c=%-4s strace:    %12s calls / %8s requests = %8s syscalls/request:" \
    "$proxy" "$c" "${calls:-0}" "${requests:-0}" "$(per "${calls:-0}" "${requests:-0}")"
  # The calls by name, per request, most frequent first.
  awk -v r="${requests:-0}" '$NF!="total" && $4 ~ /^[0-9]+$/ && r > 0 {printf " %s %.2f", $NF, $4/r}' "$raw.txt"
  echo
  printf "%s\t%s\tsyscalls\t%s\t%s\t%s\n" "$proxy" "$c" "${calls:-0}" "${requests:-0}" "$(per "${calls:-0}" "${requests:-0}")" >> "$OUT/profile.tsv"
}

# ticks FIELD PID...: the summed utime (FIELD 14) or stime (15) of the pids, in clock ticks.
ticks() {
  local f=$1 t=0 p; shift
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(sed -E 's/^.*\) //' "/proc/$p/stat" | awk -v f="$f" '{print $(f - 2)}')))
  done
  echo "$t"
}
us_per() { awk -v t="$1" -v r="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN{ if (r > 0) printf "%.1f", 1e6 * t / hz / r; else print "-" }'; }

# cpu_one PROXY CONNS: CPU time per request at full speed, then a perf profile of the proxy.
cpu_one() {
  local proxy=$1 c=$2 raw="$RUN/cpu-$1-c$2" requests backends="" n pu0 ps0 bu0 bs0 pu1 ps1 bu1 bs1 rec
  start_sut "$proxy"
  for ((n = 1; n <= BACKENDS; n++)); do backends+=" $(backend_pids "$n")"; done
  load "$proxy" "$c" "$WARMUP" "$raw.warmup.txt" > /dev/null
  # shellcheck disable=SC2086
  { pu0=$(ticks 14 "$SUT_PID"); ps0=$(ticks 15 "$SUT_PID"); bu0=$(ticks 14 $backends); bs0=$(ticks 15 $backends); }
  requests=$(load "$proxy" "$c" "$DURATION" "$raw.wrk.txt")
  # shellcheck disable=SC2086
  { pu1=$(ticks 14 "$SUT_PID"); ps1=$(ticks 15 "$SUT_PID"); bu1=$(ticks 14 $backends); bs1=$(ticks 15 $backends); }
  perf record -q -g -o "$raw.perf" -p "$SUT_PID" -- sleep "$DURATION" > /dev/null 2>&1 & rec=$!
  load "$proxy" "$c" "$DURATION" "$raw.perf.wrk.txt" > /dev/null
  wait "$rec" || true
  stop_sut
  printf "%-9s c=%-4s cpu:       %8s requests, us/request: proxy %s user + %s system, backends %s user + %s system\n" \
    "$proxy" "$c" "${requests:-0}" "$(us_per $((pu1 - pu0)) "$requests")" "$(us_per $((ps1 - ps0)) "$requests")" \
    "$(us_per $((bu1 - bu0)) "$requests")" "$(us_per $((bs1 - bs0)) "$requests")"
  printf "%s\t%s\tcpu_us\t%s\t%s\t%s\n" "$proxy" "$c" "$((pu1 - pu0 + ps1 - ps0))" "${requests:-0}" \
    "$(us_per $((pu1 - pu0 + ps1 - ps0)) "$requests")" >> "$OUT/profile.tsv"
  # Samples by where they were taken: user space, or the system call (or other kernel entry,
  # such as a softirq at a syscall's exit or an interrupt) on the stack.
  perf script -i "$raw.perf" -F ip,sym 2> /dev/null | perl -ne '
    if (/^\s*$/) { if (defined $top) { $n{$where // ($top_kernel ? "kernel, no system call" : "user space")}++; $total++ }
                   undef $top; undef $where; $top_kernel = 0; next }
    my ($ip, $sym) = /^\s*([0-9a-f]+)\s+(\S+)/ or next;
    if (!defined $top) { $top = $sym; $top_kernel = hex(substr($ip, 0, 4)) >= 0xffff }
    # The call by any of the names that inlining in the kernel leaves on the stack.
    $where = $1 // $2 if !defined $where
                         && $sym =~ /^(?:__x64_sys_|__se_sys_|__do_sys_|__sys_|ksys_)(\w+)|^do_(epoll_\w+)/;
    END { printf "%-9s   where the time goes:", ""; for (sort { $n{$b} <=> $n{$a} } keys %n) {
            printf " %s %.0f%%;", $_, 100 * $n{$_} / $total if $n{$_} / $total >= 0.01 } print "\n" }'
}

{
  echo "date: $(date -Is)"
  echo "kernel: $(uname -r), cpus: $(nproc)"
  echo "flotilla: $FLOTILLA"
  haproxy -v | sed -n 1p  # sed reads it all: head's early exit would fail the pipe
  [[ " $TOOLS " == *" callgrind "* ]] && valgrind --version
  [[ " $TOOLS " == *" strace "* ]] && strace -V | sed -n 1p
  echo "TOOLS=\"$TOOLS\" PROXIES=\"$PROXIES\" CONNS=\"$CONNS\" DURATION=$DURATION WARMUP=$WARMUP"
} > "$OUT/versions.txt"
echo -e "proxy\tconns\tmeasure\ttotal\trequests\tper_request" > "$OUT/profile.tsv"

for ((n = 1; n <= BACKENDS; n++)); do start_backend "$n"; done
{
  echo "Cost per request (1 thread; proxy + 4 backends on CPU $SUT_CPU, wrk on CPU $LOADGEN_CPU, ${DURATION}s runs)"
  for tool in $TOOLS; do
    for c in $CONNS; do
      for proxy in $PROXIES; do
        case $tool in
          callgrind) callgrind_one "$proxy" "$c" ;;
          strace) strace_one "$proxy" "$c" ;;
          cpu) cpu_one "$proxy" "$c" ;;
          *) echo "bench: unknown tool $tool (callgrind, strace, cpu)" >&2; exit 2 ;;
        esac
      done
    done
  done
} | tee "$OUT/summary-profile.txt"
echo "results: $OUT"
