#include "fleet/command_provider.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

#include "fleet/child_processes.h"

namespace flotilla {

std::string substitute_placeholders(std::string_view text, const CommandPlaceholders& values) {
  const std::pair<std::string_view, std::string> replacements[] = {
      {"{port}", std::to_string(values.port)}, {"{host}", values.host}, {"{id}", values.id}};
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    for (const auto& [name, value] : replacements) {
      if (text.substr(i, name.size()) == name) {
        out += value;
        i += name.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

std::optional<std::uint16_t> pick_free_port(const std::string& host, std::string& why) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    why = "not an IPv4 address: " + host;
    return std::nullopt;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::optional<std::uint16_t> port;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    why = "bind " + host + ":0: " + std::strerror(errno);
  } else if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    why = std::string("getsockname: ") + std::strerror(errno);
  } else {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

CommandProvider::CommandProvider(boost::asio::io_context& control_io, Options options)
    : host_(std::move(options.host)),
      children_(std::make_unique<ChildProcesses>(control_io, std::move(options.process),
                                                 [](const WorkerId& id, std::string_view line) {
                                                   spdlog::debug("worker {} stdout: {}", id, line);
                                                 })) {}

CommandProvider::~CommandProvider() = default;

void CommandProvider::set_callbacks(Callbacks callbacks) {
  children_->set_callbacks(std::move(callbacks));
}

WorkerId CommandProvider::launch(const LaunchSpec& spec) {
  std::string why;
  const auto port = pick_free_port(host_, why);
  const CommandPlaceholders values{host_, port.value_or(0), children_->next_id()};
  LaunchSpec command{substitute_placeholders(spec.executable, values), {}, spec.zone, std::nullopt};
  for (const auto& arg : spec.args) command.args.push_back(substitute_placeholders(arg, values));
  if (!port) return children_->launch(command, std::nullopt, "no free port: " + why);
  return children_->launch(command, Endpoint{host_, *port});
}

void CommandProvider::stop(const WorkerId& id, Duration grace) { children_->stop(id, grace); }

void CommandProvider::signal(const WorkerId& id, int sig) { children_->signal(id, sig); }

std::optional<int> CommandProvider::pid(const WorkerId& id) const { return children_->pid(id); }

std::size_t CommandProvider::running() const { return children_->running(); }

}  // namespace flotilla
