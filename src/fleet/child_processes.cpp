#include "fleet/child_processes.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/process/args.hpp>
#include <boost/process/async_pipe.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/search_path.hpp>
#include <cassert>
#include <cerrno>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

namespace flotilla {

namespace asio = boost::asio;
namespace bp = boost::process;

namespace {

// A worker's stdout line longer than this is discarded (the announce line is short).
constexpr std::size_t kMaxLineBytes = 64 * 1024;
// What a shell reports for a command it could not run.
constexpr int kExitCannotStart = 127;

// Runs in the child between fork and exec, so it only makes async-signal-safe calls.
struct ChildSetup : bp::extend::handler {
  pid_t parent = 0;
  bool own_process_group = true;
  bool stderr_to_stdout = false;
  pid_t* failed_pid = nullptr;  // where on_error leaves the pid of a child whose exec failed

  template <typename Executor>
  void on_exec_setup(Executor&) const {
    // Flotilla may block or ignore signals (SIGPIPE for its sockets, signals handled by a
    // dedicated thread); ignored dispositions and the mask survive exec, and a worker must start
    // with the defaults so that SIGTERM and SIGKILL from stop() behave as documented.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2}) {
      ::sigaction(sig, &dfl, nullptr);
    }
    if (own_process_group) ::setpgid(0, 0);
    // Runs after the stdout redirection (initializers run in the order they are given).
    if (stderr_to_stdout) ::dup2(STDOUT_FILENO, STDERR_FILENO);
    // Flotilla's sockets and other workers' pipes are not all close-on-exec; a worker must not
    // keep them open (a listening port would outlive flotilla). Best effort: old kernels lack it.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died before prctl: then the request came too late and we are orphaned.
    if (::getppid() != parent) ::_exit(1);
  }

  template <typename Executor>
  void on_error(Executor& exec, const std::error_code&) const {
    if (failed_pid != nullptr) *failed_pid = exec.pid;
  }
};

struct Worker {
  Worker(asio::io_context& io, WorkerId worker_id)
      : id(std::move(worker_id)), kill_timer(io), drain_timer(io), out_buf(kMaxLineBytes) {}

  WorkerId id;
  pid_t pid = -1;  // -1 when the launch failed
  std::unique_ptr<bp::async_pipe> out;
  asio::steady_timer kill_timer;
  asio::steady_timer drain_timer;
  asio::streambuf out_buf;
  bool announced = false;
  bool stopping = false;
  bool reaped = false;    // waitpid returned its status: the pid may be reused from now on
  bool out_eof = false;   // stdout closed (or never opened)
  bool reported = false;  // on_exit delivered (or the provider shut down)
  WorkerExit exit;
};

using WorkerPtr = std::shared_ptr<Worker>;

std::string resolve_executable(const std::string& executable) {
  if (executable.find('/') != std::string::npos) return executable;
  return bp::search_path(executable).string();
}

}  // namespace

