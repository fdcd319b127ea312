#include "fleet/swarm_provider.h"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/errors.h"
#include "core/format.h"
#include "fleet/docker_engine.h"
#include "fleet/process_provider.h"

namespace flotilla {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

// A task that no longer runs and never will again.
bool final_state(const std::string& state) {
  return state == "complete" || state == "failed" || state == "shutdown" || state == "rejected" ||
         state == "orphaned";
}

// Without it the engine asks a registry for the image's digest on every node; an image id
// ("sha256:...") is used as it is (images from `make image` exist on no registry).
constexpr std::string_view kIdPrefix = "sha256:";

std::string filters(const json& f) { return "filters=" + url_encode(f.dump()); }

std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// Field 22 of /proc/PID/stat: the start time in clock ticks after boot.
std::optional<std::string> start_time(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return std::nullopt;
  const auto paren = content.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(content.substr(paren + 2));
  std::string field;
  // Fields 3 (state) to 22 follow the command's closing parenthesis.
  for (int i = 3; i <= 22; ++i)
    if (!(fields >> field)) return std::nullopt;
  return field;
}

std::string make_run_id() {
  std::random_device device;
  char text[16];
  std::snprintf(text, sizeof text, "%08x", device());
  return text;
}

// Reads the worker profile named by "--profile FILE" into "--profile-json TEXT", so that a
// node needs no copy of the file. Empty `why` on success.
std::vector<std::string> container_args(const LaunchSpec& spec, std::string& why) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < spec.args.size(); ++i) {
    if (spec.args[i] == "--profile" && i + 1 < spec.args.size()) {
      std::ifstream file(spec.args[i + 1]);
      std::stringstream text;
      text << file.rdbuf();
      const auto doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
      if (!file || doc.is_discarded()) {
        why = "cannot read the profile " + spec.args[i + 1];
        return {};
      }
      out.push_back("--profile-json");
      out.push_back(doc.dump());
      ++i;
      continue;
    }
    out.push_back(spec.args[i]);
  }
  return out;
}

long long nanoseconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

}  // namespace

std::optional<std::string> owner_label(int pid) {
  const auto start = start_time(pid);
  if (!start) return std::nullopt;
  return this_host() + "/" + std::to_string(pid) + "/" + *start;
}

bool owner_alive(std::string_view label) {
  const auto first = label.find('/');
  const auto second = label.rfind('/');
  if (first == std::string_view::npos || second == first) return true;
  if (label.substr(0, first) != this_host()) return true;
  int pid = 0;
  try {
    pid = std::stoi(std::string(label.substr(first + 1, second - first - 1)));
  } catch (const std::exception&) {
    return true;
  }
  const auto now = owner_label(pid);
  return now && *now == label;
}

struct SwarmProvider::Impl : std::enable_shared_from_this<Impl> {
  struct Worker {
    std::string name;  // the service's
    std::string service_id;
    bool creating = true;
    bool exited = false;
    bool announced = false;
    bool stopping = false;
    Duration stop_grace{};  // stop()'s, once it was called
    bool removing = false;
    std::string container_id;
    std::string node_id;
    std::optional<Endpoint> endpoint;
    std::unique_ptr<DockerEngine::Stream> logs;
    LogDemultiplexer frames;
    std::string line;
    std::unique_ptr<asio::steady_timer> stop_timer;
  };

  Impl(asio::io_context& io, Options o)
      : io(io),
        options(std::move(o)),
        engine(io, options.socket_path.empty() ? docker_socket_path(std::getenv("DOCKER_HOST"))
                                               : options.socket_path),
        poll_timer(io) {
    if (options.run_id.empty()) options.run_id = make_run_id();
    owner = owner_label(static_cast<int>(::getpid())).value_or(this_host() + "/0/0");
  }

