#include "sim/sim_traffic.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace flotilla {

namespace {

std::int64_t second_of(Duration scheduled) {
  return std::chrono::duration_cast<std::chrono::seconds>(scheduled).count();
}

// A request's token for the data plane: its scheduled time (under 2^47 ns in a day) and its
// entry of the mix, all its reply needs to know.
constexpr int kEntryBits = 8;

std::uint64_t token_of(Duration scheduled, std::size_t entry) {
  assert(entry < (std::size_t{1} << kEntryBits));
  assert(scheduled.count() >= 0 && scheduled.count() < (std::int64_t{1} << (63 - kEntryBits)));
  return (static_cast<std::uint64_t>(scheduled.count()) << kEntryBits) | entry;
}
Duration scheduled_of(std::uint64_t token) {
  return Duration(static_cast<Duration::rep>(token >> kEntryBits));
}
std::size_t entry_of(std::uint64_t token) {
  return static_cast<std::size_t>(token & ((std::uint64_t{1} << kEntryBits) - 1));
}

}  // namespace

SimTraffic::SimTraffic(VirtualScheduler& scheduler, SimDataPlane& data_plane, LoadConfig config)
    : scheduler_(scheduler),
      data_plane_(data_plane),
      config_(std::move(config)),
      arrivals_(config_.schedule, config_.arrivals, config_.seed),
      mix_(config_.requests, config_.seed),
      seconds_(config_.keep_seconds),
      requests_(config_.requests.size()) {
  data_plane_.set_sender(*this);
}

SimTraffic::~SimTraffic() = default;

void SimTraffic::start() {
  if (started_) return;
  started_ = true;
  epoch_ = scheduler_.now();
  advance();
  schedule_next();
}

void SimTraffic::advance() {
  next_ = arrivals_.next();
  if (next_) next_entry_ = mix_.pick(arrivals_.produced() - 1);
}

void SimTraffic::schedule_next() {
  if (!next_) {
    arrivals_done_ = true;
    if (in_flight_ == 0 && !finished_at_) finished_at_ = scheduler_.now();
    return;
  }
  scheduler_.post_event_in_order(epoch_ + *next_, *this, 0);
}

void SimTraffic::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  next_.reset();
  arrivals_done_ = true;
  if (!finished_at_) finished_at_ = scheduler_.now();
}

void SimTraffic::on_event(std::uint64_t) {
  if (stopped_ || !next_) return;
  const Duration scheduled = *next_;
  const std::int64_t second = second_of(scheduled);
  if (second != current_second_) {
    // Every request of the earlier seconds has left: those done can be summarised.
    current_second_ = second;
    seconds_.close_before(second);
  }
  ++sent_;
  ++requests_[next_entry_].sent;
  seconds_.on_sent(second);
  if (in_flight_ >= config_.max_connections) {
    record_error(second, next_entry_, LoadErrorKind::kOverload);
  } else {
    ++in_flight_;
    if (!data_plane_.submit(token_of(scheduled, next_entry_))) {
      --in_flight_;
      record_error(second, next_entry_, LoadErrorKind::kConnectError);
    }
  }
  advance();
  schedule_next();
}

void SimTraffic::record_error(std::int64_t second, std::size_t entry, LoadErrorKind kind) {
  ++by_kind_[kind];
  ++requests_[entry].errors;
  seconds_.on_error(second, kind);
}

void SimTraffic::on_reply(std::uint64_t token, int status, Time now) {
  const Duration scheduled = scheduled_of(token);
  const std::size_t entry = entry_of(token);
  const std::int64_t second = second_of(scheduled);
  --in_flight_;
  if (stopped_) {
    seconds_.on_abandoned(second);
  } else {
    const Duration latency = now - (epoch_ + scheduled);
    if (latency > config_.request_timeout) {
      record_error(second, entry, LoadErrorKind::kTimeout);
    } else if (status >= 500) {
      record_error(second, entry, LoadErrorKind::kHttp5xx);
    } else if (status >= 400) {
      record_error(second, entry, LoadErrorKind::kHttp4xx);
    } else {
      ++ok_;
      ++requests_[entry].ok;
      requests_[entry].latency.record(latency);
      seconds_.on_ok(second, latency);
    }
  }
  if (arrivals_done_ && in_flight_ == 0 && !finished_at_) finished_at_ = now;
}

LoadSnapshot SimTraffic::snapshot(std::optional<std::size_t> recent_seconds) const {
  LoadSnapshot snap;
  if (!started_) return snap;
  snap.started = true;
  snap.finished = arrivals_done_ && in_flight_ == 0;
  const Duration total = config_.schedule.duration();
  const Time until = snap.finished && finished_at_ ? *finished_at_ : scheduler_.now();
  snap.elapsed = std::min<Duration>(until - epoch_, total);
  seconds_.close_before(snap.finished ? std::numeric_limits<std::int64_t>::max()
                                      : second_of(snap.elapsed));
  snap.seconds = snapshot_seconds(seconds_, config_.schedule, snap.elapsed, recent_seconds);
  snap.sent = sent_;
  snap.ok = ok_;
  snap.by_kind = by_kind_;
  snap.errors = by_kind_.total();
  snap.in_flight = in_flight_;
  snap.open_connections = in_flight_;
  if (!recent_seconds) {
    snap.latency = seconds_.latency();
    snap.requests = requests_;
  }
  return snap;
}

}  // namespace flotilla
