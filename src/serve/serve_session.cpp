#include "serve/serve_session.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <utility>

#include "core/errors.h"
#include "core/memory.h"
#include "orchestrator/balancer_metrics_source.h"
#include "orchestrator/drain.h"
#include "orchestrator/fault_injector.h"
#include "orchestrator/scenario_system.h"
#include "worker/profile.h"

namespace flotilla {

namespace {

using namespace std::chrono_literals;

// How often what the system keeps is cut back to the retention.
constexpr Duration kPruneEvery = 60s;
// Stopping every worker: SIGTERM, the group's stop grace, SIGKILL.
constexpr Duration kStopDeadline = 15s;
// The file's traffic and faults start once the initial workers are in service, as a run's do,
// or after this long regardless.
constexpr Duration kFleetReadyTimeout = 60s;
// The most workers a group may be given from the API (a demo on one machine).
constexpr int kMaxGroupSize = 1000;

std::uint64_t ok_responses(const BalancerStats& s) {
  return s.responses_2xx + s.responses_3xx + s.responses_4xx + s.elb_2xx + s.elb_3xx + s.elb_4xx;
}

std::uint64_t error_responses(const BalancerStats& s) { return s.responses_5xx + s.elb_5xx; }

}  // namespace

ServeSession::ServeSession(Environment& env, const Scenario& scenario, ServeSettings settings)
    : env_(env),
      scenario_(scenario),
      settings_(std::move(settings)),
      random_(settings_.spec.seed) {
  const WorkerProfile profile = fleet_profile(scenario_);
  const BalancerSettings balancer = balancer_settings(scenario_, settings_.spec.seed);
  system_ = std::make_unique<System>(
      env_, system_config(scenario_, profile, settings_.spec, balancer.group));
  faults_ =
      std::make_unique<FaultInjector>(*system_, random_, scenario_.effective_time_scale());
}

ServeSession::~ServeSession() { shutdown(Duration::zero()); }

std::size_t ServeSession::retained_seconds() const {
  return static_cast<std::size_t>(std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(settings_.retention).count()));
}

double ServeSession::seconds_since_start(Time t) const { return to_seconds(t - origin_); }

Duration ServeSession::wall_since_epoch(Time t) const {
  return std::chrono::duration_cast<Duration>(settings_.wall_origin.time_since_epoch()) +
         (t - origin_);
}

Time ServeSession::time_at_wall(Duration since_epoch) const {
  return origin_ + (since_epoch - wall_since_epoch(origin_));
}

std::string ServeSession::wall_time(Time t) const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall_since_epoch(t)).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const long millis = static_cast<long>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03ldZ", text, millis);
  return out;
}

void ServeSession::start() {
  if (started_) return;
  started_ = true;
  Scheduler& scheduler = env_.scheduler();
  system_->start();
  origin_ = scheduler.now();
  system_->scaling_loop().set_origin(origin_);
  last_stats_ = env_.data_plane().stats();
  timeline_pending_ = true;
  sampler_ = std::make_unique<PeriodicTask>(scheduler, 1s, [this] { sample_second(); });
  sampler_->start(origin_ + 1s);
  pruner_ = std::make_unique<PeriodicTask>(scheduler, kPruneEvery, [this] {
    ++prunes_;
    system_->prune_before(env_.scheduler().now() - settings_.retention);
    // What was pruned, and the buffers of connections closed since, would otherwise stay
    // resident at their high-water mark (make soak saw RSS grow by a fifth after bursts of
    // connections while the heap in use stayed under 1 MB).
    release_free_memory();
  });
  pruner_->start(origin_ + kPruneEvery);
}

void ServeSession::start_timeline_when_ready() {
  if (!timeline_pending_) return;
  const Time now = env_.scheduler().now();
  if (system_->group().state().in_service < scenario_.fleet.desired &&
      now - origin_ < kFleetReadyTimeout)
    return;
  timeline_pending_ = false;
  if (scenario_.has_traffic)
    start_traffic(scenario_.rate_schedule(), scenario_.traffic.requests,
                  scenario_.traffic.connections, scenario_.traffic.arrivals);
  faults_->schedule(scenario_.faults, now);
}

