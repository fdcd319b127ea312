#include "metrics/metric_store.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>

namespace flotilla {

DatapointRing::DatapointRing(std::size_t capacity)
    : capacity_(capacity), buffer_(std::min<std::size_t>(capacity, 8)) {
  assert(capacity > 0);
}

void DatapointRing::grow() {
  std::vector<Datapoint> bigger(std::min(capacity_, buffer_.size() * 2));
  for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move(at(i));
  buffer_ = std::move(bigger);
  head_ = 0;
}

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
  if (size_ == buffer_.size() && buffer_.size() < capacity_) grow();
  const std::size_t cap = buffer_.size();
  // Position that keeps the ring sorted; equal times keep arrival order.
  std::size_t pos = first_after(d.t);
  if (size_ == cap) {
    if (pos == 0) return;  // older than all retained data: it would be evicted at once
    head_ = (head_ + 1) % cap;
    --size_;
    --pos;
  }
  for (std::size_t i = size_; i > pos; --i) at(i) = std::move(at(i - 1));
  at(pos) = std::move(d);
  ++size_;
}

MetricStore::MetricStore(std::size_t retention) : retention_(retention) { assert(retention_ > 0); }

void MetricStore::put(const MetricId& id, Time t, double value) { put(id, Datapoint(t, value)); }

void MetricStore::put(const MetricId& id, Time t, const MetricHistogram& values) {
  if (values.empty()) return;
  put(id, Datapoint(t, std::make_shared<const MetricHistogram>(values)));
}

void MetricStore::put(const MetricId& id, Datapoint d) {
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
  it->second.push(std::move(d));
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

std::size_t MetricStore::prune_before(Time cutoff) {
  return std::erase_if(series_, [cutoff](const auto& entry) {
    const DatapointRing& ring = entry.second;
    return ring.empty() || ring[ring.size() - 1].t < cutoff;
  });
}

std::optional<double> MetricStore::statistic(const MetricId& id, Statistic s, Time end,
                                             Duration period) const {
  const DatapointRing* ring = find(id);
  if (ring == nullptr) return std::nullopt;
  const std::size_t first = ring->first_after(end - period);
  std::size_t last = first;  // one past the window
  while (last < ring->size() && (*ring)[last].t <= end) ++last;
  if (last == first) return std::nullopt;

  std::uint64_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  bool distributions = false;
  for (std::size_t i = first; i < last; ++i) {
    const Datapoint& d = (*ring)[i];
    if (d.histogram) {
      distributions = true;
      count += d.histogram->count();
      sum += d.histogram->sum();
      min = std::min(min, d.histogram->min());
      max = std::max(max, d.histogram->max());
    } else {
      ++count;
      sum += d.value;
      min = std::min(min, d.value);
      max = std::max(max, d.value);
    }
  }
  switch (s.kind) {
    case Statistic::Kind::average:
      return sum / static_cast<double>(count);
    case Statistic::Kind::sum:
      return sum;
    case Statistic::Kind::minimum:
      return min;
    case Statistic::Kind::maximum:
      return max;
    case Statistic::Kind::sample_count:
      return static_cast<double>(count);
    case Statistic::Kind::percentile:
      break;
  }
  if (distributions) return histogram(id, end, period).percentile(s.percentile);
  // Exact nearest rank over the window's values.
  std::vector<double> values;
  values.reserve(last - first);
  for (std::size_t i = first; i < last; ++i) values.push_back((*ring)[i].value);
  const double p = std::clamp(s.percentile, 0.0, 100.0);
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                   values.end());
  return values[rank - 1];
}

MetricHistogram MetricStore::histogram(const MetricId& id, Time end, Duration period) const {
  MetricHistogram merged;
  const DatapointRing* ring = find(id);
  if (ring == nullptr) return merged;
  for (std::size_t i = ring->first_after(end - period); i < ring->size(); ++i) {
    const Datapoint& d = (*ring)[i];
    if (d.t > end) break;
    if (d.histogram)
      merged.merge(*d.histogram);
    else
      merged.record(d.value);
  }
  return merged;
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

std::optional<Datapoint> MetricStore::latest(const MetricId& id) const {
  const DatapointRing* ring = find(id);
  if (ring == nullptr || ring->empty()) return std::nullopt;
  return (*ring)[ring->size() - 1];
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
