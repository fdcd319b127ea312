#!/usr/bin/env bash
# make image: the swarm provider's worker image, FROM scratch, with no registry: the built
# flotilla-worker, the shared libraries ldd names and the loader, imported as one layer with its
# entrypoint. Rebuilt only when the image is missing or older than the binary.
# Usage: tools/worker-image.sh WORKER_BINARY [IMAGE]   (IMAGE default flotilla-worker:latest)
# Exits 0 without building, saying why, when no engine answers (the swarm tests then skip).
set -euo pipefail

worker=${1:?usage: worker-image.sh WORKER_BINARY [IMAGE]}
image=${2:-flotilla-worker:latest}
[ -x "$worker" ] || { echo "worker-image: $worker: not an executable (build it first)" >&2; exit 2; }

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  echo "worker-image: no Docker engine answers; $image not built (run make swarm-up)" >&2
  exit 0
fi

binary_time=$(stat -c %Y "$worker")
if created=$(docker image inspect --format '{{.Created}}' "$image" 2>/dev/null); then
  [ "$(date -d "$created" +%s)" -ge "$binary_time" ] && exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin"
cp "$worker" "$root/bin/flotilla-worker"
# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for the loader.
for lib in $(ldd "$worker" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
tar -C "$root" -cf "$root.tar" .
trap 'rm -rf "$root" "$root.tar"' EXIT
docker import --change 'ENTRYPOINT ["/bin/flotilla-worker"]' \
  --message "flotilla-worker from $worker" "$root.tar" "$image" >/dev/null
echo "worker-image: built $image from $worker"
