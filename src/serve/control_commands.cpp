#include "serve/control_commands.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <sstream>

#include "core/config.h"
#include "core/errors.h"
#include "core/format.h"
#include "scenario/fault.h"
#include "serve/admin_client.h"

namespace flotilla {

namespace {

using nlohmann::json;

// Runs `body` against serve; AdminUnavailable becomes its message on `err` and exit code 1.
int talk(const AdminFlags& flags, std::ostream& err,
         const std::function<int(const AdminAddress&)>& body) {
  const AdminAddress admin = admin_address(flags.admin, flags.token_file);
  try {
    return body(admin);
  } catch (const AdminUnavailable& e) {
    err << "flotilla: " << e.what() << "\n";
    return kExitFailed;
  }
}

json expect_ok(const AdminReply& reply, const std::string& what) {
  if (reply.status != 200) {
    const std::string message = reply.body.is_object() ? reply.body.value("error", "") : "";
    throw AdminUnavailable(what + ": serve answered " + std::to_string(reply.status) +
                           (message.empty() ? "" : " (" + message + ")"));
  }
  return reply.body;
}

std::string cell(const json& v, int decimals = 1) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return format_number(v.get<double>(), decimals);
  return v.dump();
}

void print_group(std::ostream& out, const json& g) {
  out << "group " << g.value("name", "") << ": desired " << g["desired"] << ", in service "
      << g["in_service"] << ", pending " << g["pending"] << ", terminating " << g["terminating"]
      << " (min " << g["min"] << ", max " << g["max"] << ")\n";
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i)
      out << std::left << std::setw(static_cast<int>(i + 1 < r.size() ? width[i] + 2 : 0)) << r[i];
    out << "\n";
  }
}

// The ids `choice` takes among the workers in service (in launch order), counts and percentages
// at random, as a fault's "workers" does.
std::vector<std::string> choose(const WorkerChoice& choice, std::vector<std::string> in_service) {
  if (in_service.empty()) return {};
  switch (choice.kind) {
    case WorkerChoice::Kind::kOldest:
      return {in_service.front()};
    case WorkerChoice::Kind::kNewest:
      return {in_service.back()};
    case WorkerChoice::Kind::kIds:
      return choice.ids;
    case WorkerChoice::Kind::kCount:
    case WorkerChoice::Kind::kPercent:
      break;
  }
  const auto n = static_cast<std::size_t>(
      std::min<int>(choice.how_many(static_cast<int>(in_service.size())),
                    static_cast<int>(in_service.size())));
  std::mt19937_64 random{std::random_device{}()};
  std::shuffle(in_service.begin(), in_service.end(), random);
  in_service.resize(n);
  return in_service;
}

}  // namespace

int status_command(const AdminFlags& flags, std::ostream& out, std::ostream& err) {
  return talk(flags, err, [&](const AdminAddress& admin) -> int {
    const json group = expect_ok(admin_request(admin, "GET", "/api/v1/group"), "group");
    const json summary = expect_ok(admin_request(admin, "GET", "/api/v1/summary"), "summary");
    const json workers = expect_ok(admin_request(admin, "GET", "/api/v1/workers"), "workers");
    if (flags.json) {
      out << json{{"group", group}, {"summary", summary}, {"workers", workers["workers"]}}.dump(2)
          << "\n";
      return kExitOk;
    }
    print_group(out, group);
    const json rate = summary["error_rate"];
    out << "traffic: " << cell(summary["rps"], 0) << " responses/s, errors "
        << (rate.is_null() ? std::string("-") : format_number(rate.get<double>() * 100, 2) + " %")
        << ", p50 " << cell(summary["p50_ms"], 2) << " ms, p99 " << cell(summary["p99_ms"], 2)
        << " ms; healthy targets " << summary["healthy"] << "/" << summary["targets"] << "\n";
    const json& load = summary["load"];
    if (load.value("running", false))
      out << "load generator: " << cell(load["rps"], 1) << " req/s\n";
    std::vector<std::vector<std::string>> rows = {
        {"ID", "STATE", "HEALTH", "REASON", "PID", "PORT", "ZONE", "LAUNCHED"}};
    for (const json& w : workers["workers"]) {
      const json& health = w["health"];
      rows.push_back({cell(w["id"]), cell(w["state"]),
                      health.is_null() ? "-" : cell(health["state"]),
                      health.is_null() || health["reason"] == "" ? "-" : cell(health["reason"]),
                      cell(w["pid"]), cell(w["port"]), w["zone"] == "" ? "-" : cell(w["zone"]),
                      cell(w["launched_at"])});
    }
    print_table(out, rows);
    return kExitOk;
  });
}

