// The modelled worker under each fault of the control interface and under SIGSTOP / SIGCONT, as
// the simulated fleet delivers them.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sim/sim_fleet.h"
#include "sim_world.h"

namespace flotilla {
namespace {

struct Answer {
  std::uint64_t token;
  int status;
  Time at;
  bool operator==(const Answer&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Answer& a) {
  return out << "{token " << a.token << ", " << a.status << " at " << to_millis(a.at) << " ms}";
}

struct FaultRecorder final : SimWorker::Client {
  std::vector<Answer> answers;
  std::vector<std::uint64_t> lost;
  void on_response(std::uint64_t token, int status, Time now) override {
    answers.push_back({token, status, now});
  }
  void on_lost(std::uint64_t token, Time) override { lost.push_back(token); }
  std::optional<Answer> of(std::uint64_t token) const {
    for (const auto& a : answers)
      if (a.token == token) return a;
    return std::nullopt;
  }
};

// One simulated fleet whose workers answer a FaultRecorder; every exit is remembered.
struct Fleet {
  explicit Fleet(WorkerProfile profile, std::uint64_t seed = 1)
      : fleet(sched, std::move(profile), seed) {
    fleet.set_worker_client(recorder);
    fleet.set_callbacks(
        {{}, [this](const WorkerId& id, const WorkerExit& how) { exits.emplace(id, how); }});
  }
  WorkerId launch() {
    const WorkerId id = fleet.launch({});
    sched.run_until(sched.now());
    return id;
  }
  SimWorker& worker(const WorkerId& id) { return *fleet.find(id); }
  // A health check as the target group makes one: `out` holds the result once it came.
  void probe(const WorkerId& id, Duration timeout, std::optional<HttpGetResult>& out) {
    fleet.probe(worker(id).endpoint(), "/health", timeout,
                [&out](HttpGetResult r) { out = std::move(r); });
  }
  void set(const WorkerId& id, const std::string& json) {
    const auto doc = nlohmann::json::parse(json);
    REQUIRE(fleet.set_faults(id, parse_worker_faults(ConfigNode(doc, "test"))));
  }

