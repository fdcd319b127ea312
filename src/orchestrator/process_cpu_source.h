#pragma once
// ProcessCpuSource: a command worker's CPUUtilization (AWS/EC2 CPUUtilization{InstanceId=<id>})
// from the CPU time its processes used, for a server that has no /metrics of its own
// (fleet/command_provider.h). Nothing else is published: worker-only metrics are absent.
//
// What is measured: every live process in the worker's process group (the command runs in its
// own, whose id is its pid), each with its own user + system time and that of its children it
// has reaped (utime + stime + cutime + cstime in /proc/PID/stat), as an instance's CPU counts
// every process on it: a shell wrapper or a pre-forking server is measured whole. The datapoint
// is the average over the interval since the previous reading, in percent of one core, with
// worker_samples()'s rule (worker_metrics_source.h): busy_seconds the CPU seconds, capacity 1,
// uptime_seconds the leader's time since it started by the kernel's clock; the first reading
// (or one after the CPU seconds went down, when a group member's time left with it) averages
// since the start. Clamped to 0-100, as flotilla-worker's, whose capacity slots play the cores'
// part: a server busy on two cores reads 100.
//
// A worker without a pid (exited, or a provider without local processes) or whose /proc entry
// is gone publishes nothing for that period (CloudWatch: missing data).
//
// Threading: control plane; collect() reads /proc inline and answers inline.
#include <functional>
#include <optional>
#include <string>

#include "fleet/provider.h"
#include "metrics/metric_source.h"
#include "orchestrator/worker_metrics_source.h"

namespace flotilla {

struct ProcessCpuReading {
  double cpu_seconds = 0;     // the group's, as above
  double uptime_seconds = 0;  // since the leader started
};

// Reads the process group led by `pid` under `proc_root` ("/proc"); nullopt when the leader's
// entry is gone or unreadable.
std::optional<ProcessCpuReading> read_process_group_cpu(int pid,
                                                        const std::string& proc_root = "/proc");

// The reading as worker_samples() takes it: busy_seconds, uptime_seconds and capacity 1.
WorkerReading cpu_reading(const ProcessCpuReading& reading);

class ProcessCpuSource final : public MetricSource {
 public:
  using PidFn = std::function<std::optional<int>()>;

  ProcessCpuSource(WorkerId id, PidFn pid);
  void collect(Time now, Done done) override;

 private:
  WorkerId id_;
  PidFn pid_;
  WorkerBaseline baseline_;
};

}  // namespace flotilla