int kill_command(const AdminFlags& flags, const KillFlags& kill, std::ostream& out,
                 std::ostream& err) {
  const int ways = !kill.ids.empty() + !kill.workers.empty() + kill.random;
  if (ways != 1)
    throw UserError("kill: expected worker ids, --workers N|PCT|oldest|newest or --random "
                    "(one of them)");
  std::optional<WorkerChoice> choice;
  if (kill.random) choice = WorkerChoice{};  // one worker, at random
  if (!kill.workers.empty()) {
    // A count is a JSON number, the rest strings, as in a scenario file's "workers".
    const bool digits = std::all_of(kill.workers.begin(), kill.workers.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    const json value = digits ? json(std::stoll(kill.workers.substr(0, 9))) : json(kill.workers);
    choice = parse_workers(ConfigNode(value, "--workers"));
  }
  return talk(flags, err, [&](const AdminAddress& admin) -> int {
    std::vector<std::string> ids = kill.ids;
    if (choice) {
      const json workers = expect_ok(admin_request(admin, "GET", "/api/v1/workers"), "workers");
      std::vector<std::string> in_service;
      for (const json& w : workers["workers"])
        if (w["state"] == "in_service") in_service.push_back(w["id"].get<std::string>());
      ids = choose(*choice, in_service);
      if (ids.empty()) {
        err << "flotilla: no worker is in service to kill\n";
        return kExitFailed;
      }
    }
    json results = json::array();
    int code = kExitOk;
    for (const std::string& id : ids) {
      const AdminReply reply = admin_request(admin, "POST", "/api/v1/workers/" + id + "/kill",
                                             json{{"signal", kill.signal}});
      if (reply.status == 404) {
        err << "flotilla: no worker " << id << " in the group\n";
        code = kExitFailed;
        continue;
      }
      results.push_back(expect_ok(reply, "kill " + id));
      if (!flags.json) out << "sent SIG" << kill.signal << " to " << id << "\n";
    }
    if (flags.json) out << results.dump(2) << "\n";
    return code;
  });
}

int scale_command(const AdminFlags& flags, const ScaleFlags& scale, std::ostream& out,
                  std::ostream& err) {
  json body = json::object();
  if (scale.desired) body["desired"] = *scale.desired;
  if (scale.min) body["min"] = *scale.min;
  if (scale.max) body["max"] = *scale.max;
  if (body.empty()) throw UserError("scale: expected --desired N, --min N or --max N");
  return talk(flags, err, [&](const AdminAddress& admin) -> int {
    const json group = expect_ok(admin_request(admin, "POST", "/api/v1/group", body), "scale");
    if (flags.json)
      out << group.dump(2) << "\n";
    else
      print_group(out, group);
    return kExitOk;
  });
}

int fault_command(const AdminFlags& flags, const std::string& fault, std::ostream& out,
                  std::ostream& err) {
  json body;
  if (!fault.empty() && fault.front() == '{') {
    body = json::parse(fault, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      throw UserError("fault: expected a JSON object or a file, got " + fault);
  } else {
    body = load_json_file(fault);
    if (!body.is_object()) throw UserError(fault + ": expected a JSON object (one fault entry)");
  }
  return talk(flags, err, [&](const AdminAddress& admin) -> int {
    const json reply = expect_ok(admin_request(admin, "POST", "/api/v1/faults", body), "fault");
    if (flags.json)
      out << reply.dump(2) << "\n";
    else
      out << "started: " << reply.value("fault", "") << "\n";
    return kExitOk;
  });
}

int serve_load_command(const AdminFlags& flags, const ServeLoadFlags& load, std::ostream& out,
                       std::ostream& err) {
  json body;
  if (load.stop) {
    if (load.rps) throw UserError("load: expected --rps N or --stop, not both");
    body = {{"stop", true}};
  } else {
    if (!load.rps) throw UserError("load: expected --rps N (or --url URL to load any server)");
    body = {{"rps", *load.rps}};
    if (load.duration) body["duration"] = *load.duration;
  }
  return talk(flags, err, [&](const AdminAddress& admin) -> int {
    const json reply = expect_ok(admin_request(admin, "POST", "/api/v1/load", body), "load");
    if (flags.json) {
      out << reply.dump(2) << "\n";
    } else if (reply.value("running", false)) {
      out << "load generator: " << cell(reply["rps"], 1) << " req/s\n";
    } else {
      out << "load generator stopped (" << reply["sent"] << " sent, " << reply["ok"] << " ok, "
          << reply["errors"] << " errors so far)\n";
    }
    return kExitOk;
  });
}

}  // namespace flotilla