  VirtualScheduler sched;
  FaultRecorder recorder;
  SimFleet fleet;
  std::map<WorkerId, WorkerExit> exits;
};

WorkerProfile faulty_profile(int capacity, Duration service, int queue_limit = 100) {
  return testing::constant_profile(capacity, service, queue_limit);
}

}  // namespace

TEST_CASE("SimWorker faults: slow multiplies service times from the next request on") {
  Fleet f(faulty_profile(2, 100ms));
  const WorkerId id = f.launch();
  SimWorker& w = f.worker(id);
  CHECK(w.deliver(1, f.sched.now()) == Admission::kServe);
  f.set(id, R"({"slow": {"factor": 3}})");
  CHECK(w.deliver(2, f.sched.now()) == Admission::kServe);
  f.sched.run();
  CHECK(f.recorder.of(1)->at == 100ms);  // in service when it was set: its own time
  CHECK(f.recorder.of(2)->at == 300ms);
  f.set(id, R"({"slow": null})");
  w.deliver(3, f.sched.now());
  f.sched.run();
  CHECK(f.recorder.of(3)->at == 400ms);
  CHECK(w.faults().slow.op == FaultOp::kClear);
}

TEST_CASE("SimWorker faults: errors answers its fraction 500, the same requests for a seed") {
  auto run = [](std::uint64_t seed) {
    Fleet f(faulty_profile(100'000, 10ms, 0), seed);
    const WorkerId id = f.launch();
    f.set(id, R"({"errors": {"fraction": 0.3}})");
    for (std::uint64_t t = 0; t < 10'000; ++t) f.worker(id).deliver(t, f.sched.now());
    f.sched.run();
    std::vector<int> statuses;
    for (const auto& a : f.recorder.answers) statuses.push_back(a.status);
    CHECK(f.worker(id).status(f.sched.now()).errors ==
          static_cast<std::uint64_t>(std::count(statuses.begin(), statuses.end(), 500)));
    return statuses;
  };
  const auto a = run(3);
  REQUIRE(a.size() == 10'000);
  const auto errors = std::count(a.begin(), a.end(), 500);
  CHECK(std::count(a.begin(), a.end(), 200) + errors == 10'000);
  CHECK(errors >= 2'800);  // 3,000 +- 4.4 standard deviations
  CHECK(errors <= 3'200);
  CHECK(run(3) == a);  // runs replay
  CHECK(run(4) != a);  // and the seed matters
}

TEST_CASE("SimWorker faults: crash_after sends the last answer, loses the rest, exits 1") {
  Fleet f(faulty_profile(1, 100ms));
  const WorkerId id = f.launch();
  SimWorker& w = f.worker(id);
  f.set(id, R"({"crash_after": {"requests": 2}})");
  for (std::uint64_t t = 1; t <= 4; ++t) w.deliver(t, f.sched.now());
  f.sched.run();
  REQUIRE(f.recorder.answers.size() == 2);
  CHECK(f.recorder.answers[0] == Answer{1, 200, 100ms});
  CHECK(f.recorder.answers[1] == Answer{2, 200, 200ms});
  CHECK(f.recorder.lost == std::vector<std::uint64_t>{3, 4});
  CHECK(w.exited());
  CHECK_FALSE(w.accepting());
  REQUIRE(f.exits.count(id) == 1);
  CHECK(f.exits.at(id).exit_code == kCrashExitCode);
  CHECK(f.exits.at(id).signal == 0);
  CHECK(f.fleet.running() == 0);
  CHECK(f.fleet.at(w.endpoint()) == nullptr);
  CHECK_FALSE(f.fleet.set_faults(id, WorkerFaults::clear_all()));  // gone
}

TEST_CASE("SimWorker faults: flap alternates health check answers every period") {
  Fleet f(faulty_profile(1, 10ms));
  const WorkerId id = f.launch();
  f.sched.run_until(500ms);
  f.set(id, R"({"flap": {"period": "2s"}})");
  struct Row {
    Duration at;
    int status;
    const char* body;
  };
  const std::vector<Row> rows = {{500ms, 503, "unhealthy\n"},  {2499ms, 503, "unhealthy\n"},
                                 {2500ms, 200, "ok\n"},        {4499ms, 200, "ok\n"},
                                 {4500ms, 503, "unhealthy\n"}, {6500ms, 200, "ok\n"}};
  for (const Row& row : rows) {
    CAPTURE(to_millis(row.at));
    f.sched.run_until(row.at);
    std::optional<HttpGetResult> result;
    f.probe(id, 1s, result);
    REQUIRE(result);  // inline: no latency
    CHECK(result->ok);
    CHECK(result->status == row.status);
    CHECK(result->body == row.body);
  }
  // Work is served throughout.
  CHECK(f.worker(id).deliver(1, f.sched.now()) == Admission::kServe);
}

TEST_CASE("SimWorker faults: latency delays every answer, health checks time out behind it") {
  Fleet f(faulty_profile(1, 100ms, 0));
  const WorkerId id = f.launch();
  SimWorker& w = f.worker(id);
  f.set(id, R"({"latency": {"delay": "200ms", "jitter": "50ms"}})");
  CHECK(w.deliver(1, 0s) == Admission::kServe);
  // Queue full: the 503 takes the latency path too, so the worker answers it later.
  CHECK(w.deliver(2, 0s) == Admission::kHeld);
  std::optional<HttpGetResult> quick, slow_probe;
  f.probe(id, 1s, quick);
  CHECK_FALSE(quick);
  f.sched.run_until(100ms);
  CHECK(w.status(f.sched.now()).in_flight == 0);  // the slot is free while the answer waits
  f.sched.run();
  const auto a1 = f.recorder.of(1), a2 = f.recorder.of(2);
  REQUIRE(a1);
  REQUIRE(a2);
  CHECK(a1->status == 200);
  CHECK(a1->at >= 250ms);  // 100 ms of service, then 200 +- 50 ms
  CHECK(a1->at <= 350ms);
  CHECK(a2->status == 503);
  CHECK(a2->at >= 150ms);
  CHECK(a2->at <= 250ms);
  REQUIRE(quick);
  CHECK(quick->ok);
  CHECK(quick->status == 200);
  CHECK(quick->elapsed >= 150ms);
  CHECK(quick->elapsed <= 250ms);

  // A delay at least as long as the probe's timeout: the probe times out, at its timeout.
  const Time sent = f.sched.now();
  f.probe(id, 100ms, slow_probe);
  f.sched.run();
  REQUIRE(slow_probe);
  CHECK_FALSE(slow_probe->ok);
  CHECK(slow_probe->error == "timeout");
  CHECK(slow_probe->elapsed == 100ms);
  CHECK(f.sched.now() - sent >= 100ms);

  // A kill loses answers that were still waiting.
  w.deliver(3, f.sched.now());
  f.sched.run_until(f.sched.now() + 150ms);  // served, its answer waiting
  CHECK_FALSE(f.recorder.of(3));
  f.fleet.signal(id, SIGKILL);
  CHECK(f.recorder.lost == std::vector<std::uint64_t>{3});
  f.sched.run();
  CHECK_FALSE(f.recorder.of(3));
}

TEST_CASE("SimWorker: SIGSTOP freezes what it holds, SIGCONT resumes where it was") {
  Fleet f(faulty_profile(1, 100ms));
  const WorkerId id = f.launch();
  SimWorker& w = f.worker(id);
  w.deliver(1, 0s);
  w.deliver(2, 0s);  // queued
  f.sched.run_until(40ms);
  f.fleet.signal(id, SIGSTOP);
  CHECK(w.stopped());
  CHECK(w.accepting());  // the kernel's backlog
  // Arrivals are held unread; a health check gets no answer and times out.
  CHECK(w.deliver(3, f.sched.now()) == Admission::kHeld);
  std::optional<HttpGetResult> check;
  f.probe(id, 500ms, check);
  f.set(id, R"({"slow": {"factor": 2}})");  // read at SIGCONT
  CHECK(w.faults().slow.op == FaultOp::kClear);
  f.sched.run_until(10s);
  CHECK(f.recorder.answers.empty());
  REQUIRE(check);
  CHECK_FALSE(check->ok);
  CHECK(check->error == "timeout");
  CHECK(check->elapsed == 500ms);
  CHECK(w.status(f.sched.now()).queued == 1);  // nothing moved

  f.fleet.signal(id, SIGCONT);
  CHECK_FALSE(w.stopped());
  CHECK(w.faults().slow.get()->factor == 2);
  f.sched.run();
  // Request 1 had 60 ms left at the stop; 2 and 3 start later, under the slow fault that was
  // read at SIGCONT.
  REQUIRE(f.recorder.answers.size() == 3);
  CHECK(f.recorder.answers[0] == Answer{1, 200, 10s + 60ms});
  CHECK(f.recorder.answers[1] == Answer{2, 200, 10s + 260ms});
  CHECK(f.recorder.answers[2] == Answer{3, 200, 10s + 460ms});
  std::optional<HttpGetResult> after;
  f.probe(id, 500ms, after);
  REQUIRE(after);
  CHECK(after->status == 200);
  CHECK(f.exits.empty());
}

TEST_CASE("SimWorker: a health check held by a short stop is answered at SIGCONT") {
  Fleet f(faulty_profile(1, 10ms));
  const WorkerId id = f.launch();
  f.fleet.signal(id, SIGSTOP);
  std::optional<HttpGetResult> check;
  f.probe(id, 1s, check);
  f.sched.run_until(300ms);
  CHECK_FALSE(check);
  f.fleet.signal(id, SIGCONT);
  REQUIRE(check);
  CHECK(check->ok);
  CHECK(check->status == 200);
  CHECK(check->elapsed == 300ms);
  f.sched.run();  // the timeout that follows changes nothing
  CHECK(check->ok);
}

TEST_CASE("SimWorker: a stop also freezes answers waiting out the latency fault") {
  Fleet f(faulty_profile(1, 100ms));
  const WorkerId id = f.launch();
  f.set(id, R"({"latency": {"delay": "100ms"}})");
  f.worker(id).deliver(1, 0s);
  f.sched.run_until(150ms);  // served at 100 ms; its answer is due at 200 ms
  f.fleet.signal(id, SIGSTOP);
  f.sched.run_until(1s);
  CHECK(f.recorder.answers.empty());
  f.fleet.signal(id, SIGCONT);
  f.sched.run();
  REQUIRE(f.recorder.answers.size() == 1);
  CHECK(f.recorder.answers[0] == Answer{1, 200, 1050ms});
}

TEST_CASE("SimWorker: SIGKILL kills a stopped worker, SIGTERM waits for SIGCONT") {
  SUBCASE("SIGKILL") {
    Fleet f(faulty_profile(1, 100ms));
    const WorkerId id = f.launch();
    f.worker(id).deliver(1, 0s);
    f.fleet.signal(id, SIGSTOP);
    f.worker(id).deliver(2, 0s);
    std::optional<HttpGetResult> check;
    f.probe(id, 1s, check);
    f.fleet.signal(id, SIGKILL);
    CHECK(f.recorder.lost == std::vector<std::uint64_t>{1, 2});
    f.sched.run();
    REQUIRE(f.exits.count(id) == 1);
    CHECK(f.exits.at(id).signal == SIGKILL);
    REQUIRE(check);
    CHECK(check->error == "connection closed");
  }
  SUBCASE("SIGTERM") {
    Fleet f(faulty_profile(1, 100ms));
    const WorkerId id = f.launch();
    f.worker(id).deliver(1, 0s);
    f.fleet.signal(id, SIGSTOP);
    f.fleet.signal(id, SIGTERM);
    CHECK(f.worker(id).terminating());
    CHECK_FALSE(f.worker(id).shutting_down());
    CHECK(f.worker(id).accepting());  // the process has not closed its listener yet
    f.worker(id).deliver(2, 0s);
    f.sched.run_until(5s);
    CHECK(f.exits.empty());
    f.fleet.signal(id, SIGCONT);
    CHECK(f.worker(id).shutting_down());
    CHECK_FALSE(f.worker(id).accepting());
    f.sched.run();
    // What it held is finished (the held request too: it had arrived), then exit 0.
    REQUIRE(f.recorder.answers.size() == 2);
    CHECK(f.recorder.answers[0] == Answer{1, 200, 5s + 100ms});
    CHECK(f.recorder.answers[1] == Answer{2, 200, 5s + 200ms});
    REQUIRE(f.exits.count(id) == 1);
    CHECK(f.exits.at(id).clean());
  }
  SUBCASE("stop() on a stopped worker: its SIGKILL comes after the grace") {
    Fleet f(faulty_profile(1, 100ms));
    const WorkerId id = f.launch();
    f.worker(id).deliver(1, 0s);
    f.fleet.signal(id, SIGSTOP);
    f.fleet.stop(id, 2s);
    f.fleet.stop(id, 2s);  // again: nothing more
    f.sched.run();
    REQUIRE(f.exits.count(id) == 1);
    CHECK(f.exits.at(id).signal == SIGKILL);
    CHECK(f.recorder.lost == std::vector<std::uint64_t>{1});
    CHECK(f.sched.now() == 2s);
  }
}

TEST_CASE("SimWorker: a stopped worker behind the data plane holds its requests") {
  testing::SimWorld world(1, faulty_profile(1, 100ms));
  struct Sender final : SimDataPlane::Sender {
    std::vector<std::pair<std::uint64_t, int>> replies;
    void on_reply(std::uint64_t token, int status, Time) override {
      replies.emplace_back(token, status);
    }
  } sender;
  world.plane.set_sender(sender);
  world.fleet.signal(world.ids[0], SIGSTOP);
  world.plane.submit(1);
  world.sched.run_until(1s);
  CHECK(sender.replies.empty());
  CHECK(world.plane.in_progress() == 1);
  world.fleet.signal(world.ids[0], SIGCONT);
  world.sched.run();
  CHECK(sender.replies == std::vector<std::pair<std::uint64_t, int>>{{1, 200}});
}

}  // namespace flotilla