  // Learns the engine's node id and the image's id; the first launch waits for neither: its
  // create request is sent once both are known.
  void start() {
    engine.request("GET", std::string(kDockerApi) + "/info", "",
                   [weak = weak_from_this()](EngineResponse r) {
                     auto self = weak.lock();
                     if (!self) return;
                     const auto doc = json::parse(r.body, nullptr, false);
                     if (r.ok && r.status == 200 && doc.is_object())
                       self->node_id = doc["Swarm"].value("NodeID", "");
                   });
  }

  void create(const WorkerId& id, const LaunchSpec& spec) {
    std::string why;
    std::vector<std::string> args = container_args(spec, why);
    if (!why.empty()) return fail_launch(id, why);
    args.insert(args.end(), {"--bind", options.bind, "--id", id});
    if (spec.seed) {
      args.push_back("--seed");
      args.push_back(std::to_string(worker_seed(*spec.seed, sequence_of(id))));
    }
    const json labels = {{std::string(kLabelRun), options.run_id},
                         {std::string(kLabelOwner), owner},
                         {std::string(kLabelWorker), id}};
    json container = {{"Image", image()},
                      {"Args", args},
                      {"Init", true},
                      {"StopGracePeriod", nanoseconds(options.stop_grace)},
                      {"Labels", labels}};
    json body = {
        {"Name", workers.at(id).name},
        {"Labels", labels},
        {"TaskTemplate",
         {{"ContainerSpec", container},
          {"RestartPolicy", {{"Condition", "none"}}},
          {"Placement", {{"Constraints", options.constraints}}},
          {"Networks", json::array({{{"Target", "host"}}})}}},
        {"Mode", {{"Replicated", {{"Replicas", 1}}}}},
    };
    engine.request("POST", std::string(kDockerApi) + "/services/create", body.dump(),
                   [weak = weak_from_this(), id](EngineResponse r) {
                     if (auto self = weak.lock()) self->on_created(id, r);
                   });
  }

  std::string image() const { return image_id.empty() ? options.image : image_id; }

  std::uint64_t sequence_of(const WorkerId& id) const {
    return std::stoull(id.substr(options.id_prefix.size()), nullptr, 16);
  }

  void on_created(const WorkerId& id, const EngineResponse& r) {
    auto it = workers.find(id);
    if (it == workers.end()) return;
    Worker& w = it->second;
    w.creating = false;
    const auto doc = json::parse(r.body, nullptr, false);
    if (!r.ok || r.status != 201 || !doc.is_object() || !doc.contains("ID")) {
      return fail_launch(
          id, "POST /services/create: " +
                  (r.ok ? "status " + std::to_string(r.status) + ": " + r.message() : r.error));
    }
    w.service_id = doc["ID"].get<std::string>();
    spdlog::debug("worker {}: service {} ({})", id, w.name, w.service_id);
    if (w.stopping) scale_to_zero(id, w.stop_grace);
    schedule_poll();
  }

  void fail_launch(const WorkerId& id, const std::string& why) {
    spdlog::warn("worker {}: launch failed: {}", id, why);
    asio::post(io, [weak = weak_from_this(), id] {
      if (auto self = weak.lock()) self->report_exit(id, WorkerExit{127, 0});
    });
  }

  void follow_logs(const WorkerId& id) {
    Worker& w = workers.at(id);
    // A stream that follows again starts from the first line.
    w.frames = LogDemultiplexer();
    w.line.clear();
    const std::string target =
        std::string(kDockerApi) + "/services/" + w.service_id + "/logs?follow=1&stdout=1&stderr=1";
    std::weak_ptr<Impl> weak = weak_from_this();
    w.logs = engine.follow(
        target,
        [weak, id](std::string_view bytes) {
          if (auto self = weak.lock()) self->on_log(id, bytes);
        },
        [weak, id](const std::string& why) {
          auto self = weak.lock();
          if (!self) return;
          if (!why.empty()) spdlog::debug("worker {}: log stream: {}", id, why);
          // Ended before the announce: the next poll that sees the task run follows again.
          if (auto it = self->workers.find(id); it != self->workers.end()) it->second.logs.reset();
        });
  }

