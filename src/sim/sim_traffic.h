#pragma once
// SimTraffic: the simulated world's Traffic (scenario/traffic.h). Requests leave on the
// schedule's exact arrival times (the same ArrivalIterator as the live load generator) into the
// simulated data plane, and their outcomes are counted as the live load generator counts them:
// latency from the scheduled time, a 4xx/5xx reply is an error of its kind, a reply later than
// request_timeout a timeout, more than max_connections in flight an overload, one that the data
// plane refuses (it stopped accepting) a connect error. Each request is
// the entry of the mix that RequestMix::pick gives it, as live, and counts in that entry's
// figures; the modelled workers serve every method, path and body alike, as the live ones do.
//
// LoadConfig::connections changes nothing here: the data plane it sends to leaves the network
// out (a connection costs no time), and the balancer's connections to its workers are pooled
// whatever the clients do, so "new" and "keep_alive" load the fleet alike.
//
// Memory: per-second figures in a SecondSeries (bounded), one whole-run histogram; nothing per
// request beyond its time in flight.
//
// Threading: the simulator's one thread, snapshot() included.
#include <cstdint>
#include <optional>

#include "core/virtual_scheduler.h"
#include "scenario/rate_schedule.h"
#include "scenario/second_series.h"
#include "scenario/traffic.h"
#include "sim/sim_data_plane.h"

namespace flotilla {

class SimTraffic final : public Traffic, public EventHandler, public SimDataPlane::Sender {
 public:
  SimTraffic(VirtualScheduler& scheduler, SimDataPlane& data_plane, LoadConfig config);
  ~SimTraffic() override;

  void start() override;
  void stop() override;
  LoadSnapshot snapshot(std::optional<std::size_t> recent_seconds = std::nullopt) const override;

  void on_event(std::uint64_t) override;  // the next arrival is due
  void on_reply(std::uint64_t token, int status, Time now) override;

 private:
  // The next arrival and its entry of the mix.
  void advance();
  void schedule_next();
  void record_error(std::int64_t second, std::size_t entry, LoadErrorKind kind);

  VirtualScheduler& scheduler_;
  SimDataPlane& data_plane_;
  LoadConfig config_;
  ArrivalIterator arrivals_;
  RequestMix mix_;
  std::optional<Duration> next_;
  std::size_t next_entry_ = 0;  // of the mix, for next_
  Time epoch_{};
  bool started_ = false;
  bool stopped_ = false;
  bool arrivals_done_ = false;
  std::optional<Time> finished_at_;  // the last reply, once arrivals are done

  mutable SecondSeries seconds_;  // closing a finished second changes no figure
  std::uint64_t sent_ = 0;
  std::uint64_t ok_ = 0;
  ErrorCounts by_kind_;
  std::vector<RequestStats> requests_;  // per entry of the mix
  std::uint64_t in_flight_ = 0;
  std::int64_t current_second_ = 0;
};

}  // namespace flotilla
