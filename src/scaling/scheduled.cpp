#include "scaling/scheduled.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "core/duration.h"
#include "scaling/decide_util.h"
#include "scaling/policy_file.h"

namespace flotilla {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  std::int64_t year;
  int month;
  int day;
};

Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

constexpr const char* kFieldNames[] = {"minute", "hour", "day of month", "month", "day of week"};
constexpr int kLow[] = {0, 0, 1, 1, 0};
constexpr int kHigh[] = {59, 23, 31, 12, 7};
constexpr const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kWeekdays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

std::optional<int> parse_value(std::string_view s, int field) {
  if (s.empty()) return std::nullopt;
  std::string upper(s);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (field == 3)
    for (int i = 0; i < 12; ++i)
      if (upper == kMonths[i]) return i + 1;
  if (field == 4)
    for (int i = 0; i < 7; ++i)
      if (upper == kWeekdays[i]) return i;
  int v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Sets the bits of one field; false with `error` on a mistake.
bool parse_field(std::string_view text, int field, std::vector<bool>& bits, bool& restricted,
                 std::string& error) {
  const std::string prefix =
      "field " + std::to_string(field + 1) + " (" + kFieldNames[field] + "): ";
  restricted = text != "*";
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    std::string_view part = text.substr(pos, comma - pos);
    pos = comma + 1;
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string_view::npos) {
      auto s = parse_value(part.substr(slash + 1), -1);
      if (!s || *s == 0) {
        error = prefix + "\"" + std::string(part) + "\" needs a step of 1 or more";
        return false;
      }
      step = *s;
      part = part.substr(0, slash);
    }
    int lo = kLow[field], hi = kHigh[field];
    if (part != "*") {
      const auto dash = part.find('-');
      auto a = parse_value(part.substr(0, dash), field);
      auto b = dash == std::string_view::npos ? a : parse_value(part.substr(dash + 1), field);
      if (!a || !b) {
        error = prefix + "\"" + std::string(part) + "\" is not a number, range or name";
        return false;
      }
      if (*a < kLow[field] || *b > kHigh[field] || *a > *b) {
        error = prefix + "\"" + std::string(part) + "\" is out of " + std::to_string(kLow[field]) +
                "-" + std::to_string(kHigh[field]);
        return false;
      }
      lo = *a;
      // "5/15" means from 5 to the end in steps of 15.
      hi = dash == std::string_view::npos && step > 1 ? kHigh[field] : *b;
    }
    for (int v = lo; v <= hi; v += step) bits[static_cast<std::size_t>(v)] = true;
    if (comma == text.size()) break;
  }
  return true;
}

}  // namespace

std::optional<CronSpec> parse_cron(std::string_view text, std::string* error) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos > start) fields.push_back(text.substr(start, pos - start));
  }
  std::string err;
  if (fields.size() != 5) {
    if (error)
      *error = "5 fields (minute hour day-of-month month day-of-week), got " +
               std::to_string(fields.size());
    return std::nullopt;
  }
  CronSpec spec;
  bool restricted[5] = {};
  std::vector<bool> bits[5];
  for (int f = 0; f < 5; ++f) {
    bits[f].assign(static_cast<std::size_t>(kHigh[f] + 1), false);
    if (!parse_field(fields[static_cast<std::size_t>(f)], f, bits[f], restricted[f], err)) {
      if (error) *error = err;
      return std::nullopt;
    }
  }
  for (int v = 0; v < 60; ++v) spec.minutes[v] = bits[0][v];
  for (int v = 0; v < 24; ++v) spec.hours[v] = bits[1][v];
  for (int v = 1; v <= 31; ++v) spec.days[v] = bits[2][v];
  for (int v = 1; v <= 12; ++v) spec.months[v] = bits[3][v];
  for (int v = 0; v <= 7; ++v)
    if (bits[4][v]) spec.weekdays[v % 7] = true;
  spec.days_restricted = restricted[2];
  spec.weekdays_restricted = restricted[4];
  return spec;
}

