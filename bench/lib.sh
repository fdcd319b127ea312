# shellcheck shell=bash
# Helpers for bench/run.sh. Source it. Everything listens on 127.0.0.1; every process started
# here is recorded by pid in $RUN and stopped by that pid only.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT_BASE=${PORT_BASE:-19080}            # flotilla on BASE, backends BASE+1..BASE+4
export FLOTILLA_PORT=$PORT_BASE
HAPROXY_PORT=$((PORT_BASE - 10))
NGINX_PROXY_PORT=$((PORT_BASE + 10))
BACKENDS=${BACKENDS:-4}
SUT_CPU=${SUT_CPU-0}                     # proxies and backends; "" = no pinning
LOADGEN_CPU=${LOADGEN_CPU-1}             # wrk; "" = no pinning

say() { echo "[$(date +%H:%M:%S)] $*" >&2; }

on_cpu() {  # on_cpu CPULIST CMD... ("" = not pinned)
  local cpus=$1; shift
  if [[ -n "$cpus" ]]; then taskset -c "$cpus" "$@"; else "$@"; fi
}

alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
kids() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' | tr '\n' ' ' || true; }

# wait_ok URL [tenths]: until URL answers 2xx, at most tenths/10 seconds.
wait_ok() {
  local i
  for ((i = 0; i < ${2:-100}; i++)); do
    curl -sf -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  return 1
}