  void on_log(const WorkerId& id, std::string_view bytes) {
    auto it = workers.find(id);
    if (it == workers.end()) return;
    Worker& w = it->second;
    w.frames.feed(bytes, [&](int stream, std::string_view payload) {
      if (stream != 1) {
        spdlog::debug("worker {} stderr: {}", id, payload);
        return;
      }
      w.line.append(payload);
      for (auto end = w.line.find('\n'); end != std::string::npos; end = w.line.find('\n')) {
        const std::string one = w.line.substr(0, end);
        w.line.erase(0, end + 1);
        on_line(id, one);
      }
    });
  }

  void on_line(const WorkerId& id, std::string_view line) {
    Worker& w = workers.at(id);
    const auto endpoint = parse_announce(line);
    if (!endpoint || w.announced || w.exited) {
      spdlog::debug("worker {} stdout: {}", id, line);
      return;
    }
    w.announced = true;
    if (endpoint->host != "0.0.0.0") return announce(id, *endpoint);
    // A worker bound to every address is reached at its node's.
    resolve_node(id, endpoint->port);
  }

  void announce(const WorkerId& id, const Endpoint& endpoint) {
    Worker& w = workers.at(id);
    if (w.exited) return;
    w.endpoint = endpoint;
    spdlog::debug("worker {}: service {} listening on {}:{}", id, w.name, endpoint.host,
                  endpoint.port);
    if (callbacks.on_listening) callbacks.on_listening(id, endpoint);
  }

  void resolve_node(const WorkerId& id, std::uint16_t port) {
    // The task's node is known from the first poll that saw it run; the announce comes after.
    auto ask = [weak = weak_from_this(), id, port](const std::string& node) {
      auto self = weak.lock();
      if (!self) return;
      self->engine.request(
          "GET", std::string(kDockerApi) + "/nodes/" + node, "",
          [weak = self->weak_from_this(), id, port](EngineResponse r) {
            auto self = weak.lock();
            if (!self || !self->workers.count(id)) return;
            const auto doc = json::parse(r.body, nullptr, false);
            std::string addr;
            if (r.ok && r.status == 200 && doc.is_object()) addr = doc["Status"].value("Addr", "");
            if (addr.empty()) {
              spdlog::warn("worker {}: its node's address is unknown; it stays out of service", id);
              return;
            }
            self->announce(id, Endpoint{addr, port});
          });
    };
    Worker& w = workers.at(id);
    if (!w.node_id.empty()) return ask(w.node_id);
    pending_node[id] = port;
  }

