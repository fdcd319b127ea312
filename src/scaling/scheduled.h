#pragma once
// Scheduled actions (AWS: PutScheduledUpdateGroupAction): at a time, or on a 5-field cron
// (UTC), set the group's min, max and/or desired capacity.
//
// Clock: scenario time 0 is the origin (ScalingPolicy::set_origin; the scaling loop passes it
// when traffic starts; until then the scheduler's epoch). "at" is scenario time. Cron
// expressions run on a simulated UTC clock that reads `start` at scenario time 0 and advances
// one minute every `minute` of scenario time (default 60 s: real time; "2s" runs a day in 48
// minutes, as a scenario whose metrics period stands in for CloudWatch's minute).
//
// Every action due in (previous evaluation, now] fires at this evaluation, in file order, later
// ones overriding earlier ones' fields; a cron action fires at most once per evaluation however
// many minutes matched. Desired is clamped into the new limits. The loop applies the result as is
// (Decision::overrides), as AWS applies a scheduled action, and dynamic policies act from the
// next evaluation on.
#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "scaling/scaling_policy.h"

namespace flotilla {

struct PolicyLoadOptions;

inline constexpr const char* kScheduledType = "scheduled";

// A 5-field cron expression: minute hour day-of-month month day-of-week. Each field is "*", a
// number, a range "a-b", a step "*/s" or "a-b/s", or a comma list of those; months may be JAN-DEC
// and weekdays SUN-SAT (0 and 7 are Sunday). When both day fields are restricted, a day matches
// if either does (Vixie cron).
struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1..31
  std::bitset<13> months;   // 1..12
  std::bitset<7> weekdays;  // 0 = Sunday
  bool days_restricted = false;
  bool weekdays_restricted = false;
};

// nullopt with `error` set ("field 2 (hour): 24 is out of 0-23") on a mistake.
std::optional<CronSpec> parse_cron(std::string_view text, std::string* error = nullptr);
// Unix seconds (UTC) of the minute, matching or not.
bool cron_matches(const CronSpec& spec, std::int64_t unix_seconds);
// The first matching minute strictly after `after` and at most `until` (Unix seconds).
std::optional<std::int64_t> cron_next(const CronSpec& spec, std::int64_t after, std::int64_t until);
// "2024-01-01T09:00:00Z" -> Unix seconds; nullopt if malformed.
std::optional<std::int64_t> parse_utc_timestamp(std::string_view text);
std::string format_utc_timestamp(std::int64_t unix_seconds);

struct ScheduledAction {
  std::string name;
  std::optional<Duration> at;  // scenario time
  std::string cron_text;
  std::optional<CronSpec> cron;
  std::optional<int> min;
  std::optional<int> max;
  std::optional<int> desired;
};

// 2024-01-01T00:00:00Z, a Monday.
inline constexpr std::int64_t kDefaultScheduleStart = 1704067200;

struct ScheduledConfig {
  std::string name = "scheduled";
  std::int64_t start = kDefaultScheduleStart;  // Unix seconds at scenario time 0
  Duration minute = std::chrono::seconds(60);  // scenario time per simulated minute
  std::vector<ScheduledAction> actions;
};

// The simulated UTC clock (Unix seconds) at scenario time `t`.
std::int64_t simulated_clock(const ScheduledConfig& config, Duration t);
// Indexes of the actions due in (from, to] of scenario time (from nullopt: [0, to]).
std::vector<std::size_t> due_actions(const ScheduledConfig& config, std::optional<Duration> from,
                                     Duration to);
// The decision for the actions `due` (indexes into config.actions).
Decision decide_scheduled(const ScheduledConfig& config, const std::vector<std::size_t>& due,
                          const GroupState& group, Duration t);

class ScheduledPolicy final : public ScalingPolicy {
 public:
  explicit ScheduledPolicy(ScheduledConfig config);
  const std::string& name() const override { return config_.name; }
  const std::string& type() const override;
  std::vector<MetricRequest> metrics() const override { return {}; }
  void set_origin(Time origin) override { origin_ = origin; }
  PolicyRole role() const override { return PolicyRole::scheduled; }
  Decision decide(const MetricsSnapshot& metrics, const GroupState& group, Time now) override;
  const ScheduledConfig& config() const { return config_; }

 private:
  ScheduledConfig config_;
  Time origin_{};
  std::optional<Duration> last_;  // scenario time of the previous evaluation
};

// Native JSON:
//   { "type": "scheduled", "name": "business-hours", "start": "2024-01-01T08:55:00Z",
//     "minute": "2s",
//     "actions": [ {"name": "open", "cron": "0 9 * * 1-5", "min": 4, "desired": 6},
//                  {"name": "spike", "at": "30s", "desired": 8, "max": 12} ] }
// Each action needs "at" or "cron" (not both) and at least one of min, max, desired.
std::unique_ptr<ScalingPolicy> parse_scheduled(const ConfigNode& node,
                                               const PolicyLoadOptions& options);

}  // namespace flotilla