namespace {

bool day_matches(const CronSpec& spec, std::int64_t days) {
  const Civil c = civil_from_days(days);
  if (!spec.months[static_cast<std::size_t>(c.month)]) return false;
  // 1970-01-01 was a Thursday (4).
  const auto weekday = static_cast<std::size_t>(((days % 7) + 11) % 7);
  const bool dom = spec.days[static_cast<std::size_t>(c.day)];
  const bool dow = spec.weekdays[weekday];
  if (spec.days_restricted && spec.weekdays_restricted) return dom || dow;
  if (spec.days_restricted) return dom;
  if (spec.weekdays_restricted) return dow;
  return true;
}

}  // namespace

bool cron_matches(const CronSpec& spec, std::int64_t t) {
  const std::int64_t minute = floor_div(t, 60);
  const std::int64_t days = floor_div(minute, 1440);
  const auto in_day = static_cast<std::size_t>(minute - days * 1440);
  return day_matches(spec, days) && spec.hours[in_day / 60] && spec.minutes[in_day % 60];
}

std::optional<std::int64_t> cron_next(const CronSpec& spec, std::int64_t after,
                                      std::int64_t until) {
  std::int64_t m = floor_div(after, 60) + 1;  // the next whole minute
  const std::int64_t last = floor_div(until, 60);
  while (m <= last) {
    const std::int64_t days = floor_div(m, 1440);
    if (!day_matches(spec, days)) {
      m = (days + 1) * 1440;
      continue;
    }
    const auto in_day = m - days * 1440;
    if (!spec.hours[static_cast<std::size_t>(in_day / 60)]) {
      m = days * 1440 + (in_day / 60 + 1) * 60;
      continue;
    }
    if (spec.minutes[static_cast<std::size_t>(in_day % 60)]) return m * 60;
    ++m;
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_utc_timestamp(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char z = 0;
  const std::string str(text);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
      z != 'Z' || str.size() != 20)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return std::nullopt;
  if (civil_from_days(days_from_civil(y, mo, d)).day != d) return std::nullopt;  // e.g. Feb 30
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

std::string format_utc_timestamp(std::int64_t t) {
  const std::int64_t days = floor_div(t, 86400);
  const std::int64_t rest = t - days * 86400;
  const Civil c = civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02lld:%02lld:%02lldZ",
                static_cast<long long>(c.year), c.month, c.day, static_cast<long long>(rest / 3600),
                static_cast<long long>(rest / 60 % 60), static_cast<long long>(rest % 60));
  return buf;
}

std::int64_t simulated_clock(const ScheduledConfig& config, Duration t) {
  const double minutes = to_seconds(t) / to_seconds(config.minute);
  return config.start + static_cast<std::int64_t>(std::floor(minutes * 60.0 + 1e-6));
}

std::vector<std::size_t> due_actions(const ScheduledConfig& config, std::optional<Duration> from,
                                     Duration to) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < config.actions.size(); ++i) {
    const ScheduledAction& a = config.actions[i];
    if (a.at) {
      if ((!from || *a.at > *from) && *a.at <= to) out.push_back(i);
    } else if (a.cron) {
      const std::int64_t end = simulated_clock(config, to);
      // [start, to] on the first evaluation: a match at exactly the start counts.
      const std::int64_t begin = from ? simulated_clock(config, *from) : config.start - 1;
      if (cron_next(*a.cron, begin, end)) out.push_back(i);
    }
  }
  return out;
}