  void schedule_poll() {
    if (polling) return;
    polling = true;
    poll_timer.expires_after(options.poll_interval);
    poll_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      self->poll();
    });
  }

  void poll() {
    json services = json::array();
    for (const auto& [id, w] : workers)
      if (!w.service_id.empty() && !w.exited) services.push_back(w.service_id);
    if (services.empty()) {
      polling = false;
      return;
    }
    engine.request("GET", std::string(kDockerApi) + "/tasks?" + filters({{"service", services}}),
                   "", [weak = weak_from_this()](EngineResponse r) {
                     auto self = weak.lock();
                     if (!self) return;
                     self->polling = false;
                     self->on_tasks(r);
                     self->schedule_poll();
                   });
  }

  void on_tasks(const EngineResponse& r) {
    const auto doc = json::parse(r.body, nullptr, false);
    if (!r.ok || r.status != 200 || !doc.is_array()) {
      spdlog::warn("swarm: GET /tasks: {}", r.ok ? r.message() : r.error);
      return;
    }
    std::map<std::string, const json*> task_of;  // service id -> its newest task
    for (const auto& task : doc) {
      const std::string service = task.value("ServiceID", "");
      auto& slot = task_of[service];
      if (slot == nullptr ||
          task["Version"].value("Index", 0) > (*slot)["Version"].value("Index", 0))
        slot = &task;
    }
    std::vector<WorkerId> ids;
    for (const auto& [id, w] : workers) ids.push_back(id);
    for (const WorkerId& id : ids) {
      auto it = workers.find(id);
      if (it == workers.end() || it->second.exited || it->second.service_id.empty()) continue;
      Worker& w = it->second;
      const auto found = task_of.find(w.service_id);
      if (found == task_of.end()) continue;  // not scheduled yet
      const json& task = *found->second;
      const json& status = task["Status"];
      const std::string state = status.value("State", "");
      if (w.node_id.empty() && !task.value("NodeID", "").empty()) {
        w.node_id = task["NodeID"].get<std::string>();
        if (auto p = pending_node.find(id); p != pending_node.end()) {
          const auto port = p->second;
          pending_node.erase(p);
          resolve_node(id, port);
        }
      }
      if (status.contains("ContainerStatus"))
        w.container_id = status["ContainerStatus"].value("ContainerID", w.container_id);
      // The engine ends a service's log stream at once while it has no running task.
      if (state == "running" && !w.logs && !w.announced) follow_logs(id);
      if (!final_state(state)) continue;
      WorkerExit exit;
      if (state == "rejected" || (state == "failed" && w.container_id.empty())) {
        spdlog::warn("worker {}: the swarm could not start it: {}", id, status.value("Err", state));
        exit.exit_code = 127;
      } else {
        const int code = status.contains("ContainerStatus")
                             ? status["ContainerStatus"].value("ExitCode", -1)
                             : -1;
        if (code > 128 && code <= 128 + 64) {
          exit.signal = code - 128;
        } else {
          exit.exit_code = code;
        }
      }
      report_exit(id, exit);
    }
  }

  void report_exit(const WorkerId& id, const WorkerExit& exit) {
    auto it = workers.find(id);
    if (it == workers.end() || it->second.exited) return;
    Worker& w = it->second;
    w.exited = true;
    w.logs.reset();
    w.stop_timer.reset();
    pending_node.erase(id);
    remove_service(id);
    if (callbacks.on_exit) callbacks.on_exit(id, exit);
  }

  void remove_service(const WorkerId& id) {
    Worker& w = workers.at(id);
    if (w.service_id.empty() || w.removing) {
      if (!w.creating) workers.erase(id);
      return;
    }
    w.removing = true;
    engine.request("DELETE", std::string(kDockerApi) + "/services/" + w.service_id, "",
                   [weak = weak_from_this(), id](EngineResponse r) {
                     auto self = weak.lock();
                     if (!self) return;
                     if (!r.ok || (r.status != 200 && r.status != 404))
                       spdlog::warn("worker {}: removing its service: {}", id,
                                    r.ok ? r.message() : r.error);
                     self->workers.erase(id);
                   });
  }

  // SIGTERM, then SIGKILL after `grace`, wherever the task runs: the engine's own stop.
  void scale_to_zero(const WorkerId& id, Duration grace) {
    Worker& w = workers.at(id);
    const std::string service = std::string(kDockerApi) + "/services/" + w.service_id;
    engine.request(
        "GET", service, "", [weak = weak_from_this(), id, grace, service](EngineResponse r) {
          auto self = weak.lock();
          if (!self || !self->workers.count(id) || self->workers.at(id).exited) return;
          auto doc = json::parse(r.body, nullptr, false);
          if (!r.ok || r.status != 200 || !doc.is_object()) {
            spdlog::warn("worker {}: GET its service: {}", id, r.ok ? r.message() : r.error);
            return self->report_exit(id, WorkerExit{});
          }
          json spec = doc["Spec"];
          spec["Mode"]["Replicated"]["Replicas"] = 0;
          spec["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] = nanoseconds(grace);
          const auto version = doc["Version"].value("Index", 0);
          self->engine.request("POST", service + "/update?version=" + std::to_string(version),
                               spec.dump(), [weak, id](EngineResponse r) {
                                 auto self = weak.lock();
                                 if (!self || !self->workers.count(id)) return;
                                 if (!r.ok || r.status != 200) {
                                   spdlog::warn("worker {}: scaling its service to 0: {}", id,
                                                r.ok ? r.message() : r.error);
                                   self->report_exit(id, WorkerExit{});
                                 }
                               });
        });
    // The engine's own stop failed to end it: remove the service, exit unknown.
    w.stop_timer = std::make_unique<asio::steady_timer>(io, grace + std::chrono::seconds(10));
    w.stop_timer->async_wait([weak = weak_from_this(), id](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      spdlog::warn("worker {}: its task did not end after stop; removing its service", id);
      self->report_exit(id, WorkerExit{});
    });
  }

  void signal_local(const WorkerId& id, int sig) {
    const Worker& w = workers.at(id);
    const std::string container = std::string(kDockerApi) + "/containers/" + w.container_id;
    const std::string target = sig == SIGKILL   ? container + "/kill?signal=SIGKILL"
                               : sig == SIGSTOP ? container + "/pause"
                                                : container + "/unpause";
    engine.request("POST", target, "", [id, target](EngineResponse r) {
      if (!r.ok || r.status >= 300)
        spdlog::warn("worker {}: POST {}: {}", id, target, r.ok ? r.message() : r.error);
    });
  }

  // Blocking: the destructor's clean-up. Every service of this run, and those whose creation
  // was still on its way (by name).
  void remove_all() {
    std::set<std::string> targets;
    for (const auto& [id, w] : workers)
      if (!w.exited || w.removing) targets.insert(w.service_id.empty() ? w.name : w.service_id);
    const auto listed = engine.request_now(
        "GET", std::string(kDockerApi) + "/services?" +
                   filters({{"label", {std::string(kLabelRun) + "=" + options.run_id}}}));
    const auto doc = json::parse(listed.body, nullptr, false);
    if (listed.ok && listed.status == 200 && doc.is_array())
      for (const auto& service : doc) targets.insert(service.value("ID", ""));
    targets.erase("");
    for (const auto& target : targets)
      engine.request_now("DELETE", std::string(kDockerApi) + "/services/" + target);
    workers.clear();
  }

  std::size_t sweep() {
    const auto listed =
        engine.request_now("GET", std::string(kDockerApi) + "/services?" +
                                      filters({{"label", {std::string(kLabelOwner)}}}));
    const auto doc = json::parse(listed.body, nullptr, false);
    if (!listed.ok || listed.status != 200 || !doc.is_array()) {
      spdlog::warn("swarm: listing services to sweep: {}",
                   listed.ok ? listed.message() : listed.error);
      return 0;
    }
    std::size_t removed = 0;
    for (const auto& service : doc) {
      const json& labels = service["Spec"]["Labels"];
      const std::string label = labels.value(std::string(kLabelOwner), "");
      if (label.empty() || owner_alive(label)) continue;
      const auto r = engine.request_now(
          "DELETE", std::string(kDockerApi) + "/services/" + service.value("ID", ""));
      if (r.ok && (r.status == 200 || r.status == 404)) ++removed;
    }
    if (removed > 0)
      spdlog::info("swarm: removed {} service{} left by a flotilla that is gone", removed,
                   removed == 1 ? "" : "s");
    return removed;
  }

  asio::io_context& io;
  Options options;
  DockerEngine engine;
  std::string owner;
  std::string node_id;   // the engine's own node
  std::string image_id;  // options.image resolved, when make_checked() did
  Callbacks callbacks;
  std::map<WorkerId, Worker> workers;
  std::map<WorkerId, std::uint16_t> pending_node;  // announced 0.0.0.0:PORT, node not known
  std::uint64_t next_sequence = 1;
  asio::steady_timer poll_timer;
  bool polling = false;
};

