#include "metrics/collector.h"

namespace flotilla {

Collector::Collector(Scheduler& scheduler, MetricStore& store, Duration period)
    : scheduler_(scheduler),
      store_(store),
      task_(scheduler, period, [this] { round(task_.tick_time()); }),
      self_(std::make_shared<Collector*>(this)) {}

Collector::~Collector() = default;

Collector::SourceId Collector::add_source(std::shared_ptr<MetricSource> source) {
  const SourceId id = next_id_++;
  sources_.emplace(id, Entry{std::move(source), false});
  return id;
}

bool Collector::remove_source(SourceId id) { return sources_.erase(id) > 0; }

void Collector::start(Time first) { task_.start(first); }
void Collector::start() { task_.start(); }
void Collector::stop() { task_.stop(); }
void Collector::collect_now() { round(scheduler_.now()); }

std::size_t Collector::in_flight() const {
  std::size_t n = 0;
  for (const auto& [id, e] : sources_) n += e.in_flight ? 1 : 0;
  return n;
}

void Collector::round(Time stamp) {
  // Copy the ids first: a source answering inline may add or remove sources.
  std::vector<SourceId> ids;
  ids.reserve(sources_.size());
  for (const auto& [id, e] : sources_) ids.push_back(id);

  for (SourceId id : ids) {
    auto it = sources_.find(id);
    if (it == sources_.end()) continue;
    if (it->second.in_flight) {
      ++skipped_;
      continue;
    }
    it->second.in_flight = true;
    // Held for the call: an inline answer may remove the source.
    std::shared_ptr<MetricSource> source = it->second.source;
    std::weak_ptr<Collector*> weak = self_;
    auto answered = std::make_shared<bool>(false);
    source->collect(stamp, [weak, id, stamp, answered](std::vector<Sample> samples) {
      if (*answered) return;  // a second call breaks the contract; ignore it
      *answered = true;
      auto self = weak.lock();
      if (!self) return;
      Collector& c = **self;
      if (auto e = c.sources_.find(id); e != c.sources_.end()) e->second.in_flight = false;
      for (Sample& s : samples) {
        if (s.histogram) {
          if (s.histogram->empty()) continue;
          c.store_.put(s.id, Datapoint(stamp, std::move(s.histogram)));
        } else {
          c.store_.put(s.id, stamp, s.value);
        }
        ++c.samples_stored_;
      }
    });
  }
}

}  // namespace flotilla
