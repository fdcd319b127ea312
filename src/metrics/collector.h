#pragma once
// Collector: every `period` asks each registered MetricSource for samples and puts them into the
// MetricStore with the tick's timestamp, so a sample read at tick T lands in the period ending
// at T whenever its answer arrives.
//
// Threading: control plane only. The store must outlive the collector.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "core/scheduler.h"
#include "metrics/metric_source.h"
#include "metrics/metric_store.h"

namespace flotilla {

class Collector {
 public:
  using SourceId = std::uint64_t;

  Collector(Scheduler& scheduler, MetricStore& store, Duration period);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // The collector keeps the source alive until remove_source(); a source whose answer may come
  // after that must keep itself alive (e.g. shared_from_this in its pending operation).
  SourceId add_source(std::shared_ptr<MetricSource> source);
  // Answers already asked for are still stored. Returns false for an unknown id.
  bool remove_source(SourceId id);
  std::size_t source_count() const { return sources_.size(); }

  // Ticks at first, first + period, ...; start() begins one period from now.
  void start(Time first);
  void start();
  void stop();
  // One round now, outside the periodic schedule.
  void collect_now();

  Duration period() const { return task_.period(); }
  // Sources asked and not yet answered.
  std::size_t in_flight() const;
  // Rounds in which a source was skipped because its previous answer was outstanding.
  std::uint64_t skipped() const { return skipped_; }
  std::uint64_t samples_stored() const { return samples_stored_; }

 private:
  struct Entry {
    std::shared_ptr<MetricSource> source;
    bool in_flight = false;
  };
  void round(Time stamp);

  Scheduler& scheduler_;
  MetricStore& store_;
  PeriodicTask task_;
  std::map<SourceId, Entry> sources_;
  SourceId next_id_ = 1;
  std::uint64_t skipped_ = 0;
  std::uint64_t samples_stored_ = 0;
  // Answers that arrive after the collector is gone see this expired.
  std::shared_ptr<Collector*> self_;
};

}  // namespace flotilla