std::unique_ptr<SwarmProvider> SwarmProvider::make_checked(asio::io_context& control_io,
                                                           Options options) {
  auto provider = std::make_unique<SwarmProvider>(control_io, std::move(options));
  Impl& impl = *provider->impl_;
  const std::string& socket = impl.engine.socket_path();
  const auto info = impl.engine.request_now("GET", std::string(kDockerApi) + "/info");
  if (!info.ok)
    throw UserError("the swarm provider: no Docker engine answers on " + socket + " (" +
                    info.error +
                    "); start one (`make swarm-up`) or point DOCKER_HOST at a manager's socket");
  const auto doc = json::parse(info.body, nullptr, false);
  const json swarm = doc.is_object() ? doc.value("Swarm", json::object()) : json::object();
  const std::string state = swarm.value("LocalNodeState", "");
  if (state != "active" || !swarm.value("ControlAvailable", false))
    throw UserError("the swarm provider: the engine on " + socket +
                    " is not a swarm manager (its swarm state: \"" + state +
                    "\"); run `docker swarm init --advertise-addr 127.0.0.1` (`make swarm-up`) "
                    "or point DOCKER_HOST at a manager");
  impl.node_id = swarm.value("NodeID", "");
  const auto image = impl.engine.request_now(
      "GET", std::string(kDockerApi) + "/images/" + url_encode(impl.options.image) + "/json");
  const auto image_doc = json::parse(image.body, nullptr, false);
  if (!image.ok || image.status != 200 || !image_doc.is_object())
    throw UserError("the swarm provider: the engine on " + socket + " has no image \"" +
                    impl.options.image + "\" (" + (image.ok ? image.message() : image.error) +
                    "); build it with `make image`, or load it on every node");
  impl.image_id = image_doc.value("Id", "");
  if (!impl.image_id.starts_with(kIdPrefix)) impl.image_id.clear();
  impl.sweep();
  return provider;
}

