#include "metrics/metric_store.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace flotilla {

std::string_view to_string(Statistic s) {
  switch (s) {
    case Statistic::average:
      return "Average";
    case Statistic::sum:
      return "Sum";
    case Statistic::minimum:
      return "Minimum";
    case Statistic::maximum:
      return "Maximum";
    case Statistic::sample_count:
      return "SampleCount";
  }
  return "unknown";
}

std::optional<Statistic> parse_statistic(std::string_view text) {
  for (Statistic s : {Statistic::average, Statistic::sum, Statistic::minimum, Statistic::maximum,
                      Statistic::sample_count}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

DatapointRing::DatapointRing(std::size_t capacity) : buffer_(capacity) { assert(capacity > 0); }

std::size_t DatapointRing::first_after(Time after) const {
  std::size_t lo = 0, hi = size_;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if ((*this)[mid].t <= after)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void DatapointRing::push(Datapoint d) {
  const std::size_t cap = buffer_.size();
  // Position that keeps the ring sorted; equal times keep arrival order.
  std::size_t pos = first_after(d.t);
  if (size_ == cap) {
    if (pos == 0) return;  // older than all retained data: it would be evicted at once
    head_ = (head_ + 1) % cap;
    --size_;
    --pos;
  }
  for (std::size_t i = size_; i > pos; --i) at(i) = at(i - 1);
  at(pos) = d;
  ++size_;
}

MetricStore::MetricStore(std::size_t retention) : retention_(retention) { assert(retention_ > 0); }

void MetricStore::put(const MetricId& id, Time t, double value) {
  auto it = series_.end();
  if (id.canonical()) {
    it = series_.find(id);
    if (it == series_.end()) it = series_.emplace(id, DatapointRing(retention_)).first;
  } else {
    MetricId canonical = id;
    canonical.canonicalize();
    it = series_.find(canonical);
    if (it == series_.end())
      it = series_.emplace(std::move(canonical), DatapointRing(retention_)).first;
  }
  it->second.push({t, value});
}

const DatapointRing* MetricStore::find(const MetricId& id) const {
  auto it = series_.end();
  if (id.canonical()) {
    it = series_.find(id);
  } else {
    MetricId canonical = id;
    canonical.canonicalize();
    it = series_.find(canonical);
  }
  return it == series_.end() ? nullptr : &it->second;
}

bool MetricStore::contains(const MetricId& id) const { return find(id) != nullptr; }

std::optional<double> MetricStore::statistic(const MetricId& id, Statistic s, Time end,
                                             Duration period) const {
  const DatapointRing* ring = find(id);
  if (ring == nullptr) return std::nullopt;
  std::size_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  for (std::size_t i = ring->first_after(end - period); i < ring->size(); ++i) {
    const Datapoint& d = (*ring)[i];
    if (d.t > end) break;
    ++count;
    sum += d.value;
    min = std::min(min, d.value);
    max = std::max(max, d.value);
  }
  if (count == 0) return std::nullopt;
  switch (s) {
    case Statistic::average:
      return sum / static_cast<double>(count);
    case Statistic::sum:
      return sum;
    case Statistic::minimum:
      return min;
    case Statistic::maximum:
      return max;
    case Statistic::sample_count:
      return static_cast<double>(count);
  }
  return std::nullopt;
}

std::vector<std::optional<double>> MetricStore::statistics(const MetricId& id, Statistic s,
                                                           Time end, Duration period,
                                                           std::size_t count) const {
  std::vector<std::optional<double>> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto back = static_cast<Duration::rep>(count - 1 - i);
    out.push_back(statistic(id, s, end - back * period, period));
  }
  return out;
}

std::vector<Datapoint> MetricStore::datapoints(const MetricId& id) const {
  std::vector<Datapoint> out;
  if (const DatapointRing* ring = find(id)) {
    out.reserve(ring->size());
    for (std::size_t i = 0; i < ring->size(); ++i) out.push_back((*ring)[i]);
  }
  return out;
}

std::vector<MetricId> MetricStore::list(std::string_view ns, std::string_view name) const {
  std::vector<MetricId> out;
  for (const auto& [id, ring] : series_) {
    if (!ns.empty() && id.ns != ns) continue;
    if (!name.empty() && id.name != name) continue;
    out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace flotilla
