#include "metrics/prometheus_text.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

namespace flotilla::prom {

namespace {

bool name_start(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool name_char(char c, bool colon) { return name_start(c, colon) || (c >= '0' && c <= '9'); }

bool valid_name(std::string_view name, bool colon) {
  if (name.empty() || !name_start(name.front(), colon)) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return name_char(c, colon); });
}

[[maybe_unused]] bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

void write_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void write_sample(std::string& out, std::string_view name, const Labels& labels, double value,
                  std::string_view le = {}) {
  out += name;
  write_labels(out, labels, le);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

}  // namespace

std::string_view to_string(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

HistogramValue to_histogram_value(const LatencyHistogram& histogram,
                                  std::span<const double> bounds) {
  assert(std::is_sorted(bounds.begin(), bounds.end()));
  HistogramValue value;
  value.count = histogram.count();
  value.sum = to_seconds(histogram.mean()) * static_cast<double>(value.count);
  value.buckets.reserve(bounds.size());
  for (double le : bounds) value.buckets.push_back({le, 0});
  if (value.count == 0) return value;
  std::size_t bound = 0;
  std::uint64_t below = 0;  // observations in buckets whose midpoint is under bounds[bound]
  for (std::size_t i = 0; i < LatencyHistogram::kBucketCount && bound < bounds.size(); ++i) {
    const std::uint64_t n = histogram.bucket_count(i);
    if (n == 0) continue;
    const double mid_us = (static_cast<double>(LatencyHistogram::bucket_lower(i)) +
                           static_cast<double>(LatencyHistogram::bucket_upper(i) - 1)) /
                          2;
    while (bound < bounds.size() && mid_us > bounds[bound] * 1e6) {
      value.buckets[bound++].count = below;
    }
    below += n;
  }
  for (; bound < bounds.size(); ++bound) value.buckets[bound].count = below;
  return value;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 0x1p63) {
    return std::to_string(static_cast<long long>(value));
  }
  char buffer[64];
  // Go's 'g' with the shortest precision: scientific when the exponent is < -4 or >= 6.
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  assert(ec == std::errc());
  const std::string_view scientific(buffer, static_cast<std::size_t>(end - buffer));
  const auto e = scientific.find('e');
  int exponent = 0;
  // from_chars takes no '+'; the exponent always has a sign.
  std::from_chars(scientific.data() + e + (scientific[e + 1] == '+' ? 2 : 1),
                  scientific.data() + scientific.size(), exponent);
  if (exponent < -4 || exponent >= 6) return std::string(scientific);
  const auto fixed = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  assert(fixed.ec == std::errc());
  return std::string(buffer, fixed.ptr);
}

std::string escape_label_value(std::string_view value) { return escape(value, true); }
std::string escape_help(std::string_view text) { return escape(text, false); }

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }
bool valid_label_name(std::string_view name) {
  return valid_name(name, false) && name.substr(0, 2) != "__";
}

ExpositionPage::Family& ExpositionPage::counter(std::string_view name, std::string_view help) {
  // A counter's samples are named ..._total (Prometheus's convention; promtool asks for it).
  assert(ends_with(name, "_total"));
  return open(name, MetricType::kCounter, help);
}
ExpositionPage::Family& ExpositionPage::gauge(std::string_view name, std::string_view help) {
  return open(name, MetricType::kGauge, help);
}
ExpositionPage::Family& ExpositionPage::histogram(std::string_view name, std::string_view help) {
  return open(name, MetricType::kHistogram, help);
}

ExpositionPage::Family& ExpositionPage::open(std::string_view name, MetricType type,
                                             std::string_view help) {
  assert(valid_metric_name(name));
  for (auto& family : families_) {
    if (family->name_ != name) continue;
    assert(family->type_ == type && family->help_ == help);
    return *family;
  }
  families_.push_back(
      std::unique_ptr<Family>(new Family(std::string(name), type, std::string(help))));
  return *families_.back();
}

std::string ExpositionPage::text() const {
  std::string out;
  for (const auto& family : families_) family->write(out);
  return out;
}

ExpositionPage::Family::Family(std::string name, MetricType type, std::string help)
    : name_(std::move(name)), type_(type), help_(std::move(help)) {}

void ExpositionPage::Family::check_new_label_set(const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& [name, value] : sorted) {
    assert(valid_label_name(name) && name != "le");
    key += name;
    key += '=';
    key += escape_label_value(value);
    key += '\n';
  }
  [[maybe_unused]] const bool inserted = label_sets_.insert(std::move(key)).second;
  assert(inserted);
}

ExpositionPage::Family& ExpositionPage::Family::add(Labels labels, double value) {
  assert(type_ != MetricType::kHistogram);
  check_new_label_set(labels);
  write_sample(samples_, name_, labels, value);
  return *this;
}

ExpositionPage::Family& ExpositionPage::Family::add(Labels labels, const HistogramValue& value) {
  assert(type_ == MetricType::kHistogram);
  check_new_label_set(labels);
  const std::string bucket = name_ + "_bucket";
  [[maybe_unused]] double last_le = -INFINITY;
  [[maybe_unused]] std::uint64_t last_count = 0;
  for (const auto& b : value.buckets) {
    assert(std::isfinite(b.le) && b.le > last_le && b.count >= last_count &&
           b.count <= value.count);
    last_le = b.le;
    last_count = b.count;
    write_sample(samples_, bucket, labels, static_cast<double>(b.count), format_value(b.le));
  }
  write_sample(samples_, bucket, labels, static_cast<double>(value.count), "+Inf");
  write_sample(samples_, name_ + "_sum", labels, value.sum);
  write_sample(samples_, name_ + "_count", labels, static_cast<double>(value.count));
  return *this;
}

void ExpositionPage::Family::write(std::string& out) const {
  if (samples_.empty()) return;
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += escape_help(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += to_string(type_);
  out += '\n';
  out += samples_;
}

}  // namespace flotilla::prom
