// ProcessCpuSource: a command worker's CPUUtilization from its processes' CPU time.
#include "orchestrator/process_cpu_source.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "metrics/metric_id.h"
#include "support/wait.h"

using namespace flotilla;
namespace fs = std::filesystem;

extern char** environ;

namespace {

// One /proc/PID/stat line with the fields that matter (times in clock ticks).
std::string stat_line(int pid, const std::string& comm, int pgrp, long utime, long stime,
                      long cutime, long cstime, long start) {
  std::string line = std::to_string(pid) + " (" + comm + ") S 1 " + std::to_string(pgrp) + " " +
                     std::to_string(pgrp) + " 0 -1 4194560 100 0 0 0 " + std::to_string(utime) +
                     " " + std::to_string(stime) + " " + std::to_string(cutime) + " " +
                     std::to_string(cstime) + " 20 0 1 0 " + std::to_string(start) +
                     " 1000000 100 18446744073709551615";
  return line + "\n";
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A process of its own group running `script` under /bin/sh.
pid_t spawn_group(const std::string& script) {
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  std::string sh = "/bin/sh", c = "-c", s = script;
  char* argv[] = {sh.data(), c.data(), s.data(), nullptr};
  pid_t pid = -1;
  REQUIRE(::posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, environ) == 0);
  ::posix_spawnattr_destroy(&attr);
  return pid;
}

void end_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// The CPUUtilization datapoint of one collect, if any.
std::optional<double> collect_cpu(ProcessCpuSource& source, const WorkerId& id) {
  std::optional<double> cpu;
  std::size_t count = 0;
  source.collect(Time{}, [&](std::vector<Sample> samples) {
    count = samples.size();
    for (const auto& s : samples)
      if (s.id == instance_metric(kMetricCpuUtilization, id)) cpu = s.value;
  });
  CHECK(count == (cpu ? 1u : 0u));  // CPUUtilization alone: worker-only metrics are absent
  return cpu;
}

// The process's own CPU seconds through its CPU-time clock: the kernel's figure by another way
// than /proc/PID/stat.
double cpu_clock_seconds(pid_t pid) {
  clockid_t clock;
  REQUIRE(::clock_getcpuclockid(pid, &clock) == 0);
  timespec ts{};
  REQUIRE(::clock_gettime(clock, &ts) == 0);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Measured {
  double datapoint = -1;  // the source's, for the interval
  double truth = -1;      // 100 x CPU-clock seconds / wall seconds over about the same interval
};

// Collects once (the baseline), waits until a second of the process's uptime has passed, and
// collects again. The truth is `truth_pid`'s CPU-time clock (the leader's by default).
Measured measure(pid_t pid, pid_t truth_pid = 0) {
  if (truth_pid == 0) truth_pid = pid;
  const WorkerId id = "i-00000000000000001";
  ProcessCpuSource source(id, [pid] { return std::optional<int>(pid); });
  const auto wall_before = std::chrono::steady_clock::now();
  const double cpu_before = cpu_clock_seconds(truth_pid);
  collect_cpu(source, id);
  const auto first = read_process_group_cpu(pid);
  REQUIRE(first);
  REQUIRE(flotilla::test::wait_until(
      [&] {
        const auto now = read_process_group_cpu(pid);
        return now && now->uptime_seconds >= first->uptime_seconds + 1.0;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(20)));
  Measured m;
  const auto cpu = collect_cpu(source, id);
  REQUIRE(cpu);
  m.datapoint = *cpu;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
  m.truth = 100.0 * (cpu_clock_seconds(truth_pid) - cpu_before) / wall;
  return m;
}

}  // namespace

TEST_CASE(
    "a reading sums the group's live processes with what they reaped, from the leader's start") {
  const auto root = fs::temp_directory_path() / ("flotilla-proc-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  write(root / "uptime", "1000.00 1800.00\n");
  write(root / "101" / "stat", stat_line(101, "worker", 100, 40, 10, 0, 0, 0));
  write(root / "102" / "stat", stat_line(102, "other", 999, 500, 500, 0, 0, 0));
  write(root / "self" / "stat", stat_line(103, "self", 100, 500, 500, 0, 0, 0));
  write(root / "100" / "stat",
        stat_line(100, "python3 -m (x) y", 100, 10, 5, 3, 2, static_cast<long>(400 * hz)));

  const auto r = read_process_group_cpu(100, root.string());
  REQUIRE(r);
  CHECK(r->cpu_seconds == doctest::Approx((10 + 5 + 3 + 2 + 40 + 10) / hz));
  CHECK(r->uptime_seconds == doctest::Approx(600.0));
  CHECK_FALSE(read_process_group_cpu(555, root.string()));  // gone
  // A process that leads no group of its own is measured alone.
  const auto alone = read_process_group_cpu(101, root.string());
  REQUIRE(alone);
  CHECK(alone->cpu_seconds == doctest::Approx(50 / hz));
  fs::remove_all(root);
}

TEST_CASE(
    "the reading goes through worker_samples' rule: one core, clamped, since the start first") {
  struct Row {
    const char* what;
    std::optional<ProcessCpuReading> before;
    ProcessCpuReading now;
    double expected;
  };
  const Row rows[] = {
      {"the first reading averages since the start", std::nullopt, {5, 10}, 50},
      {"an interval half busy", ProcessCpuReading{5, 10}, {6, 12}, 50},
      {"an idle interval", ProcessCpuReading{5, 10}, {5, 12}, 0},
      {"two cores busy clamp to 100", ProcessCpuReading{5, 10}, {9, 12}, 100},
      {"CPU seconds that went down: since the start", ProcessCpuReading{5, 10}, {3, 12}, 25},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    WorkerBaseline baseline;
    if (row.before) worker_samples("i-1", cpu_reading(*row.before), baseline);
    const auto samples = worker_samples("i-1", cpu_reading(row.now), baseline);
    std::optional<double> cpu;
    for (const auto& s : samples)
      if (s.id == instance_metric(kMetricCpuUtilization, "i-1")) cpu = s.value;
    REQUIRE(cpu);
    CHECK(*cpu == doctest::Approx(row.expected));
  }
}

TEST_CASE("no pid, or a process that is gone, publishes nothing") {
  const WorkerId id = "i-00000000000000001";
  ProcessCpuSource none(id, [] { return std::optional<int>(); });
  CHECK_FALSE(collect_cpu(none, id));
  const pid_t pid = spawn_group("exit 0");
  ::waitpid(pid, nullptr, 0);
  ProcessCpuSource gone(id, [pid] { return std::optional<int>(pid); });
  CHECK_FALSE(collect_cpu(gone, id));
}

// Tolerances: the datapoint agrees with the CPU-time clock over nearly the same second to within
// the clock ticks and the few milliseconds between the reads. A busy loop reads near 100 on an
// idle machine; on a 2-core machine that others share (and under `nice`) it gets what the
// scheduler leaves it, which is what CPUUtilization must then say, so it is held to the truth,
// and to more than a sleeping process by far.
TEST_CASE("CPUUtilization is the real CPU time: a busy loop near 100, a sleeping server near 0") {
  const pid_t busy = spawn_group("while :; do :; done");
  const pid_t idle = spawn_group("exec sleep 30");
  const Measured b = measure(busy);
  const Measured i = measure(idle);
  end_group(busy);
  end_group(idle);
  CAPTURE(b.datapoint);
  CAPTURE(b.truth);
  CHECK(std::abs(b.datapoint - b.truth) < 10);
  CHECK(b.truth > 10);
  CHECK(i.datapoint < 3);
  CHECK(std::abs(i.datapoint - i.truth) < 3);
}

TEST_CASE("a group's CPU counts the children of the command, not the leader alone") {
  // The leader waits; its child burns the CPU (a wrapper script, a pre-forking server).
  const pid_t wrapper = spawn_group("sh -c 'while :; do :; done' & wait");
  pid_t child = 0;
  REQUIRE(flotilla::test::wait_until([&] {
    std::ifstream in("/proc/" + std::to_string(wrapper) + "/task/" + std::to_string(wrapper) +
                     "/children");
    return static_cast<bool>(in >> child);
  }));
  const Measured leader = measure(wrapper);
  const Measured m = measure(wrapper, child);
  end_group(wrapper);
  CAPTURE(leader.truth);
  CAPTURE(m.datapoint);
  CAPTURE(m.truth);
  CHECK(leader.truth < 3);  // the leader only waits
  CHECK(m.truth > 10);      // its child burns
  CHECK(std::abs(m.datapoint - m.truth) < 10);
}
