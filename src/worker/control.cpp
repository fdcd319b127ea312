#include "worker/control.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/duration.h"
#include "core/errors.h"
#include "worker/faults.h"

namespace flotilla {

namespace {

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

ControlAnswer error_answer(int status, const std::string& error, const std::string& field) {
  return {status, nlohmann::json{{"error", error}, {"field", field}}.dump(), {}, {}};
}

ControlAnswer method_not_allowed(const std::string& allow) {
  ControlAnswer a = error_answer(405, "expected " + allow, "");
  a.allow = allow;
  return a;
}

// The answer of `take`, given the body of PUT `path` as a ConfigNode; a body that is not JSON or
// that `take`'s parsing refuses is a 400 naming the field.
template <class Take>
ControlAnswer take_body(std::string_view path, std::string_view body, Take take) {
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return error_answer(400, "expected a JSON object (the body is not JSON)", "");
  try {
    return take(ConfigNode(doc, "PUT " + std::string(path)));
  } catch (const UserError& e) {
    // ConfigNode names the body as a whole "/"; a JSON pointer names it "".
    return error_answer(400, "expected " + e.expected(), e.pointer() == "/" ? "" : e.pointer());
  }
}

SelfSignal parse_self_signal(const ConfigNode& node) {
  node.only_keys({"signal", "for"});
  SelfSignal s;
  s.signal = node.at("signal").as_enum({"KILL", "STOP"}) == "KILL" ? SIGKILL : SIGSTOP;
  if (s.signal == SIGSTOP) {
    s.stop_for = node.at("for").as_duration(kMinSelfStop, kMaxSelfStop);
  } else if (auto f = node.get("for")) {
    f->fail("no \"for\" with KILL (a killed process does not come back)");
  }
  return s;
}

}  // namespace

bool is_control_target(std::string_view target) {
  return path_of(target).starts_with(kControlPrefix);
}

std::string self_signal_json(const SelfSignal& s) {
  nlohmann::json out = {{"signal", s.signal == SIGKILL ? "KILL" : "STOP"}};
  if (s.signal == SIGSTOP) out["for"] = format_duration(s.stop_for);
  return out.dump();
}

void suffer_self_signal(const SelfSignal& s) {
  const pid_t self = ::getpid();
  if (s.signal != SIGSTOP) {
    ::kill(self, s.signal);
    return;
  }
  const pid_t helper = ::fork();
  if (helper == 0) {
    // The grandchild does the work; its parent exits at once so that it is not the worker's
    // child (the worker reaps nothing).
    if (::fork() == 0) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(s.stop_for).count();
      timespec left{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      ::kill(self, SIGSTOP);
      while (::nanosleep(&left, &left) != 0) {
      }
      ::kill(self, SIGCONT);
    }
    ::_exit(0);
  }
  if (helper > 0) ::waitpid(helper, nullptr, 0);
}

ControlAnswer control_request(std::string_view method, std::string_view target,
                              std::string_view body, WorkerModel& model, Time now) {
  const std::string_view path = path_of(target);
  if (path == kSignalPath) {
    if (method != "PUT") return method_not_allowed("PUT");
    return take_body(path, body, [](const ConfigNode& node) {
      const SelfSignal s = parse_self_signal(node);
      return ControlAnswer{200, self_signal_json(s), {}, s};
    });
  }
  if (path != kFaultsPath) {
    return error_answer(404,
                        "expected a control path (" + std::string(kFaultsPath) + " or " +
                            std::string(kSignalPath) + ")",
                        "");
  }
  if (method == "GET") return {200, worker_faults_json(model.faults()), {}, {}};
  if (method != "PUT") return method_not_allowed("GET, PUT");
  return take_body(path, body, [&](const ConfigNode& node) {
    model.apply_faults(parse_worker_faults(node), now);
    return ControlAnswer{200, worker_faults_json(model.faults()), {}, {}};
  });
}

}  // namespace flotilla
