#pragma once
// MetricStore: CloudWatch's datapoint store. Each series (one MetricId) keeps its most recent
// datapoints in a ring buffer bounded by count (retention); statistics are computed over a
// half-open window (end - period, end], as CloudWatch assigns a datapoint at a period's end to
// that period. A period may span any number of collection intervals.
//
// A datapoint is one value, or a distribution (a MetricHistogram: many values, like CloudWatch's
// PutMetricData with Values and Counts). SampleCount counts values, not datapoints; Sum, Minimum,
// Maximum and Average are exact either way. Percentiles: over scalar datapoints only, the exact
// nearest-rank value; as soon as a distribution is in the window, the merged histograms' (1 %
// relative error, see metric_histogram.h), scalars recorded into the merge.
//
// Memory per series: retention x (32 bytes + 16 bytes per non-empty bucket of a distribution).
// Series come and go with what they describe (a worker's InstanceId series); prune_before()
// drops the ones nobody has written to since a cutoff, so the count of series stays bounded.
//
// Ids are canonicalized on the way in, so dimension order does not matter.
// Threading: control plane only (not thread-safe).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/time.h"
#include "metrics/metric_histogram.h"
#include "metrics/metric_id.h"
#include "metrics/statistic.h"

namespace flotilla {

struct Datapoint {
  Datapoint() = default;
  Datapoint(Time time, double v) : t(time), value(v) {}
  // A distribution; value is its mean.
  Datapoint(Time time, std::shared_ptr<const MetricHistogram> h)
      : t(time), value(h ? h->mean() : 0), histogram(std::move(h)) {}

  Time t{};
  double value = 0;
  std::shared_ptr<const MetricHistogram> histogram;  // null for a single value

  // Distributions compare by content.
  bool operator==(const Datapoint& o) const {
    if (t != o.t || value != o.value || !histogram != !o.histogram) return false;
    return !histogram || *histogram == *o.histogram;
  }
};

// The datapoints of one series, ordered by time (ties keep insertion order), oldest dropped
// first once `capacity` is reached.
class DatapointRing {
 public:
  // Storage grows with use up to `capacity` (doubling), so a short-lived series (a worker that
  // lived minutes) costs what it holds, not the whole retention.
  explicit DatapointRing(std::size_t capacity);

  // A datapoint older than the newest is inserted in time order (a late answer); one older than
  // everything in a full ring is dropped.
  void push(Datapoint d);
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  // i = 0 is the oldest.
  const Datapoint& operator[](std::size_t i) const { return buffer_[(head_ + i) % buffer_.size()]; }
  // Index of the first datapoint with t > after (size() if none).
  std::size_t first_after(Time after) const;

 private:
  Datapoint& at(std::size_t i) { return buffer_[(head_ + i) % buffer_.size()]; }

  void grow();

  std::size_t capacity_;
  std::vector<Datapoint> buffer_;  // a ring of buffer_.size() <= capacity_ slots
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

class MetricStore {
 public:
  static constexpr std::size_t kDefaultRetention = 4096;

  // `retention`: datapoints kept per series (> 0).
  explicit MetricStore(std::size_t retention = kDefaultRetention);

  void put(const MetricId& id, Time t, double value);
  // A distribution datapoint; an empty histogram stores nothing (no values, no datapoint).
  void put(const MetricId& id, Time t, const MetricHistogram& values);
  void put(const MetricId& id, Datapoint d);

  // The statistic of the datapoints in (end - period, end]; nullopt when there are none
  // (SampleCount too: CloudWatch reports no datapoint rather than 0).
  std::optional<double> statistic(const MetricId& id, Statistic s, Time end, Duration period) const;
  // Every value in (end - period, end] merged into one histogram (empty if none).
  MetricHistogram histogram(const MetricId& id, Time end, Duration period) const;
  // The statistic for `count` consecutive periods ending at `end`, oldest first: element i covers
  // (end - (count - i) * period, end - (count - 1 - i) * period].
  std::vector<std::optional<double>> statistics(const MetricId& id, Statistic s, Time end,
                                                Duration period, std::size_t count) const;

  // The newest datapoint of a series; nullopt if it has none.
  std::optional<Datapoint> latest(const MetricId& id) const;
  // The stored datapoints of a series, oldest first (empty if unknown).
  std::vector<Datapoint> datapoints(const MetricId& id) const;
  // CloudWatch ListMetrics: every series whose namespace and name match (empty = any), sorted.
  std::vector<MetricId> list(std::string_view ns = {}, std::string_view name = {}) const;
  bool contains(const MetricId& id) const;
  // Drops every series whose newest datapoint is older than `cutoff`. Returns how many.
  std::size_t prune_before(Time cutoff);
  std::size_t series_count() const { return series_.size(); }
  std::size_t retention() const { return retention_; }

 private:
  const DatapointRing* find(const MetricId& id) const;

  std::size_t retention_;
  std::unordered_map<MetricId, DatapointRing> series_;
};

}  // namespace flotilla