Decision decide_scheduled(const ScheduledConfig& config, const std::vector<std::size_t>& due,
                          const GroupState& group, Duration t) {
  Decision d;
  if (due.empty()) {
    d.reason = "no scheduled action due";
    return d;
  }
  std::string names;
  for (std::size_t i : due) {
    const ScheduledAction& a = config.actions[i];
    names += (names.empty() ? "" : ", ") + a.name;
    if (a.min) d.min = a.min;
    if (a.max) d.max = a.max;
    if (a.desired) d.desired = a.desired;
    d.rule += (d.rule.empty() ? "" : "; ") +
              (a.at ? "at " + format_duration(*a.at) : "cron " + a.cron_text);
  }
  d.overrides = true;
  const int min = d.min.value_or(group.min);
  const int max = std::max(d.max.value_or(group.max), min);
  std::string what;
  if (d.min) what += " min " + std::to_string(group.min) + " -> " + std::to_string(min);
  if (d.max) what += " max " + std::to_string(group.max) + " -> " + std::to_string(max);
  if (d.desired) {
    d.unclamped = d.desired;
    int want = *d.desired;
    if (want > max) {
      want = max;
      d.clamped_by.push_back(kClampMax);
    } else if (want < min) {
      want = min;
      d.clamped_by.push_back(kClampMin);
    }
    d.desired = want;
    what += " " + desired_arrow(group.desired, want);
  }
  d.reason = "scheduled action " + names + " (" + d.rule + ", " +
             format_utc_timestamp(simulated_clock(config, t)) + "):" + what;
  return d;
}

ScheduledPolicy::ScheduledPolicy(ScheduledConfig config) : config_(std::move(config)) {}

const std::string& ScheduledPolicy::type() const {
  static const std::string kType = kScheduledType;
  return kType;
}

Decision ScheduledPolicy::decide(const MetricsSnapshot&, const GroupState& group, Time now) {
  const Duration t = now - origin_;
  const auto due = due_actions(config_, last_, t);
  last_ = t;
  return decide_scheduled(config_, due, group, t);
}

std::unique_ptr<ScalingPolicy> parse_scheduled(const ConfigNode& node, const PolicyLoadOptions&) {
  node.only_file_keys({"name", "type", "description", "start", "minute", "actions"});
  ScheduledConfig c;
  c.name = policy_name(node, c.name);
  if (auto d = node.get("description")) d->as_string();
  if (auto s = node.get("start")) {
    const auto t = parse_utc_timestamp(s->as_string());
    if (!t) s->fail("a UTC time like \"2024-01-01T09:00:00Z\"");
    c.start = *t;
  }
  if (auto m = node.get("minute"))
    c.minute = m->as_duration(std::chrono::milliseconds(1), std::chrono::hours(1));
  const ConfigNode actions = node.at("actions");
  for (const ConfigNode& a : actions.items()) {
    a.only_keys({"name", "at", "cron", "min", "max", "desired"});
    ScheduledAction act;
    act.name = a.get("name") ? a.at("name").as_nonempty_string()
                             : "action " + std::to_string(c.actions.size());
    if (a.has("at") == a.has("cron")) a.child_pointer_only("at").fail("exactly one of at, cron");
    if (auto at = a.get("at")) act.at = at->as_duration();
    if (auto cron = a.get("cron")) {
      act.cron_text = cron->as_string();
      std::string error;
      act.cron = parse_cron(act.cron_text, &error);
      if (!act.cron) cron->fail("a 5-field cron expression (" + error + ")");
    }
    if (auto v = a.get("min")) act.min = static_cast<int>(v->as_int(0, 100000));
    if (auto v = a.get("max")) act.max = static_cast<int>(v->as_int(0, 100000));
    if (auto v = a.get("desired")) act.desired = static_cast<int>(v->as_int(0, 100000));
    if (!act.min && !act.max && !act.desired)
      a.child_pointer_only("desired").fail("at least one of min, max, desired");
    if (act.min && act.max && *act.min > *act.max)
      a.at("max").fail("a number >= min (" + std::to_string(*act.min) + ")");
    c.actions.push_back(std::move(act));
  }
  if (c.actions.empty()) actions.fail("at least one action");
  return std::make_unique<ScheduledPolicy>(std::move(c));
}

}  // namespace flotilla