SwarmProvider::SwarmProvider(asio::io_context& control_io, Options options)
    : impl_(std::make_shared<Impl>(control_io, std::move(options))) {
  impl_->next_sequence = impl_->options.first_id;
  impl_->start();
}

SwarmProvider::~SwarmProvider() { impl_->remove_all(); }

void SwarmProvider::set_callbacks(Callbacks callbacks) { impl_->callbacks = std::move(callbacks); }

WorkerId SwarmProvider::launch(const LaunchSpec& spec) {
  const WorkerId id = format_worker_id(impl_->options.id_prefix, impl_->next_sequence++);
  Impl::Worker& w = impl_->workers[id];
  w.name = "flotilla-" + impl_->options.run_id + "-" + id;
  impl_->create(id, spec);
  return id;
}

void SwarmProvider::stop(const WorkerId& id, Duration grace) {
  auto it = impl_->workers.find(id);
  if (it == impl_->workers.end() || it->second.exited || it->second.stopping) return;
  it->second.stopping = true;
  it->second.stop_grace = grace;
  // A service still being created is scaled down once it exists (on_created).
  if (!it->second.creating) impl_->scale_to_zero(id, grace);
}

void SwarmProvider::signal(const WorkerId& id, int sig) {
  auto it = impl_->workers.find(id);
  if (it == impl_->workers.end() || it->second.exited) return;
  const Impl::Worker& w = it->second;
  if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCONT) {
    spdlog::warn("worker {}: signal {} is not one the swarm provider sends; ignored", id, sig);
    return;
  }
  if (w.container_id.empty()) {
    spdlog::warn("worker {}: its task is not running yet; signal {} not sent", id, sig);
    return;
  }
  if (w.node_id == impl_->node_id) return impl_->signal_local(id, sig);
  if (sig == SIGCONT) {
    spdlog::debug("worker {}: on another node, it continues on its own when its stop ends", id);
    return;
  }
  if (!w.endpoint || !impl_->options.remote_signal) {
    spdlog::warn("worker {}: on another node and not reachable yet; signal {} not sent", id, sig);
    return;
  }
  impl_->options.remote_signal(id, *w.endpoint, sig, impl_->options.remote_stop_limit);
}

std::optional<int> SwarmProvider::pid(const WorkerId&) const { return std::nullopt; }

std::size_t SwarmProvider::running() const {
  std::size_t n = 0;
  for (const auto& [id, w] : impl_->workers) n += w.exited ? 0 : 1;
  return n;
}

std::size_t SwarmProvider::sweep() { return impl_->sweep(); }

const std::string& SwarmProvider::run_id() const { return impl_->options.run_id; }

}  // namespace flotilla
