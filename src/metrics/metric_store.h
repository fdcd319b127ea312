#pragma once
// MetricStore: CloudWatch's datapoint store. Each series (one MetricId) keeps its most recent
// datapoints in a ring buffer bounded by count (retention); statistics are computed over a
// half-open window (end - period, end], as CloudWatch assigns a datapoint at a period's end to
// that period.
//
// Ids are canonicalized on the way in, so dimension order does not matter.
// Threading: control plane only (not thread-safe).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/time.h"
#include "metrics/metric_id.h"

namespace flotilla {

enum class Statistic { average, sum, minimum, maximum, sample_count };

// CloudWatch spelling: "Average", "Sum", "Minimum", "Maximum", "SampleCount".
std::string_view to_string(Statistic s);
std::optional<Statistic> parse_statistic(std::string_view text);

struct Datapoint {
  Time t{};
  double value = 0;
  bool operator==(const Datapoint&) const = default;
};

// The datapoints of one series, ordered by time (ties keep insertion order), oldest dropped
// first once `capacity` is reached.
class DatapointRing {
 public:
  explicit DatapointRing(std::size_t capacity);

  // A datapoint older than the newest is inserted in time order (a late answer); one older than
  // everything in a full ring is dropped.
  void push(Datapoint d);
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return buffer_.size(); }
  bool empty() const { return size_ == 0; }
  // i = 0 is the oldest.
  const Datapoint& operator[](std::size_t i) const { return buffer_[(head_ + i) % buffer_.size()]; }
  // Index of the first datapoint with t > after (size() if none).
  std::size_t first_after(Time after) const;

 private:
  Datapoint& at(std::size_t i) { return buffer_[(head_ + i) % buffer_.size()]; }

  std::vector<Datapoint> buffer_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

class MetricStore {
 public:
  static constexpr std::size_t kDefaultRetention = 4096;

  // `retention`: datapoints kept per series (> 0).
  explicit MetricStore(std::size_t retention = kDefaultRetention);

  void put(const MetricId& id, Time t, double value);

  // The statistic of the datapoints in (end - period, end]; nullopt when there are none
  // (SampleCount too: CloudWatch reports no datapoint rather than 0).
  std::optional<double> statistic(const MetricId& id, Statistic s, Time end, Duration period) const;
  // The statistic for `count` consecutive periods ending at `end`, oldest first: element i covers
  // (end - (count - i) * period, end - (count - 1 - i) * period].
  std::vector<std::optional<double>> statistics(const MetricId& id, Statistic s, Time end,
                                                Duration period, std::size_t count) const;

  // The stored datapoints of a series, oldest first (empty if unknown).
  std::vector<Datapoint> datapoints(const MetricId& id) const;
  // CloudWatch ListMetrics: every series whose namespace and name match (empty = any), sorted.
  std::vector<MetricId> list(std::string_view ns = {}, std::string_view name = {}) const;
  bool contains(const MetricId& id) const;
  std::size_t series_count() const { return series_.size(); }
  std::size_t retention() const { return retention_; }

 private:
  const DatapointRing* find(const MetricId& id) const;

  std::size_t retention_;
  std::unordered_map<MetricId, DatapointRing> series_;
};

}  // namespace flotilla
