#include "orchestrator/process_cpu_source.h"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

namespace flotilla {

namespace {

// The fields of /proc/PID/stat that matter here, in clock ticks.
struct ProcStat {
  long pgrp = 0;
  double cpu_ticks = 0;  // utime + stime + cutime + cstime
  double start_ticks = 0;
};

std::optional<ProcStat> read_stat(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;  // fields[0] is field 3 (state)
  for (std::string f; rest >> f;) fields.push_back(f);
  if (fields.size() < 20) return std::nullopt;
  auto number = [&](int field) -> double {
    double value = 0;
    const std::string& f = fields[static_cast<std::size_t>(field - 3)];
    std::from_chars(f.data(), f.data() + f.size(), value);
    return value;
  };
  ProcStat s;
  s.pgrp = static_cast<long>(number(5));
  s.cpu_ticks = number(14) + number(15) + number(16) + number(17);
  s.start_ticks = number(22);
  return s;
}

bool all_digits(std::string_view name) {
  return !name.empty() && name.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

std::optional<ProcessCpuReading> read_process_group_cpu(int pid, const std::string& proc_root) {
  const std::filesystem::path root(proc_root);
  const auto leader = read_stat(root / std::to_string(pid) / "stat");
  if (!leader) return std::nullopt;
  double uptime = 0;
  {
    std::ifstream in(root / "uptime");
    if (!(in >> uptime)) return std::nullopt;
  }
  const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double ticks = leader->cpu_ticks;
  // The leader of its own group: the rest of the group are its descendants (or theirs).
  if (leader->pgrp == pid) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
      const std::string name = entry.path().filename().string();
      if (!all_digits(name) || name == std::to_string(pid)) continue;
      const auto member = read_stat(entry.path() / "stat");
      if (member && member->pgrp == pid) ticks += member->cpu_ticks;
    }
  }
  return ProcessCpuReading{ticks / ticks_per_second,
                           uptime - leader->start_ticks / ticks_per_second};
}

WorkerReading cpu_reading(const ProcessCpuReading& reading) {
  WorkerReading r;
  r.busy_seconds = reading.cpu_seconds;
  r.uptime_seconds = reading.uptime_seconds;
  r.capacity = 1;
  return r;
}

ProcessCpuSource::ProcessCpuSource(WorkerId id, PidFn pid)
    : id_(std::move(id)), pid_(std::move(pid)) {}

void ProcessCpuSource::collect(Time, Done done) {
  const auto pid = pid_();
  if (!pid) return done({});
  const auto reading = read_process_group_cpu(*pid);
  if (!reading) return done({});
  // worker_samples() also publishes the capacity it was given as a Flotilla/Worker gauge; that
  // one is flotilla-worker's own, not the server's.
  std::vector<Sample> samples = worker_samples(id_, cpu_reading(*reading), baseline_);
  const MetricId cpu = instance_metric(kMetricCpuUtilization, id_);
  std::erase_if(samples, [&cpu](const Sample& s) { return !(s.id == cpu); });
  done(std::move(samples));
}

}  // namespace flotilla
