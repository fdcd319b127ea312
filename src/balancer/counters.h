#pragma once
// Internal to the balancer's .cpp files: the counters the IO threads keep and the stats the
// control side assembles from them (BalancerStats, TargetLoad).
//
// Every counter has a single writer, the IO thread that owns it, and any number of readers, so
// a relaxed load and store stand in for an atomic increment (no locked read-modify-write on
// the request path). Counters of different IO threads sit on different cache lines. Readers
// sum them without stopping the threads, so a snapshot may be a few requests out of step
// between fields.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "balancer/data_plane.h"

namespace flotilla::proxy {

// Single writer (the owning IO thread), any reader: a relaxed load+store is enough and avoids a
// locked read-modify-write on the hot path.
template <typename T>
void bump(std::atomic<T>& counter, T delta = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}
template <typename T>
T read(const std::atomic<T>& counter) {
  return counter.load(std::memory_order_relaxed);
}
using Counter = std::atomic<std::uint64_t>;

// Guards an IO thread's histograms against stats() readers: the IO thread takes it once per
// response, uncontended but for the rare read, where a pthread mutex would cost several times
// the instructions. A reader holds it only while merging a few histograms.
class SpinLock {
 public:
  void lock() {
    while (flag_.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
  }
  void unlock() { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

// HTTPCode_Target_*XX_Count by class.
struct alignas(64) ResponseClasses {
  Counter c2xx{0};
  Counter c3xx{0};
  Counter c4xx{0};
  Counter c5xx{0};
  void count(int status) {
    switch (status / 100) {
      case 2:
        return bump(c2xx);
      case 3:
        return bump(c3xx);
      case 4:
        return bump(c4xx);
      default:
        return bump(c5xx);
    }
  }
  template <typename Stats>
  void add_to(Stats& s) const {
    s.responses_2xx += read(c2xx);
    s.responses_3xx += read(c3xx);
    s.responses_4xx += read(c4xx);
    s.responses_5xx += read(c5xx);
  }
};

// One IO thread's balancer-wide counters.
struct alignas(64) ThreadCounters {
  Counter requests{0};
  ResponseClasses responses;
  Counter elb_2xx{0};
  Counter elb_3xx{0};
  Counter elb_4xx{0};
  Counter elb_5xx{0};
  Counter elb_400{0};
  Counter elb_408{0};
  Counter elb_413{0};
  Counter elb_431{0};
  Counter elb_502{0};
  Counter elb_503{0};
  Counter elb_504{0};
  Counter target_connection_errors{0};
  Counter retries{0};
  Counter retry_budget_exhausted{0};
  std::atomic<std::int64_t> active_connections{0};
  Counter new_connections{0};
  Counter accept_pauses{0};  // the listener's, on the first IO thread only

  // Every answer of the balancer's own (errors and fixed responses), by class.
  void count_own_response(int status);
  // An error answer, by status (400, 408, 413, 431, 502, 503, 504; others are not counted).
  void count_error(int status);
  // Adds these counters to `s`'s balancer-wide fields.
  void add_to(BalancerStats& s) const;
};

// One group's counters on one IO thread.
struct alignas(64) GroupCounters {
  Counter requests{0};
  ResponseClasses responses;
  Counter elb_502{0};
  Counter elb_503{0};
  Counter elb_504{0};
  Counter target_connection_errors{0};
  Counter retries{0};

  void add_to(BalancerGroupStats& s) const;
};

// One target's counters in one group, one slot (cache-line aligned) per IO thread.
struct TargetCounters {
  struct alignas(64) Slot {
    Counter requests{0};
    std::atomic<std::int64_t> outstanding{0};
    Counter errors{0};
    Counter target_connection_errors{0};
    Counter retries{0};  // failed attempts here tried again elsewhere
    Counter consecutive_failures{0};
    Counter response_time_ns{0};
    Counter response_time_count{0};
    ResponseClasses responses;
    Counter failure_streaks{0};       // TargetLoad::failure_streaks
    std::uint32_t toward_streak = 0;  // failure_makes_streak()'s; the owning IO thread's alone

    // A failed attempt (connect error, reset, timeout, bad response, 5xx), with the target's
    // published failure_streak.
    void count_failure(std::uint32_t streak) {
      bump(consecutive_failures);
      if (failure_makes_streak(toward_streak, streak)) bump(failure_streaks);
    }
    // Any other response: the run of failures ends.
    void count_success() {
      if (read(consecutive_failures) == 0) return;
      consecutive_failures.store(0, std::memory_order_relaxed);
      toward_streak = 0;
    }
  };
  explicit TargetCounters(int threads_) : slots(new Slot[threads_]), threads(threads_) {}

  // Summed over IO threads; consecutive_failures the largest thread's.
  BalancerTargetStats read_stats() const;
  TargetLoad read_load() const;

  std::unique_ptr<Slot[]> slots;
  int threads;
};

// The control side's record of every target's counters, by id and group. IO threads hold
// shared references to the counters they write (through the published target sets) and never
// touch the registry; its lock is taken only on the control side and by stats readers.
//
// Each publish() has a serial; the IO threads report the last one they switched to. An entry is
// current while its group's published set names it. A removed entry is reported (stats, load)
// only while it has requests in flight, and freed by the first publish() that finds it idle
// after every IO thread switched to a set without it: from then on no new request can reach it.
class TargetCounterRegistry {
 public:
  explicit TargetCounterRegistry(int threads) : threads_(threads) {}

  struct Published {
    std::uint64_t serial = 0;
    std::vector<std::shared_ptr<TargetCounters>> counters;  // parallel to the ids
  };
  // Makes `ids` the current set of `group` and returns their counters (existing ones kept, new
  // ones created) with this publication's serial, after freeing the removed entries that are
  // idle and that every IO thread has stopped routing to (`applied`: the lowest serial the
  // IO threads switched to).
  Published publish(std::size_t group, const std::vector<std::string>& ids, std::uint64_t applied);

  // Adds each reported target into s.groups[group_names[group]].targets and s.targets.
  void add_to(BalancerStats& s, const std::vector<std::string>& group_names) const;
  // The id's load over every group that reports it; TargetLoad{} if none does. Allocates
  // nothing.
  TargetLoad load(const std::string& id) const;

 private:
  struct Entry {
    std::size_t group = 0;
    std::shared_ptr<TargetCounters> counters;
    std::uint64_t removed_by = 0;  // the serial of the publish() that removed it; 0: current
  };
  static bool reported(const Entry& entry, std::int64_t outstanding) {
    return entry.removed_by == 0 || outstanding != 0;
  }

  const int threads_;
  mutable std::mutex mu_;
  std::uint64_t serial_ = 0;                       // of the last publish()
  std::map<std::string, std::vector<Entry>> ids_;  // by target id, one entry per group
};

}  // namespace flotilla::proxy