void ServeSession::sample_second() {
  start_timeline_when_ready();
  const BalancerStats stats = env_.data_plane().stats();
  ServeSecond row;
  row.t = std::round(seconds_since_start(sampler_->tick_time())) - 1;
  row.ok = counter_increase(ok_responses(last_stats_), ok_responses(stats));
  row.errors = counter_increase(error_responses(last_stats_), error_responses(stats));
  const MetricHistogram latency =
      latency_increase_seconds(last_stats_.target_response_time, stats.target_response_time);
  if (!latency.empty()) {
    row.p50_ms = latency.percentile(50) * 1000;
    row.p99_ms = latency.percentile(99) * 1000;
  }
  last_stats_ = stats;
  if (load_ && load_schedule_)
    row.offered_rps =
        load_schedule_->rate_at(env_.scheduler().now() - load_started_ - 1s);
  const GroupState state = system_->group().state();
  row.desired = state.desired;
  row.in_service = state.in_service;
  row.pending = state.pending;
  row.cpu = system_->group_cpu();
  seconds_.push_back(row);
  while (seconds_.size() > retained_seconds()) seconds_.pop_front();
  // A finished load is folded into the totals, so that load_status() says it is not running.
  if (load_ && load_->snapshot(1).finished) stop_load();
}

std::vector<ServeMarker> ServeSession::markers(std::optional<double> after) const {
  std::vector<ServeMarker> out;
  auto add = [&](Time t, std::string kind, std::string detail) {
    const double s = seconds_since_start(t);
    if (after && s <= *after) return;
    out.push_back({s, std::move(kind), std::move(detail)});
  };
  for (const auto& a : system_->group().activities())
    add(a.t, "activity", (a.failed ? "Failed: " : "") + a.cause);
  for (const auto& [name, alarm] : system_->scaling_loop().alarms())
    for (const AlarmEvaluation& e : alarm->history())
      add(e.t, "alarm",
          name + ": " + std::string(to_string(e.previous)) + " -> " +
              std::string(to_string(e.state)));
  for (const SystemEvent& e : system_->events()) {
    if (e.kind == kEventFault || e.kind == kEventFaultEnd)
      add(e.t, "fault", e.detail);
    else if (e.kind == "kill")
      add(e.t, "kill", e.detail);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ServeMarker& a, const ServeMarker& b) { return a.t < b.t; });
  return out;
}

std::string ServeSession::change_capacity(const CapacityChange& change) {
  Group& group = system_->group();
  const GroupState state = group.state();
  const int min = change.min.value_or(state.min);
  const int max = change.max.value_or(state.max);
  if (min < 0) return "/min: expected an integer >= 0";
  if (max < 1 || max > kMaxGroupSize)
    return "/max: expected an integer from 1 to " + std::to_string(kMaxGroupSize);
  if (min > max)
    return std::string(change.min ? "/min" : "/max") + ": expected min <= max (min " +
           std::to_string(min) + ", max " + std::to_string(max) + ")";
  if (change.desired && (*change.desired < min || *change.desired > max))
    return "/desired: expected a value from min " + std::to_string(min) + " to max " +
           std::to_string(max) + ", got " + std::to_string(*change.desired);
  if (change.min || change.max) group.set_limits(min, max, "limits set from the admin API");
  if (change.desired) group.set_desired(*change.desired, "desired capacity set from the admin API");
  return "";
}

bool ServeSession::signal_worker(const std::string& id, int sig) {
  if (!system_->group().worker_state(id)) return false;
  env_.provider().signal(id, sig);
  system_->record_event("kill",
                        "SIG" + worker_signal_name(sig) + " " + id + " from the admin API");
  return true;
}

std::string ServeSession::start_fault(const Fault& fault) {
  faults_->start(fault);
  return fault.describe();
}

void ServeSession::start_traffic(RateSchedule schedule, std::vector<RequestSpec> requests,
                                 Connections connections, Arrivals arrivals) {
  stop_load();
  LoadConfig config;
  config.requests = std::move(requests);
  config.connections = connections;
  config.arrivals = arrivals;
  config.schedule = schedule;
  config.seed = settings_.spec.seed;
  config.keep_seconds = retained_seconds();
  load_ = env_.make_traffic(std::move(config));
  load_schedule_ = std::move(schedule);
  load_started_ = env_.scheduler().now();
  load_->start();
}

void ServeSession::start_load(RateSchedule schedule) {
  start_traffic(std::move(schedule), scenario_.has_traffic ? scenario_.traffic.requests
                                                           : std::vector<RequestSpec>{{}},
                scenario_.traffic.connections, scenario_.traffic.arrivals);
}

