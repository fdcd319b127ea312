#pragma once
// Internal to the balancer's .cpp files (it includes Asio): one client connection of the proxy.
// The Session class lives in proxy_session.cpp; the IO thread and the listener reach it through
// these functions only.
//
// A Session handles one exchange at a time:
//   read request header -> route it (to a group, or a fixed response) -> (read the rest of the
//   body while it fits) -> pick a target -> take a pooled connection or connect -> write the
//   request as received (one gather write) -> read the response header -> write it and what
//   body arrived with it -> stream the rest.
// A failed attempt is tried again on another target as retry.h decides. Every phase has a
// deadline, which the IO thread's sweep checks (check_session_deadline()).
//
// Threading: a session lives on its IO thread; every function here is called there.
#include <boost/asio/ip/tcp.hpp>

#include "balancer/upstream_pool.h"

namespace flotilla::proxy {

struct IoThread;
class Session;

// Serves `socket` on `thread`: the session registers in thread.sessions until it is destroyed,
// which happens once its last pending operation completes after close.
void start_session(IoThread& thread, tcp::socket socket);
// Acts on a passed deadline by closing the socket the pending operation waits on; that
// operation's handler decides what the client gets. Never destroys the session synchronously.
void check_session_deadline(Session& session, SteadyClock::time_point now);
// Closes the client connection and any connection to a target. Idempotent.
void close_session(Session& session);
// For the graceful stop: closes the session if it is a kept-alive connection waiting for its
// next request with none of its bytes received (not even in the socket's buffer). A session
// that has served no request yet is kept: the client connected before the listener closed
// and its request is on its way. Never destroys the session synchronously.
void close_session_if_idle(Session& session);

}  // namespace flotilla::proxy
