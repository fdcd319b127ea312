// libFuzzer targets for the parsers of the files and requests users write: scenarios, worker
// profiles, policies (native JSON, AWS JSON, HPA YAML), balancer files, traces, recorded metrics,
// cron expressions, durations and the admin API's requests.
//
// Each holds the parser to its contract beyond not crashing: a refused input is a UserError that
// names the file, says what was expected and points into the document (fuzz_support.h), never
// another exception; an accepted one keeps the invariants its header promises, and where the
// project writes the value back (durations, target tracking and step policies, alarms, traces as
// CSV, query strings) the writing parses again to the same value.
//
// Files are named as if they lay in the repository (FLOTILLA_SOURCE_DIR), so relative paths in an
// input (a scenario's profile, a policy's alarm) resolve as they do for the project's own files.
#include <signal.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/duration.h"
#include "core/json_text.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/fuzz_targets.h"
#include "metrics/alarm_file.h"
#include "orchestrator/balance_config.h"
#include "orchestrator/metric_file.h"
#include "scaling/policy_file.h"
#include "scaling/scheduled.h"
#include "scaling/step_scaling.h"
#include "scaling/target_tracking.h"
#include "scaling/yaml_document.h"
#include "scenario/scenario.h"
#include "scenario/trace.h"
#include "serve/admin_requests.h"
#include "worker/profile.h"

