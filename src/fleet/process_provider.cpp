#include "fleet/process_provider.h"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <charconv>
#include <utility>

#include "fleet/child_processes.h"

namespace flotilla {

namespace asio = boost::asio;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::optional<Endpoint> parse_announce(std::string_view line) {
  while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
  constexpr std::string_view kMarker = "listening on ";
  const auto at = line.rfind(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  if (at != 0 && !is_space(line[at - 1])) return std::nullopt;
  const auto address = line.substr(at + kMarker.size());
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const auto host = address.substr(0, colon);
  const auto port_text = address.substr(colon + 1);
  for (char c : host) {
    if (is_space(c)) return std::nullopt;
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size()) return std::nullopt;
  if (port == 0 || port > 65535) return std::nullopt;
  return Endpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

ProcessProvider::ProcessProvider(asio::io_context& control_io, Options options)
    : children_(std::make_unique<ChildProcesses>(
          control_io, std::move(options), [this](const WorkerId& id, std::string_view line) {
            if (const auto endpoint = parse_announce(line);
                endpoint && children_->announce(id, *endpoint))
              return;
            spdlog::debug("worker {} stdout: {}", id, line);
          })) {}

ProcessProvider::~ProcessProvider() = default;

void ProcessProvider::set_callbacks(Callbacks callbacks) {
  children_->set_callbacks(std::move(callbacks));
}

WorkerId ProcessProvider::launch(const LaunchSpec& spec) { return children_->launch(spec); }

void ProcessProvider::stop(const WorkerId& id, Duration grace) { children_->stop(id, grace); }

void ProcessProvider::signal(const WorkerId& id, int sig) { children_->signal(id, sig); }

std::optional<int> ProcessProvider::pid(const WorkerId& id) const { return children_->pid(id); }

std::size_t ProcessProvider::running() const { return children_->running(); }

}  // namespace flotilla