namespace {

void add_load(LoadSnapshot& into, const LoadSnapshot& from) {
  into.started = true;
  into.sent += from.sent;
  into.ok += from.ok;
  into.errors += from.errors;
  into.by_kind.add(from.by_kind);
  into.in_flight += from.in_flight;
  into.open_connections += from.open_connections;
  into.latency.merge(from.latency);
}

}  // namespace

void ServeSession::stop_load() {
  if (!load_) return;
  load_->stop();
  LoadSnapshot last = load_->snapshot();
  last.in_flight = 0;
  last.open_connections = 0;
  if (!finished_loads_) finished_loads_.emplace();
  add_load(*finished_loads_, last);
  load_.reset();
  load_schedule_.reset();
}

std::optional<LoadSnapshot> ServeSession::load_totals() const {
  std::optional<LoadSnapshot> out = finished_loads_;
  if (load_) {
    if (!out) out.emplace();
    add_load(*out, load_->snapshot());
  }
  return out;
}

LoadStatus ServeSession::load_status() const {
  LoadStatus status;
  if (finished_loads_) {
    status.sent = finished_loads_->sent;
    status.ok = finished_loads_->ok;
    status.errors = finished_loads_->errors;
  }
  if (!load_) return status;
  const LoadSnapshot now = load_->snapshot(0);
  status.sent += now.sent;
  status.ok += now.ok;
  status.errors += now.errors;
  status.running = !now.finished;
  if (status.running && load_schedule_)
    status.rps = load_schedule_->rate_at(env_.scheduler().now() - load_started_);
  return status;
}

void ServeSession::shutdown(Duration drain) {
  if (!started_ || shut_down_) return;
  shut_down_ = true;
  if (sampler_) sampler_->stop();
  if (pruner_) pruner_->stop();
  stop_load();
  drain_data_plane(env_, drain);
  system_->shutdown(kStopDeadline);
}

RunRecord ServeSession::record() {
  RunRecord record;
  record.scenario = scenario_.name;
  record.description = scenario_.description;
  record.mode = std::string(env_.mode());
  record.seed = settings_.spec.seed;
  record.started_at = settings_.spec.started_at;
  record.output_dir = settings_.spec.output_dir;
  record.time_scale = scenario_.effective_time_scale();
  record.slo = scenario_.slo;
  const double first = seconds_.empty() ? 0 : seconds_.front().t;
  record.duration = from_seconds(seconds_.empty() ? 0 : seconds_.back().t + 1 - first);
  int max_in_service = 0;
  int min_in_service = seconds_.empty() ? 0 : seconds_.front().in_service;
  for (const ServeSecond& s : seconds_) {
    TimeseriesRow row;
    row.t = s.t;
    row.offered_rps = s.offered_rps;
    row.ok = s.ok;
    row.errors = s.errors;
    row.p50_ms = s.p50_ms.value_or(std::nan(""));
    row.p99_ms = s.p99_ms.value_or(std::nan(""));
    row.in_service = s.in_service;
    row.pending = s.pending;
    row.desired = s.desired;
    row.cpu_avg = s.cpu.value_or(std::nan(""));
    record.timeseries.push_back(row);
    record.requests.ok += s.ok;
    record.requests.errors += s.errors;
    max_in_service = std::max(max_in_service, s.in_service);
    min_in_service = std::min(min_in_service, s.in_service);
  }
  record.requests.sent = record.requests.ok + record.requests.errors;
  if (record.requests.errors > 0) record.requests.by_kind["http_5xx"] = record.requests.errors;
  const BalancerStats totals = env_.data_plane().stats();
  if (totals.target_response_time.count() > 0) {
    const SecondLatency l = summarize(totals.target_response_time);
    record.latency_ms = {to_millis(l.p50), to_millis(l.p90), to_millis(l.p99), to_millis(l.max)};
  }
  record.capacity.initial = scenario_.fleet.desired;
  record.capacity.max_in_service = max_in_service;
  record.capacity.min_in_service = min_in_service;
  record.capacity.final_in_service = seconds_.empty() ? 0 : seconds_.back().in_service;
  fill_system_record(record, *system_, origin_);
  evaluate_expectations(scenario_.expect, record);
  return record;
}

}  // namespace flotilla
