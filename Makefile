# Thin wrapper: install Debian packages the build needs, configure, build, run.
# Quick start (as root on Debian 12):  make demo   |   make test
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
DEB_PACKAGES := cmake ninja-build g++ make libboost-dev libboost-filesystem-dev \
                nlohmann-json3-dev libcli11-dev libspdlog-dev doctest-dev libyaml-cpp-dev \
                clang libclang-rt-14-dev
# Only `make test` needs these: the browser that checks report.html and serve's dashboard, and
# its WebDriver (tests/integration), the JSON Schema validator that holds schema/ to
# `flotilla validate` (tests/schema), and Prometheus, whose promtool checks GET /metrics and
# whose server scrapes serve (tests/metrics, tests/serve, tests/integration), and Docker Engine
# with Swarm mode (make swarm-up) for the swarm provider's tests.
TEST_PACKAGES := chromium chromium-driver python3-jsonschema prometheus docker.io
# Only `make bench` and `make bench-profile` need these: the peers compared with, the load
# generator, and the counters of instructions, system calls and CPU time.
BENCH_PACKAGES := nginx haproxy wrk curl procps util-linux valgrind strace linux-perf
# Unity build: each target's sources compile in batches of 8, so the JSON, doctest and Beast
# headers and their templates are compiled once a batch instead of once a file (about 40% less
# compile time on 2 cores). A development build without it recompiles less per change.
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON
# `make install`: PREFIX/bin/flotilla{,-worker} and PREFIX/share/flotilla/; DESTDIR is prepended
# to every path, for packaging.
PREFIX ?= /usr/local

.PHONY: all deps test-deps bench-deps build test demo bench bench-profile bench-sim sanitize tsan \
        soak install clean swarm-up image

all: build

# Installs only what is missing, so a machine that has everything makes no network call.
deps: PACKAGES = $(DEB_PACKAGES)
test-deps: PACKAGES = $(TEST_PACKAGES)
bench-deps: PACKAGES = $(BENCH_PACKAGES)
deps test-deps bench-deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 2; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD_DIR)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build test-deps swarm-up image
	cd $(BUILD_DIR) && ctest --output-on-failure -j $$(($(JOBS) + 6)) --timeout 300 \
	  --resource-spec-file ctest-resources.json

# A one-node Docker Swarm for the swarm provider (tools/swarm-up.sh): dockerd with no bridge and
# no iptables rules, the swarm on 127.0.0.1 without its ingress network. Idempotent; when the
# engine cannot start it says why and the swarm tests are skipped.
swarm-up:
	@tools/swarm-up.sh

# The worker image flotilla-worker:latest FROM scratch (tools/worker-image.sh), when missing or
# older than the built flotilla-worker.
image: build
	@tools/worker-image.sh $(BUILD_DIR)/bin/flotilla-worker

demo: build
	$(BUILD_DIR)/bin/flotilla run scenarios/flash-sale.json

# Side by side with HAProxy and nginx on loopback (about 10 minutes). Knobs: see bench/run.sh.
bench: build bench-deps
	FLOTILLA=$(abspath $(BUILD_DIR))/bin/flotilla bench/run.sh

# Instructions (callgrind), system calls (strace) and CPU time with where it goes (perf) per
# request, flotilla and HAProxy on the same backends (about 6 minutes). Knobs: see bench/profile.sh.
bench-profile: build bench-deps
	FLOTILLA=$(abspath $(BUILD_DIR))/bin/flotilla bench/profile.sh

# The simulator's speed against a bare event loop of the same model (bench/sim/), then a day of
# traffic (86 million requests) with its wall time and peak memory.
bench-sim: build
	cmake --build $(BUILD_DIR) -j $(JOBS) --target flotilla-sim-bench
	$(BUILD_DIR)/bin/flotilla-sim-bench
	@echo "a day at AWS's time scale (scenarios/aws-day.json, --sim):"
	@/usr/bin/time -f "  wall %e s, peak RSS %M KB" $(BUILD_DIR)/bin/flotilla run scenarios/aws-day.json --sim --quiet --out $(BUILD_DIR)/bench-sim-day | tail -3

# Every test but the fuzzers (make test runs those under ASan already) built with ASan and UBSan
# in their own folder; fails on any report from any process (tests/sanitizers/run.sh). CI runs it
# after make test.
SANITIZE_DIR ?= build-asan
TSAN_DIR ?= build-tsan
SANITIZE_FLAGS = -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_UNITY_BUILD=ON -DFLOTILLA_BUILD_FUZZERS=OFF
sanitize: deps test-deps
	cmake -S . -B $(SANITIZE_DIR) $(SANITIZE_FLAGS) -DFLOTILLA_SANITIZE=address,undefined
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	tests/sanitizers/run.sh $(SANITIZE_DIR) address

# ThreadSanitizer over the multi-threaded parts: the balancer (its tests run it with 1 and 2 IO
# threads), the load generator, and the commands that run both. Not part of CI.
TSAN_TESTS := ^(balancer_tests|scenario_tests:LoadGenerator|integration_tests:(balance|load):|orchestrator_tests:(traffic|drain_data_plane))
# Only the binaries those tests run: a test binary not built is listed as one placeholder test
# (<name>_NOT_BUILT-...), which TSAN_TESTS leaves out.
TSAN_TARGETS := flotilla flotilla-worker balancer_tests scenario_tests integration_tests orchestrator_tests
tsan: deps test-deps
	cmake -S . -B $(TSAN_DIR) $(SANITIZE_FLAGS) -DFLOTILLA_SANITIZE=thread
	cmake --build $(TSAN_DIR) -j $(JOBS) --target $(TSAN_TARGETS)
	tests/sanitizers/run.sh $(TSAN_DIR) thread -R '$(TSAN_TESTS)'

# Ten minutes of churn through `flotilla serve` at 1,000 requests/s (tests/soak/soak.cpp): scale
# out and in, kills and stops, with serve's RSS, fds, client errors and orphans every 30 s. Its
# last line says `soak: held ...` or `soak: failed ...`. Knobs: SOAK_DURATION=2m SOAK_RPS=300.
soak: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target flotilla-soak
	$(BUILD_DIR)/tests/flotilla-soak

install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD_DIR) --prefix "$(PREFIX)"

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR) $(TSAN_DIR)
