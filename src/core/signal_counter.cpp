#include "core/signal_counter.h"

#include <csignal>
#include <mutex>

namespace flotilla {

namespace {

volatile std::sig_atomic_t g_signals = 0;
void on_signal(int) { g_signals = g_signals + 1; }

std::mutex g_mu;
int g_users = 0;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

}  // namespace

SignalCounter::SignalCounter() {
  std::lock_guard lock(g_mu);
  if (g_users++ > 0) return;
  g_signals = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

SignalCounter::~SignalCounter() {
  std::lock_guard lock(g_mu);
  if (--g_users > 0) return;
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

int SignalCounter::count() const { return static_cast<int>(g_signals); }

}  // namespace flotilla
