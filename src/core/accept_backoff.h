#pragma once
// Internal to the .cpp files that accept connections (it includes Asio): what an acceptor does
// after an accept completed, shared by the balancer's listener, serve's admin server and the
// worker's server.
//
// Out of file descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM), the connection
// stays in the listen backlog and the listening socket stays readable, so accepting again at
// once fails again at once: a core spent in a loop until a descriptor is freed. The acceptor
// pauses kAcceptPause instead. 100 ms is HAProxy's pause for these errors (nginx disables
// accept for its accept_mutex_delay, 500 ms): a freed descriptor is used within a tenth of a
// second, a client in the backlog waits no longer than that, and the failing accept costs 10
// system calls a second. Other errors (the peer reset before accept, ECONNABORTED) concern one
// connection only: the acceptor goes on at once.
//
// Threading: every call on the thread that runs the timer's io_context.
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <chrono>
#include <utility>

namespace flotilla {

inline constexpr std::chrono::milliseconds kAcceptPause{100};

// Whether a retry of the accept that failed with `ec` would fail again until a resource is
// freed.
inline bool accept_error_is_exhaustion(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  switch (ec.value()) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return true;
    default:
      return false;
  }
}

class AcceptBackoff {
 public:
  explicit AcceptBackoff(boost::asio::io_context& io) : timer_(io) {}

  // After an accept completed with `ec` (not operation_aborted): calls `accept_again` at once,
  // or kAcceptPause later for an exhaustion error (unless cancel() came first). True when it
  // paused, for the caller's count.
  template <typename AcceptAgain>
  bool next(const boost::system::error_code& ec, AcceptAgain accept_again) {
    if (!accept_error_is_exhaustion(ec)) {
      accept_again();
      return false;
    }
    timer_.expires_after(kAcceptPause);
    timer_.async_wait([again = std::move(accept_again)](const boost::system::error_code& wait) {
      if (!wait) again();
    });
    return true;
  }

  // A pause under way ends without accepting again (the acceptor is closing).
  void cancel() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace flotilla
