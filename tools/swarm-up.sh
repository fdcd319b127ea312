#!/usr/bin/env bash
# make swarm-up: a one-node Docker Swarm on this machine for the swarm provider's tests, under
# the loopback-only networking rule: dockerd without a bridge or iptables rules, the swarm
# advertised on 127.0.0.1, its `ingress` network removed (services run on the host network and
# publish nothing). Idempotent and quiet when everything is there already.
#
# Not being able to start the engine is not a failure of this script (it exits 0 and says why):
# the swarm tests then report themselves as skipped with the reason.
# Knobs: DOCKERD_LOG (default /var/log/flotilla-dockerd.log), DOCKERD_PIDFILE
# (default /var/run/flotilla-dockerd.pid), SWARM_UP_WAIT seconds for the socket (default 30).
set -uo pipefail

log=${DOCKERD_LOG:-/var/log/flotilla-dockerd.log}
pidfile=${DOCKERD_PIDFILE:-/var/run/flotilla-dockerd.pid}
wait_s=${SWARM_UP_WAIT:-30}
socket=/var/run/docker.sock

skip() {
  echo "swarm-up: $*; the swarm tests will be skipped" >&2
  exit 0
}

engine_up() { docker -H "unix://$socket" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! command -v dockerd >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "dockerd is missing and installing docker.io needs root"
  echo "swarm-up: installing docker.io"
  { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io; } \
    >/dev/null || skip "apt-get install docker.io failed"
fi

if ! engine_up; then
  [ "$(id -u)" = 0 ] || skip "dockerd does not run and starting it needs root"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    : # started by an earlier call and still coming up
  else
    rm -f "$pidfile"
    echo "swarm-up: starting dockerd (log: $log)"
    # The engine would ask a registry for a service's image on every task start; there is none
    # (make image builds it locally, and the provider names it by id).
    DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nohup dockerd --bridge=none --iptables=false --ip6tables=false --pidfile "$pidfile" \
      -H "unix://$socket" >>"$log" 2>&1 </dev/null &
  fi
  for ((i = 0; i < wait_s * 5; i++)); do
    engine_up && break
    sleep 0.2
  done
  engine_up || skip "dockerd did not answer on $socket within ${wait_s}s (see $log)"
fi

state=$(docker -H "unix://$socket" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)
if [ "$state" != active ]; then
  echo "swarm-up: initialising a one-node swarm on 127.0.0.1"
  docker -H "unix://$socket" swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 \
    >/dev/null || skip "docker swarm init failed"
fi

if docker -H "unix://$socket" network inspect ingress >/dev/null 2>&1; then
  # Only the routing mesh uses it, and removing it asks for a confirmation.
  echo y | docker -H "unix://$socket" network rm ingress >/dev/null 2>&1 ||
    echo "swarm-up: could not remove the ingress network" >&2
fi
exit 0