namespace flotilla::fuzz {

namespace {

const std::string kRoot = FLOTILLA_SOURCE_DIR;

void check_rate(const RateSchedule& schedule) {
  const Duration total = schedule.duration();
  for (int i = 0; i <= 4; ++i) {
    const double r = schedule.rate_at(total * i / 4);
    check(std::isfinite(r) && r >= 0 && r <= kMaxRps * 1.000001,
          "a schedule's rate out of [0, kMaxRps]: " + std::to_string(r));
  }
  const double expected = schedule.expected_total();
  check(std::isfinite(expected) && expected >= 0, "a schedule's expected total is not finite");
}

// The document of a JSON file's text, as load_json_file reads it; nullopt for a syntax error
// (which must itself be a UserError).
std::optional<nlohmann::json> json_document(const std::string& text, const std::string& file) {
  std::optional<nlohmann::json> doc;
  user_errors_only(file, nullptr, [&] { doc = parse_json_text(text, file); });
  return doc;
}

// Target tracking and step policies have writers (what `policy import` prints): the native JSON
// of a parsed policy parses again to a policy whose native JSON is the same.
void check_policy_round_trip(const ScalingPolicy& policy, const std::string& file) {
  std::optional<nlohmann::json> written;
  if (auto* p = dynamic_cast<const TargetTrackingPolicy*>(&policy))
    written = target_tracking_to_json(p->config());
  if (auto* p = dynamic_cast<const StepScalingPolicy*>(&policy))
    written = step_scaling_to_json(p->config(), to_aws_alarm_json(p->alarm()));
  if (auto* p = dynamic_cast<const SimpleScalingPolicy*>(&policy))
    written = simple_scaling_to_json(p->config(), to_aws_alarm_json(p->alarm()));
  if (!written) return;
  std::unique_ptr<ScalingPolicy> again;
  try {
    again = parse_policy(ConfigNode(*written, file));
  } catch (const UserError& e) {
    fail("a written policy is refused: " + std::string(e.what()) + "\n  " + written->dump());
  }
  std::optional<nlohmann::json> rewritten;
  if (auto* p = dynamic_cast<const TargetTrackingPolicy*>(again.get()))
    rewritten = target_tracking_to_json(p->config());
  if (auto* p = dynamic_cast<const StepScalingPolicy*>(again.get()))
    rewritten = step_scaling_to_json(p->config(), to_aws_alarm_json(p->alarm()));
  if (auto* p = dynamic_cast<const SimpleScalingPolicy*>(again.get()))
    rewritten = simple_scaling_to_json(p->config(), to_aws_alarm_json(p->alarm()));
  check(rewritten == written, "a policy reads back as another: " + written->dump() + "\n  " +
                                  (rewritten ? rewritten->dump() : "(another type)"));
}

void check_policy(const ScalingPolicy& policy, const std::string& file) {
  check(!policy.name().empty() && !policy.type().empty(), "a policy without name or type");
  policy.metrics();
  check_policy_round_trip(policy, file);
}

// An alarm reads back from its put-metric-alarm JSON as the same alarm.
void check_alarm(const nlohmann::json& doc, const std::string& file) {
  std::optional<AlarmConfig> alarm;
  if (!user_errors_only(file, &doc, [&] { alarm = parse_alarm(ConfigNode(doc, file)); })) return;
  const nlohmann::json written = to_aws_alarm_json(*alarm);
  AlarmConfig again;
  try {
    again = parse_alarm(ConfigNode(written, file));
  } catch (const UserError& e) {
    fail("a written alarm is refused: " + std::string(e.what()) + "\n  " + written.dump());
  }
  check(to_aws_alarm_json(again) == written, "an alarm reads back as another: " + written.dump());
}

// An imported (AWS or HPA) document: its native JSON is a policy the native parser accepts;
// a mistake must be found while importing, against the original fields.
void check_imported(const nlohmann::json& doc, const std::string& file) {
  std::optional<nlohmann::json> native;
  if (!user_errors_only(file, &doc, [&] { native = native_policy_document(doc, file); })) return;
  std::unique_ptr<ScalingPolicy> policy;
  try {
    policy = parse_policy(ConfigNode(*native, file));
  } catch (const UserError& e) {
    fail("an imported policy's native JSON is refused: " + std::string(e.what()) + "\n  " +
         native->dump());
  }
  check_policy(*policy, file);
}

std::string csv_number(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

std::string percent_encoded(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

int scenario(const std::uint8_t* data, std::size_t size) {
  const std::string file = kRoot + "/scenarios/fuzz.json";
  const auto doc = json_document(text_of(data, size), file);
  if (!doc) return 0;
  for (const ScenarioUse use : {ScenarioUse::kRun, ScenarioUse::kServe}) {
    Scenario s;
    if (!user_errors_only(file, &*doc, [&] { s = parse_scenario(*doc, file, use); })) continue;
    check(s.fleet.min <= s.fleet.desired && s.fleet.desired <= s.fleet.max,
          "a scenario's desired capacity outside [min, max]");
    check(s.metrics_period > Duration::zero(), "a scenario's metrics period is not positive");
    for (std::size_t i = 1; i < s.faults.size(); ++i)
      check(s.faults[i - 1].at <= s.faults[i].at, "a scenario's faults are not sorted by time");
    if (use == ScenarioUse::kRun) {
      check(s.duration > Duration::zero() && s.has_traffic, "a run without duration or traffic");
      check_rate(s.rate_schedule());
      s.traffic.describe();
    }
    for (const Fault& f : s.faults) f.describe();
    // The balancer block is read by the balancer file's parsers when the run starts.
    BalancerConfig listener;
    TargetGroupConfig group;
    user_errors_only(file, &*doc, [&] { scenario_balancer(s, listener, group); });
  }
  return 0;
}

int profile(const std::uint8_t* data, std::size_t size) {
  const std::string file = kRoot + "/fleet/fuzz.json";
  const auto doc = json_document(text_of(data, size), file);
  if (!doc) return 0;
  WorkerProfile p;
  if (!user_errors_only(file, &*doc, [&] { p = parse_worker_profile(ConfigNode(*doc, file)); }))
    return 0;
  check(p.capacity >= 1 && p.capacity <= kMaxCapacity, "a profile's capacity out of range");
  check(p.queue_limit >= 0 && p.queue_limit <= kMaxQueueLimit, "a profile's queue out of range");
  check(service_time_p99_problem(p.service_time).empty(),
        "an accepted profile's service time is not usable: " +
            service_time_p99_problem(p.service_time));
  ServiceTimeSampler sampler(p.service_time, 1);
  for (int i = 0; i < 8; ++i) check(sampler.next() >= Duration::zero(), "a negative service time");
  return 0;
}

int policy(const std::uint8_t* data, std::size_t size) {
  const std::string file = kRoot + "/policies/fuzz.json";
  const auto doc = json_document(text_of(data, size), file);
  if (!doc) return 0;
  std::unique_ptr<ScalingPolicy> p;
  if (!user_errors_only(file, &*doc, [&] { p = parse_policy(ConfigNode(*doc, file)); })) return 0;
  check_policy(*p, file);
  return 0;
}

int aws(const std::uint8_t* data, std::size_t size) {
  const std::string file = kRoot + "/policies/fuzz.json";
  const auto doc = json_document(text_of(data, size), file);
  if (!doc) return 0;
  std::optional<PolicyFormat> format;
  if (!user_errors_only(file, &*doc, [&] { format = detect_policy_format(*doc, file); })) return 0;
  if (*format == PolicyFormat::aws_alarm) {
    check_alarm(*doc, file);
  } else if (*format != PolicyFormat::native) {
    check_imported(*doc, file);
  }
  return 0;
}

int hpa(const std::uint8_t* data, std::size_t size) {
  const std::string file = kRoot + "/policies/fuzz.yaml";
  std::optional<nlohmann::json> doc;
  if (!user_errors_only(file, nullptr,
                        [&] { doc = parse_policy_document(text_of(data, size), file); }))
    return 0;
  std::optional<PolicyFormat> format;
  if (!user_errors_only(file, &*doc, [&] { format = detect_policy_format(*doc, file); })) return 0;
  if (*format == PolicyFormat::hpa) check_imported(*doc, file);
  return 0;
}

int balancer(const std::uint8_t* data, std::size_t size) {
  const std::string file = kRoot + "/bench/fuzz.json";
  const auto doc = json_document(text_of(data, size), file);
  if (!doc) return 0;
  BalanceConfig c;
  if (!user_errors_only(file, &*doc, [&] { c = parse_balance_config(*doc, file); })) return 0;
  check(c.balancer.threads >= 1, "a balancer without an IO thread");
  for (const StaticTargetGroup& g : c.target_groups)
    check(!g.name.empty(), "a target group without a name");
  c.balancer_config();
  return 0;
}

int trace(const std::uint8_t* data, std::size_t size) {
  const std::string file = kRoot + "/scenarios/traces/fuzz.csv";
  Trace t;
  if (!user_errors_only(file, nullptr, [&] { t = parse_trace(text_of(data, size), file); }))
    return 0;
  check(t.rows.size() >= 2 && t.rows[0].t_s == 0, "a trace without 2 rows from 0");
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    check(std::isfinite(t.rows[i].rps) && t.rows[i].rps >= 0, "a trace's rate is not >= 0");
    check(i == 0 || t.rows[i].t_s > t.rows[i - 1].t_s, "a trace's time does not go forwards");
  }
  check(std::isfinite(t.length_s()) && t.length_s() > t.rows.back().t_s, "a trace's length");
  check(std::isfinite(t.rate_at(t.length_s() / 2)), "a trace's rate is not finite");
  std::string written = "t_seconds,rps\n";
  for (const TraceRow& r : t.rows) written += csv_number(r.t_s) + "," + csv_number(r.rps) + "\n";
  Trace again;
  try {
    again = parse_trace(written, file);
  } catch (const UserError& e) {
    fail("a written trace is refused: " + std::string(e.what()));
  }
  check(again.rows == t.rows && again.peak == t.peak, "a trace reads back as another");
  return 0;
}

int metric(const std::uint8_t* data, std::size_t size) {
  const std::string text = text_of(data, size);
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string::npos && (text[first] == '{' || text[first] == '[');
  const std::string file = kRoot + (json ? "/metric.json" : "/metric.csv");
  std::optional<nlohmann::json> doc;
  if (json && !(doc = json_document(text, file))) return 0;
  RecordedMetric m;
  if (!user_errors_only(file, doc ? &*doc : nullptr, [&] {
        m = json ? parse_cloudwatch_json(*doc, file) : parse_metric_csv(text, file);
      }))
    return 0;
  check(m.period > Duration::zero() && m.values.size() >= 2 && m.datapoints() >= 2,
        "a recorded metric without a period or 2 datapoints");
  check(m.values.front() && m.values.back(), "a recorded metric starting or ending in a gap");
  if (m.format == TimestampFormat::rfc3339) {
    const std::string start = m.format_time(m.start);
    check(parse_rfc3339(start) == m.start, "a start time reads back as another: " + start);
  }
  return 0;
}

int cron(const std::uint8_t* data, std::size_t size) {
  const std::string text = text_of(data, size);
  std::string error;
  if (const auto spec = parse_cron(text, &error)) {
    check(spec->minutes.any() && spec->hours.any() && spec->months.any() &&
              (spec->days.any() || spec->weekdays.any()),
          "a cron expression that can match no minute of any day");
    const std::int64_t from = kDefaultScheduleStart;
    if (const auto next = cron_next(*spec, from, from + 5LL * 366 * 86400)) {
      check(*next > from && *next % 60 == 0 && cron_matches(*spec, *next),
            "cron_next answers a minute that does not match");
      check(*next - 60 <= from || !cron_matches(*spec, *next - 60),
            "cron_next skipped a matching minute");
    }
  } else {
    check(!error.empty(), "a refused cron expression without a reason");
  }
  if (const auto t = parse_utc_timestamp(text)) {
    const std::string written = format_utc_timestamp(*t);
    check(parse_utc_timestamp(written) == t, "a timestamp reads back as another: " + written);
  }
  return 0;
}

int duration(const std::uint8_t* data, std::size_t size) {
  const std::string text = text_of(data, size);
  if (const auto d = parse_duration(text)) {
    const std::string written = format_duration(*d);
    check(parse_duration(written) == d, "a duration reads back as another: " + written);
  }
  try {
    parse_duration_flag(text, "--fuzz");
  } catch (const UserError& e) {
    check(std::string(e.what()).find("--fuzz") != std::string::npos,
          "a flag's error does not name the flag: " + std::string(e.what()));
  } catch (const std::exception& e) {
    fail(std::string("an exception other than UserError: ") + e.what());
  }
  return 0;
}

// Byte 0 picks the request; the rest is its body or query string.
int admin(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text = text_of(data + 1, size - 1);
  const int kind = data[0] % 6;
  if (kind >= 4) {
    const QueryParameters query = parse_query(text);
    std::string written;
    for (const auto& [k, v] : query)
      written += (written.empty() ? "" : "&") + percent_encoded(k) + "=" + percent_encoded(v);
    check(parse_query(written) == query, "a query string reads back as another");
    const nlohmann::json none;
    if (kind == 4) {
      MetricsQuery q;
      if (!user_errors_only(kRequestQuery, nullptr, [&] { q = parse_metrics_query(query); }))
        return 0;
      check(!q.ns.empty() && !q.name.empty(), "a metrics query without namespace or name");
      check(!q.period || *q.period > Duration::zero(), "a metrics query's period is not > 0");
      for (const auto& t : {q.start, q.end})
        check(!t || (t->relative_s.has_value() != t->since_epoch.has_value()),
              "a query time both relative and absolute, or neither");
    } else {
      user_errors_only(kRequestQuery, nullptr, [&] { parse_series_since(query); });
    }
    return 0;
  }
  nlohmann::json body;
  if (!user_errors_only(kRequestBody, nullptr,
                        [&] { body = parse_request_body(text, /*empty_ok=*/kind == 1); }))
    return 0;
  check(body.is_object(), "a request body that is not an object");
  user_errors_only(kRequestBody, &body, [&] {
    switch (kind) {
      case 0: {
        const CapacityChange c = parse_capacity_change(body);
        check(c.desired || c.min || c.max, "a capacity change that changes nothing");
        break;
      }
      case 1: {
        const int sig = parse_kill_signal(body);
        check(sig == SIGKILL || sig == SIGTERM || sig == SIGSTOP || sig == SIGCONT,
              "a kill with another signal");
        break;
      }
      case 2:
        parse_fault_request(body, {"a", "b"}).describe();
        break;
      case 3:
        if (const auto schedule = parse_load_request(body)) {
          check(schedule->duration() > Duration::zero(), "a load without a duration");
          check_rate(*schedule);
        }
        break;
    }
  });
  return 0;
}

}  // namespace flotilla::fuzz