# render TEMPLATE OUT KEY=VALUE...: replaces @KEY@ (a line that is exactly @SERVERS@ may hold
# several lines).
render() {
  local tmpl=$1 out=$2; shift 2
  cp "$tmpl" "$out"
  local kv key value
  for kv in "$@"; do
    key=${kv%%=*}; value=${kv#*=}
    KEY="@$key@" VALUE="$value" perl -0pi -e 's/\Q$ENV{KEY}\E/$ENV{VALUE}/g' "$out"
  done
}

# stop_pid PID [SIGNAL]: signal a process (and its direct children, for nginx masters), wait
# up to 5 s, then SIGKILL what is left.
stop_pid() {
  local pid=$1 sig=${2:-TERM} children i c
  alive "$pid" || return 0
  children=$(kids "$pid")
  kill -s "$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  for c in $children; do alive "$c" && kill -KILL "$c" 2>/dev/null; done
  return 0
}

backend_port() { echo $((PORT_BASE + $1)); }

start_backend() {  # start_backend N
  local n=$1 port; port=$(backend_port "$n")
  mkdir -p "$RUN/tmp-backend-$n"
  render "$BENCH_DIR/conf/backend-nginx.conf.tmpl" "$RUN/backend-$n.conf" RUN="$RUN" N="$n" PORT="$port"
  on_cpu "$SUT_CPU" nginx -p "$RUN" -c "$RUN/backend-$n.conf" -e "$RUN/backend-$n.error.log"
  wait_ok "http://127.0.0.1:$port/" || { say "backend $n did not start"; return 1; }
}

backend_pids() { local m; m=$(cat "$RUN/backend-$1.pid" 2>/dev/null) || return 0; echo "$m $(kids "$m")"; }

kill_backend() {  # SIGKILL master and worker, so no orphaned worker keeps serving
  local pids; pids=$(backend_pids "$1")
  # shellcheck disable=SC2086
  [[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null
  rm -f "$RUN/backend-$1.pid"
}

stop_backend() {
  local m; m=$(cat "$RUN/backend-$1.pid" 2>/dev/null) || return 0
  stop_pid "$m" QUIT; rm -f "$RUN/backend-$1.pid"
}

servers_lines() {  # servers_lines FORMAT: FORMAT gets N and PORT, e.g. "server b%d 127.0.0.1:%d"
  local n out=""
  # shellcheck disable=SC2059
  for ((n = 1; n <= BACKENDS; n++)); do out+=$(printf "    $1" "$n" "$(backend_port "$n")")$'\n'; done
  printf '%s' "${out%$'\n'}"
}

start_haproxy() {
  render "$BENCH_DIR/conf/haproxy.cfg.tmpl" "$RUN/haproxy.cfg" RUN="$RUN" PORT="$HAPROXY_PORT" \
    SERVERS="$(servers_lines 'server b%d 127.0.0.1:%d')"
  haproxy -c -q -f "$RUN/haproxy.cfg"
  on_cpu "$SUT_CPU" haproxy -D -f "$RUN/haproxy.cfg"
  wait_ok "http://127.0.0.1:$HAPROXY_PORT/" || { say "haproxy did not start"; return 1; }
}
haproxy_pids() { cat "$RUN/haproxy.pid" 2>/dev/null || true; }
stop_haproxy() { local p; p=$(haproxy_pids); [[ -n "$p" ]] && stop_pid "$p"; rm -f "$RUN/haproxy.pid"; }

start_nginx_proxy() {
  mkdir -p "$RUN/tmp-nginx-proxy"
  render "$BENCH_DIR/conf/nginx-proxy.conf.tmpl" "$RUN/nginx-proxy.conf" RUN="$RUN" \
    PORT="$NGINX_PROXY_PORT" SERVERS="$(servers_lines 'server 127.0.0.1:%.0s%d;')"
  on_cpu "$SUT_CPU" nginx -p "$RUN" -c "$RUN/nginx-proxy.conf" -e "$RUN/nginx-proxy.error.log"
  wait_ok "http://127.0.0.1:$NGINX_PROXY_PORT/" || { say "nginx proxy did not start"; return 1; }
}
nginx_proxy_pids() { local m; m=$(cat "$RUN/nginx-proxy.pid" 2>/dev/null) || return 0; echo "$m $(kids "$m")"; }
stop_nginx_proxy() {
  local m; m=$(cat "$RUN/nginx-proxy.pid" 2>/dev/null) || return 0
  stop_pid "$m" QUIT; rm -f "$RUN/nginx-proxy.pid"
}

# start_flotilla NAME THREADS CPULIST PORT: the shipped example config, with the bench's ports
# as flags (flags override the file).
start_flotilla() {
  local name=$1 threads=$2 cpus=$3 port=$4 targets=() n
  for ((n = 1; n <= BACKENDS; n++)); do targets+=(--target "127.0.0.1:$(backend_port "$n")"); done
  local cmd=("$FLOTILLA" balance --config "$BENCH_DIR/conf/flotilla-balance.json"
    --listen "127.0.0.1:$port" --threads "$threads" "${targets[@]}")
  [[ -n "$cpus" ]] && cmd=(taskset -c "$cpus" "${cmd[@]}")
  # taskset execs flotilla, so $! is flotilla's own pid (not a subshell's).
  "${cmd[@]}" > "$RUN/$name.out" 2> "$RUN/$name.err" &
  echo $! > "$RUN/$name.pid"
  wait_ok "http://127.0.0.1:$port/" || { say "$name did not start: $(cat "$RUN/$name.err")"; return 1; }
}
flotilla_pids() { cat "$RUN/$1.pid" 2>/dev/null || true; }
# stop_flotilla NAME: SIGTERM must end it, with exit code 0.
stop_flotilla() {
  local p rc=0 i; p=$(flotilla_pids "$1"); [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do alive "$p" || break; sleep 0.1; done
  if alive "$p"; then say "$1 ignored SIGTERM for 10 s"; kill -KILL "$p"; fi
  wait "$p" 2>/dev/null || rc=$?
  [[ $rc -eq 0 ]] || say "$1 exited with code $rc after SIGTERM"
  rm -f "$RUN/$1.pid"
}

# cpu_ticks PID...: utime+stime of the processes, in clock ticks.
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(sed -E 's/^.*\) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}

# rss_sampler OUT MAX_SAMPLES PID...: summed VmRSS (kB) every 0.5 s, stops when OUT.stop exists.
rss_sampler() {
  local out=$1 max=$2 k p sum; shift 2
  for ((k = 0; k < max; k++)); do
    [[ -e "$out.stop" ]] && break
    sum=0
    for p in "$@"; do
      sum=$((sum + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$sum" >> "$out"
    sleep 0.5
  done
}

# to_ms 812.00us | 1.23ms | 2.01s -> milliseconds
to_ms() {
  awk -v v="$1" 'BEGIN{ n=v; sub(/[a-z]+$/,"",n); u=v; sub(/^[0-9.]+/,"",u);
    if(u=="us") n/=1000; else if(u=="s") n*=1000; else if(u=="m") n*=60000; printf "%.3f", n }'
}

median() { sort -g | awk '{a[NR]=$1} END{ if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
