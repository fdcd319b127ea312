#include "worker/control.h"

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/errors.h"
#include "worker/faults.h"

namespace flotilla {

namespace {

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

ControlAnswer error_answer(int status, const std::string& error, const std::string& field) {
  return {status, nlohmann::json{{"error", error}, {"field", field}}.dump(), {}};
}

}  // namespace

bool is_control_target(std::string_view target) {
  return path_of(target).starts_with(kControlPrefix);
}

ControlAnswer control_request(std::string_view method, std::string_view target,
                              std::string_view body, WorkerModel& model, Time now) {
  if (path_of(target) != kFaultsPath) {
    return error_answer(404, "expected a control path (" + std::string(kFaultsPath) + ")", "");
  }
  if (method == "GET") return {200, worker_faults_json(model.faults()), {}};
  if (method != "PUT") {
    ControlAnswer a = error_answer(405, "expected GET or PUT", "");
    a.allow = "GET, PUT";
    return a;
  }
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return error_answer(400, "expected a JSON object (the body is not JSON)", "");
  try {
    const WorkerFaults change =
        parse_worker_faults(ConfigNode(doc, "PUT " + std::string(kFaultsPath)));
    model.apply_faults(change, now);
  } catch (const UserError& e) {
    // ConfigNode names the body as a whole "/"; a JSON pointer names it "".
    return error_answer(400, "expected " + e.expected(), e.pointer() == "/" ? "" : e.pointer());
  }
  return {200, worker_faults_json(model.faults()), {}};
}

}  // namespace flotilla
