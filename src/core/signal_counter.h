#pragma once
// SignalCounter: counts the SIGINTs and SIGTERMs that arrive while one exists, for a command that
// runs no io_context and still stops on them as a live run does (a simulation, `flotilla load`).
// A process-wide handler: the first counter alive installs it and resets the count, the last one
// restores what was installed before. Several may be alive at once (compare runs several
// simulations), and then they share the count.
//
// Threading: construct and destroy from one thread at a time (a mutex guards the handover);
// count() from any thread.
#include <signal.h>

namespace flotilla {

class SignalCounter {
 public:
  SignalCounter();
  ~SignalCounter();
  SignalCounter(const SignalCounter&) = delete;
  SignalCounter& operator=(const SignalCounter&) = delete;

  // SIGINTs and SIGTERMs since the first counter now alive was made.
  int count() const;
};

}  // namespace flotilla