struct ChildProcesses::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Options opts, LineHandler on_line)
      : io_(io),
        options_(std::move(opts)),
        on_line_(std::move(on_line)),
        next_sequence_(options_.first_id),
        sigchld_(io, SIGCHLD) {
    // Asio installs its SIGCHLD handler without SA_RESTART: every worker exit would then fail
    // blocking system calls elsewhere in the process with EINTR. Keep Asio's handler, add the
    // flags. SA_NOCLDSTOP: stops and continues (fault injection) are not exits.
    struct sigaction action {};
    if (::sigaction(SIGCHLD, nullptr, &action) == 0 && action.sa_handler != SIG_DFL &&
        action.sa_handler != SIG_IGN && (action.sa_flags & SA_SIGINFO) == 0) {
      action.sa_flags |= SA_RESTART | SA_NOCLDSTOP;
      ::sigaction(SIGCHLD, &action, nullptr);
    }
  }

  void start() { arm_sigchld(); }

  void arm_sigchld() {
    sigchld_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec, int) {
      auto self = weak.lock();
      if (!self || self->closed_ || ec) return;
      self->arm_sigchld();
      self->reap_exited();
    });
  }

  WorkerPtr find(const WorkerId& id) const {
    const auto it = workers_.find(id);
    return it == workers_.end() ? nullptr : it->second;
  }

  // Starts the child; the reason when it could not be started, else "" (worker.pid and
  // worker.out are set).
  std::string spawn(Worker& worker, const std::string& name, const std::vector<std::string>& args) {
    std::string failure;
    try {
      const std::string executable = resolve_executable(name);
      if (executable.empty()) {
        failure = "not found in PATH";
      } else {
        auto out = std::make_unique<bp::async_pipe>(io_);
        pid_t failed_pid = -1;
        ChildSetup setup;
        setup.parent = ::getpid();
        setup.own_process_group = options_.own_process_group;
        setup.stderr_to_stdout = options_.stderr_to_stdout;
        setup.failed_pid = &failed_pid;
        std::error_code ec;
        bp::child child(bp::exe = executable, bp::args = args, (bp::std_in < bp::null),
                        (bp::std_out > *out), setup, ec);
        if (!ec && child.valid()) {
          worker.pid = child.id();
          // The provider reaps the child itself; an attached bp::child would kill it on
          // destruction.
          child.detach();
          worker.out = std::move(out);
        } else {
          failure = ec ? ec.message() : "launch failed";
          // Boost.Process does not reap a child whose exec failed; it has already exited.
          if (failed_pid > 0) {
            while (::waitpid(failed_pid, nullptr, 0) == -1 && errno == EINTR) {
            }
          }
        }
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
    return failure;
  }

  WorkerId launch(const LaunchSpec& spec, const std::optional<Endpoint>& endpoint,
                  const std::string& refused) {
    assert(!closed_);
    const std::uint64_t sequence = next_sequence_++;
    auto worker = std::make_shared<Worker>(io_, format_worker_id(options_.id_prefix, sequence));
    std::vector<std::string> args = spec.args;
    if (spec.seed) {
      args.push_back("--seed");
      args.push_back(std::to_string(worker_seed(*spec.seed, sequence)));
    }
    workers_.emplace(worker->id, worker);

    const std::string failure = refused.empty() ? spawn(*worker, spec.executable, args) : refused;

    if (worker->pid > 0) {
      spdlog::debug("worker {} started: pid {}, {}", worker->id, worker->pid, spec.executable);
      // Queued before the first read: that read may complete at once (a command that exited
      // already), and its on_exit must come after this on_listening.
      if (endpoint) {
        asio::post(io_, [weak = weak_from_this(), id = worker->id, endpoint = *endpoint] {
          if (auto self = weak.lock(); self && !self->closed_) self->announce(id, endpoint);
        });
      }
      read_stdout(worker);
    } else {
      spdlog::warn("worker {} could not start {}: {}", worker->id, spec.executable, failure);
      worker->reaped = true;
      worker->out_eof = true;
      worker->exit = WorkerExit{kExitCannotStart, 0};
      asio::post(io_, [weak = weak_from_this(), worker] {
        if (auto self = weak.lock(); self && !self->closed_) self->report(worker);
      });
    }
    return worker->id;
  }

  void read_stdout(const WorkerPtr& worker) {
    asio::async_read_until(
        *worker->out, worker->out_buf, '\n',
        [weak = weak_from_this(), worker](const boost::system::error_code& ec, std::size_t n) {
          auto self = weak.lock();
          if (!self || self->closed_ || worker->reported) return;
          self->on_stdout(worker, ec, n);
        });
  }

  void on_stdout(const WorkerPtr& worker, const boost::system::error_code& ec, std::size_t n) {
    if (!ec) {
      std::string line(
          asio::buffers_begin(worker->out_buf.data()),
          asio::buffers_begin(worker->out_buf.data()) + static_cast<std::ptrdiff_t>(n));
      worker->out_buf.consume(n);
      handle_line(worker, line);
      if (!worker->reported) read_stdout(worker);
      return;
    }
    if (ec == asio::error::not_found) {
      spdlog::debug("worker {}: discarding a stdout line longer than {} bytes", worker->id,
                    kMaxLineBytes);
      worker->out_buf.consume(worker->out_buf.size());
      read_stdout(worker);
      return;
    }
    if (worker->out_buf.size() > 0) {
      std::string rest(asio::buffers_begin(worker->out_buf.data()),
                       asio::buffers_end(worker->out_buf.data()));
      worker->out_buf.consume(worker->out_buf.size());
      handle_line(worker, rest);
      if (worker->reported) return;
    }
    worker->out_eof = true;
    if (worker->reaped) {
      report(worker);
    } else {
      // A closed stdout often means an exit whose SIGCHLD is still queued; looking is cheap.
      reap_exited();
    }
  }

  void handle_line(const WorkerPtr& worker, std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    on_line_(worker->id, line);
  }

  bool announce(const WorkerId& id, const Endpoint& endpoint) {
    const auto worker = find(id);
    if (!worker || worker->reported || worker->announced) return false;
    worker->announced = true;
    spdlog::debug("worker {} listening on {}", worker->id, endpoint.to_string());
    if (callbacks_.on_listening) callbacks_.on_listening(worker->id, endpoint);
    return true;
  }

  // Collects the status of every launched child that has ended. Only our own pids are waited
  // for: other code in the process may have children of its own.
  void reap_exited() {
    std::vector<WorkerPtr> ended;
    for (const auto& [id, worker] : workers_) {
      if (worker->reaped || worker->pid <= 0) continue;
      int status = 0;
      pid_t result;
      do {
        result = ::waitpid(worker->pid, &status, WNOHANG);
      } while (result == -1 && errno == EINTR);
      if (result == 0) continue;
      worker->reaped = true;
      if (result == worker->pid && WIFSIGNALED(status)) {
        worker->exit = WorkerExit{-1, WTERMSIG(status)};
      } else if (result == worker->pid && WIFEXITED(status)) {
        worker->exit = WorkerExit{WEXITSTATUS(status), 0};
      } else {
        spdlog::warn("worker {} (pid {}) was reaped by someone else; its exit status is lost", id,
                     worker->pid);
        worker->exit = WorkerExit{-1, 0};
      }
      ended.push_back(worker);
    }
    for (const auto& worker : ended) {
      worker->kill_timer.cancel();
      if (worker->out_eof || !worker->out) {
        report(worker);
        continue;
      }
      // Let the read loop deliver what the child wrote before it died (an announce line, most
      // importantly) so that on_listening precedes on_exit.
      worker->drain_timer.expires_after(options_.exit_drain);
      worker->drain_timer.async_wait(
          [weak = weak_from_this(), worker](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (!self || self->closed_ || ec) return;
            self->report(worker);
          });
    }
  }

  void report(const WorkerPtr& worker) {
    if (worker->reported) return;
    worker->reported = true;
    worker->kill_timer.cancel();
    worker->drain_timer.cancel();
    if (worker->out) {
      boost::system::error_code ignored;
      worker->out->close(ignored);
    }
    workers_.erase(worker->id);
    spdlog::debug("worker {} ended: {}", worker->id, worker->exit.describe());
    if (callbacks_.on_exit) callbacks_.on_exit(worker->id, worker->exit);
  }

  // Signals the worker's process group, or the process alone when it has none.
  void send(const Worker& worker, int sig) {
    assert(worker.pid > 0 && !worker.reaped);
    if (options_.own_process_group && ::kill(-worker.pid, sig) == 0) return;
    ::kill(worker.pid, sig);
  }

  void stop(const WorkerId& id, Duration grace) {
    const auto worker = find(id);
    if (!worker || worker->reaped || worker->stopping) return;
    worker->stopping = true;
    send(*worker, SIGTERM);
    worker->kill_timer.expires_after(grace);
    worker->kill_timer.async_wait(
        [weak = weak_from_this(), worker](const boost::system::error_code& ec) {
          auto self = weak.lock();
          if (!self || self->closed_ || ec || worker->reaped) return;
          spdlog::info("worker {} still running after its stop grace period; sending SIGKILL",
                       worker->id);
          self->send(*worker, SIGKILL);
        });
  }

  void signal(const WorkerId& id, int sig) {
    const auto worker = find(id);
    if (!worker || worker->reaped) return;
    send(*worker, sig);
  }

  void shutdown() {
    closed_ = true;
    boost::system::error_code ignored;
    sigchld_.cancel(ignored);
    sigchld_.clear(ignored);
    for (const auto& [id, worker] : workers_) {
      if (worker->pid > 0 && !worker->reaped) {
        send(*worker, SIGKILL);
        while (::waitpid(worker->pid, nullptr, 0) == -1 && errno == EINTR) {
        }
        worker->reaped = true;
      }
      worker->reported = true;
      worker->kill_timer.cancel();
      worker->drain_timer.cancel();
      if (worker->out) worker->out->close(ignored);
    }
    workers_.clear();
  }

  asio::io_context& io_;
  Options options_;
  LineHandler on_line_;
  std::uint64_t next_sequence_;
  asio::signal_set sigchld_;
  Provider::Callbacks callbacks_;
  std::map<WorkerId, WorkerPtr> workers_;  // launched and not yet reported
  bool closed_ = false;
};

ChildProcesses::ChildProcesses(asio::io_context& control_io, Options options, LineHandler on_line)
    : impl_(std::make_shared<Impl>(control_io, std::move(options), std::move(on_line))) {
  impl_->start();
}

ChildProcesses::~ChildProcesses() { impl_->shutdown(); }

void ChildProcesses::set_callbacks(Provider::Callbacks callbacks) {
  impl_->callbacks_ = std::move(callbacks);
}

WorkerId ChildProcesses::next_id() const {
  return format_worker_id(impl_->options_.id_prefix, impl_->next_sequence_);
}

WorkerId ChildProcesses::launch(const LaunchSpec& spec, const std::optional<Endpoint>& endpoint,
                                const std::string& refused) {
  return impl_->launch(spec, endpoint, refused);
}

bool ChildProcesses::announce(const WorkerId& id, const Endpoint& endpoint) {
  return impl_->announce(id, endpoint);
}

void ChildProcesses::stop(const WorkerId& id, Duration grace) { impl_->stop(id, grace); }

void ChildProcesses::signal(const WorkerId& id, int sig) { impl_->signal(id, sig); }

std::optional<int> ChildProcesses::pid(const WorkerId& id) const {
  const auto worker = impl_->find(id);
  if (!worker || worker->reaped || worker->pid <= 0) return std::nullopt;
  return worker->pid;
}

std::size_t ChildProcesses::running() const { return impl_->workers_.size(); }

}  // namespace flotilla
