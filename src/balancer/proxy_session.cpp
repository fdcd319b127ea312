// One client connection of the proxy (proxy_session.h says what a session does).
#include "balancer/proxy_session.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "balancer/byte_buffer.h"
#include "balancer/counters.h"
#include "balancer/handler_pool.h"
#include "balancer/io_thread.h"
#include "balancer/own_responses.h"
#include "balancer/proxy_http.h"
#include "balancer/retry.h"
#include "balancer/route_table.h"
#include "balancer/routing.h"
#include "balancer/upstream_pool.h"

namespace flotilla::proxy {

namespace {

using verb = http::verb;

// A whole request up to this size is kept until its response starts, so it can be replayed on
// another target; larger bodies are streamed and cannot be retried once streaming began. A
// larger max_header_bytes makes the buffer that large.
constexpr std::size_t kClientBufferSize = 32 * 1024;
constexpr std::uint32_t kResponseHeaderLimit = 16 * 1024;
// After an answer that ends the connection, what the client still sends is read and dropped
// for at most this long: closing with unread input would reset the connection, and a reset can
// destroy the answer before the client reads it (a 413 to a client still uploading).
constexpr Duration kLingerTimeout = 1s;

}  // namespace

class Session final : public UpstreamReader, public std::enable_shared_from_this<Session> {
 public:
  Session(IoThread& thread, tcp::socket socket)
      : t_(thread),
        client_(std::move(socket)),
        in_(std::max<std::size_t>(kClientBufferSize, thread.config.max_header_bytes)) {
    index_ = t_.sessions.size();
    t_.sessions.push_back(this);
    bump<std::int64_t>(t_.counters.active_connections);
    bump(t_.counters.new_connections);
    tried_.reserve(4);
    out_.reserve(16);
    forwarded_.reserve(128);
  }

  ~Session() {
    release_target(false);
    end_exchange();
    Session* last = t_.sessions.back();
    t_.sessions[index_] = last;
    last->index_ = index_;
    t_.sessions.pop_back();
    bump<std::int64_t>(t_.counters.active_connections, -1);
  }

  void start() {
    error_code ec;
    client_.set_option(tcp::no_delay(true), ec);
    const auto remote = client_.remote_endpoint(ec);
    client_address_ = ec ? "unknown" : remote.address().to_string();
    do_read_request();
  }

  // For check_session_deadline(): the handler of the operation whose socket this closes sees
  // timed_out_ and decides what the client gets.
  void check_deadline(SteadyClock::time_point now) {
    if (phase_ == Phase::kClosed || now < deadline_) return;
    timed_out_ = true;
    switch (phase_) {
      case Phase::kConnecting:
      case Phase::kSendingRequest:
      case Phase::kAwaitingResponse:
      case Phase::kReadingResponseBody:
        if (up_) close_quietly(up_->socket);
        break;
      case Phase::kReadingRequest:
        // Part of a request header and no more within request_header_timeout: tell the client
        // (the read still pending is ignored). Nothing at all: an idle connection, just closed.
        if (in_.size() > 0) return send_error(408, true);
        close();
        break;
      default:
        close();
        break;
    }
  }

  // close_session_if_idle()'s test.
  void close_if_idle() {
    if (phase_ == Phase::kReadingRequest && served_ && no_input_waiting()) close();
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    // A session awaiting its target's response is owned by that connection's pending read
    // alone, and detaching from it (release_target) drops that reference: this one keeps the
    // session alive until close() returns (IoThread::shutdown() calls it from outside any
    // handler). It may be destroyed then.
    const std::shared_ptr<Session> keep = shared_from_this();
    phase_ = Phase::kClosed;
    release_target(false);
    end_exchange();
    error_code ignored;
    client_.shutdown(tcp::socket::shutdown_both, ignored);
    client_.close(ignored);
  }

 private:
  enum class Phase {
    kReadingRequest,  // also: idle between requests
    kReadingRequestBody,
    kWritingContinue,
    kConnecting,
    kSendingRequest,
    kAwaitingResponse,
    kWritingResponse,
    kReadingResponseBody,
    kWritingError,
    kLingering,  // answered, write side shut; draining the client until EOF
    kClosed,
  };

  void set_phase(Phase phase, Duration timeout) {
    phase_ = phase;
    now_ = SteadyClock::now();
    deadline_ = now_ + timeout;
  }

  // ---- request ----

  void do_read_request() {
    // Draining: a kept-alive connection gets no next request unless its bytes are already here.
    if (t_.draining && served_ && no_input_waiting()) return close();
    const auto& config = t_.config;
    // A new connection must send its first request header within request_header_timeout; a
    // kept-alive one may then idle for client_idle_timeout before the next request starts.
    Duration wait = config.client_idle_timeout;
    if (in_.size() > 0) {
      wait = config.request_header_timeout;
    } else if (!served_) {
      wait = std::min(wait, config.request_header_timeout);
    }
    set_phase(Phase::kReadingRequest, wait);
    in_.compact();  // the request starts at in_.data() and stays there until it is finished
    request_parser_.emplace(request_info_, header_limit(), body_limit());
    request_size_ = 0;
    continue_sent_ = false;
    group_ = kNoGroup;
    if (in_.size() > 0) return parse_request_header();
    if (!served_) return read_client(&Session::on_request_read);
    // The next request on a kept-alive connection cannot have come yet: the client has only just
    // been sent the response. Reading at once would mostly find nothing (a system call in vain);
    // after the other handlers that are ready now, the request has often arrived.
    asio::post(t_.io, pooled(t_.handler_pool, [self = shared_from_this()] {
                 if (self->phase_ != Phase::kReadingRequest || self->client_reading_) return;
                 self->read_client(&Session::on_request_read);
               }));
  }

  // Nothing of a next request received: not in in_, nor in the socket's receive buffer.
  bool no_input_waiting() {
    if (in_.size() > 0) return false;
    error_code ec;
    const std::size_t waiting = client_.available(ec);
    return ec || waiting == 0;
  }

  std::uint32_t header_limit() const { return t_.config.max_header_bytes; }
  std::uint64_t body_limit() const {
    return t_.config.max_body_bytes == 0 ? std::numeric_limits<std::uint64_t>::max()
                                         : t_.config.max_body_bytes;
  }

  void read_client(void (Session::*handler)(const error_code&, std::size_t)) {
    client_reading_ = true;
    client_.async_read_some(in_.prepare(),
                            pooled(t_.handler_pool, [self = shared_from_this(), handler](
                                                        const error_code& ec, std::size_t n) {
                              self->client_reading_ = false;
                              if (self->phase_ == Phase::kLingering)
                                return self->on_linger_read(ec);
                              ((*self).*handler)(ec, n);
                            }));
  }

  // Shuts the write side (the client reads EOF after the answer) and drains what it still
  // sends; closes on its EOF, an error or kLingerTimeout.
  void linger() {
    set_phase(Phase::kLingering, kLingerTimeout);
    error_code ignored;
    client_.shutdown(tcp::socket::shutdown_send, ignored);
    in_.clear();
    // A read still pending (the request header's, when the sweep answered 408) drains too.
    if (!client_reading_) read_client(&Session::on_request_read);
  }

  void on_linger_read(const error_code& ec) {
    if (ec) return close();
    in_.clear();
    read_client(&Session::on_request_read);
  }

  void on_request_read(const error_code& ec, std::size_t n) {
    // Not kReadingRequest: the sweep answered 408 meanwhile.
    if (phase_ != Phase::kReadingRequest) return;
    if (ec) return close();
    if (in_.size() == 0 && n > 0) {
      // The request's first bytes: its header must be complete within request_header_timeout,
      // however slowly the rest trickles in.
      deadline_ = SteadyClock::now() + t_.config.request_header_timeout;
    }
    in_.commit(n);
    parse_request_header();
  }

  void parse_request_header() {
    error_code ec;
    const std::size_t used = request_parser_->feed(in_.data(), in_.size(), ec);
    if (ec == proxy::http::error::need_more) {
      if (in_.space() == 0) return send_error(431, true);
      return read_client(&Session::on_request_read);
    }
    if (ec) return send_error(proxy::status_for(ec), true);
    request_size_ = used;
    served_ = true;
    bump(t_.counters.requests);
    on_request_header();
  }

  void on_request_header() {
    const char* message = in_.data();
    if (request_info_.method == verb::connect) return send_error(400, true);
    client_keep_alive_ = request_parser_->keep_alive();
    const CompiledAction& action = t_.routes.route(request_info_, message, header_lines_);
    if (action.fixed) return send_fixed(*action.fixed);
    const std::size_t choice =
        action.forward.size() == 1 ? 0 : choose_weighted(action.forward, t_.random.next_u64());
    group_ = action.group_indices[choice];
    bump(t_.groups[group_].counters.requests);

    proxy::mark_unforwarded(request_info_, message, true);
    proxy::write_forwarded_fields(request_info_, client_address_, t_.listener_port, forwarded_);
    forwarded_ += "\r\n";
    if (request_parser_->is_done()) return start_forwarding();
    // Read the rest of the body while it fits, so that the request can be replayed.
    if (request_info_.expect_continue && !continue_sent_) {
      continue_sent_ = true;
      set_phase(Phase::kWritingContinue, t_.config.client_idle_timeout);
      asio::async_write(
          client_, asio::buffer(kContinue.data(), kContinue.size()),
          pooled(t_.handler_pool, [self = shared_from_this()](const error_code& ec, std::size_t) {
            if (self->phase_ == Phase::kClosed) return;
            if (ec) return self->close();
            self->read_request_body();
          }));
      return;
    }
    read_request_body();
  }

  void read_request_body() {
    if (in_.space() == 0) return start_forwarding();  // too big to keep: stream it
    set_phase(Phase::kReadingRequestBody, t_.config.client_idle_timeout);
    read_client(&Session::on_request_body_read);
  }

  void on_request_body_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();
    in_.commit(n);
    error_code parse_ec;
    if (!feed_request_body(parse_ec)) return send_error(proxy::status_for(parse_ec), true);
    if (request_parser_->is_done()) return start_forwarding();
    read_request_body();
  }

  // Frames the body bytes after request_size_; false on a malformed or too large body.
  bool feed_request_body(error_code& ec) {
    const std::size_t used =
        request_parser_->feed(in_.data() + request_size_, in_.size() - request_size_, ec);
    request_size_ += used;
    return !ec || ec == proxy::http::error::need_more;
  }

  void start_forwarding() {
    // Everything received so far is still in in_; it stops being replayable only once a
    // streamed body has been partly discarded (on_request_sent).
    replayable_ = true;
    attempts_ = 0;
    last_failure_ = AttemptFailure::kNone;
    tried_.clear();
    if (!in_exchange_) {
      in_exchange_ = true;
      ++t_.active_requests;
    }
    attempt();
  }

  // Ends the retry-budget bookkeeping of the current request.
  void end_exchange() {
    if (retrying_) {
      retrying_ = false;
      --t_.active_retries;
    }
    if (in_exchange_) {
      in_exchange_ = false;
      --t_.active_requests;
    }
  }

  // ---- choosing a target and a connection ----

  // The first attempt, or a retry that decide_retry() allowed after `retried_from` failed (kept
  // alive by the caller).
  void attempt(const LocalTarget* retried_from = nullptr) {
    if (t_.stopping) return close();
    LocalGroup& group = t_.groups[group_];
    auto& candidates = t_.candidates;
    candidates.clear();
    for (const auto& target : group.targets) {
      const bool tried = std::find(tried_.begin(), tried_.end(), target.get()) != tried_.end();
      candidates.push_back(
          PickCandidate{.outstanding = target->outstanding,
                        .weight = target->weight,
                        .excluded = tried,
                        .share_percent = static_cast<std::uint8_t>(target->share_percent)});
    }
    const auto pick = group.picker->pick(candidates);
    if (!pick) return give_up(give_up_status(last_failure_));
    if (attempts_ > 0) {
      assert(retried_from != nullptr);
      bump(t_.counters.retries);
      bump(group.counters.retries);
      bump(retried_from->counters->slots[t_.index].retries);
    }
    ++attempts_;
    target_ = group.targets[*pick];
    tried_.push_back(target_.get());
    ++target_->outstanding;
    auto& slot = target_->counters->slots[t_.index];
    bump(slot.requests);
    bump<std::int64_t>(slot.outstanding);
    timed_out_ = false;
    response_started_ = false;

    up_ = target_->idle.take();
    const bool pooled_conn = up_ != nullptr;
    if (!pooled_conn) up_ = std::make_shared<UpstreamConn>(t_.io, t_.handler_pool);
    up_->attach(shared_from_this());
    if (pooled_conn) return send_request();
    set_phase(Phase::kConnecting, t_.config.connect_timeout);
    up_->socket.async_connect(
        target_->address,
        pooled(t_.handler_pool,
               [self = shared_from_this()](const error_code& ec) { self->on_connect(ec); }));
  }

  void on_connect(const error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      bump(t_.counters.target_connection_errors);
      bump(t_.groups[group_].counters.target_connection_errors);
      bump(target_->counters->slots[t_.index].target_connection_errors);
      return retry(AttemptFailure::kConnect);
    }
    error_code ignored;
    up_->socket.set_option(tcp::no_delay(true), ignored);
    send_request();
  }

  // The attempt failed before any response byte from the target: another one, or an answer,
  // as decide_retry() says. The budget is asked before the picker, so that a retry refused
  // does not move its rotation.
  void retry(AttemptFailure failure) {
    last_failure_ = failure;
    // A reference, no allocation: the target may leave its group meanwhile.
    const std::shared_ptr<LocalTarget> failed = target_;
    release_target(true);
    const RetryDecision decision = decide_retry(
        t_.retry_policy, RetryFacts{.failure = failure,
                                    .attempts = attempts_,
                                    .response_started = response_started_,
                                    .replayable = replayable_,
                                    .idempotent = idempotent_method(request_info_.method_name),
                                    .holds_budget_slot = retrying_,
                                    .active_requests = t_.active_requests,
                                    .active_retries = t_.active_retries});
    switch (decision.verdict) {
      case RetryVerdict::kRetry:
        if (decision.takes_budget_slot) {
          retrying_ = true;
          ++t_.active_retries;
        }
        return attempt(failed.get());
      case RetryVerdict::kResponseStarted:
        return close();
      case RetryVerdict::kNotReplayable:
        // A streamed body was partly sent: the rest of it may still be arriving.
        return send_error(decision.status, true);
      case RetryVerdict::kBudgetExhausted:
        bump(t_.counters.retry_budget_exhausted);
        break;
      case RetryVerdict::kNotIdempotent:
      case RetryVerdict::kAttemptsExhausted:
        break;
    }
    give_up(decision.status);
  }

  // No (other) target for the request: `status` (502 or 503) to the client.
  void give_up(int status) { send_error(status, !request_parser_->is_done()); }

  // Ends the current attempt: the target's in-flight count drops, the connection is closed
  // (a healthy connection is returned to the pool by finish_exchange() instead). `failed`
  // counts an error against the target.
  void release_target(bool failed) {
    if (up_) {
      close_quietly(up_->socket);
      up_->detach();
      up_.reset();
    }
    if (!target_) return;
    --target_->outstanding;
    auto& slot = target_->counters->slots[t_.index];
    bump<std::int64_t>(slot.outstanding, -1);
    if (failed) {
      bump(slot.errors);
      slot.count_failure(target_->failure_streak);
    }
    target_.reset();
  }

  // ---- request to the target ----

  void send_request() {
    set_phase(Phase::kSendingRequest, t_.config.response_timeout);
    sent_at_ = now_;
    const char* message = in_.data();
    out_.clear();
    proxy::append_kept_header(request_info_, message, out_);
    out_.emplace_back(forwarded_.data(), forwarded_.size());
    if (request_size_ > request_info_.header_size) {
      out_.emplace_back(message + request_info_.header_size,
                        request_size_ - request_info_.header_size);
    }
    asio::async_write(
        up_->socket, out_view(),
        pooled(t_.handler_pool, [self = shared_from_this()](const error_code& ec, std::size_t) {
          self->on_request_sent(ec);
        }));
  }

  void on_request_sent(const error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      if (timed_out_) return fail_timeout();
      return retry(AttemptFailure::kDeadConnection);
    }
    if (!request_parser_->is_done()) {
      // Streaming a body too big to keep: from here on the request cannot be replayed.
      replayable_ = false;
      in_.consume(request_size_);
      in_.compact();
      request_size_ = 0;
      set_phase(Phase::kReadingRequestBody, t_.config.client_idle_timeout);
      return read_client(&Session::on_streamed_body_read);
    }
    await_response();
  }

  void on_streamed_body_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();
    in_.commit(n);
    error_code parse_ec;
    if (!feed_request_body(parse_ec)) return send_error(proxy::status_for(parse_ec), true);
    if (request_size_ == 0 && in_.space() == 0) return send_error(400, true);
    set_phase(Phase::kSendingRequest, t_.config.response_timeout);
    sent_at_ = now_;
    asio::async_write(
        up_->socket, asio::buffer(in_.data(), request_size_),
        pooled(t_.handler_pool, [self = shared_from_this()](const error_code& ec, std::size_t) {
          self->on_request_sent(ec);
        }));
  }

  // ---- response ----

  void await_response() {
    set_phase(Phase::kAwaitingResponse, t_.config.response_timeout);
    up_->in.compact();
    response_parser_.emplace(response_info_, kResponseHeaderLimit);
    if (request_info_.method == verb::head) response_parser_->skip(true);
    if (up_->in.size() > 0) return parse_response_header();
    read_upstream(&Session::on_response_read);
  }

  // The connection keeps this session alive while a read is pending (it is attached).
  void read_upstream(void (Session::*handler)(const error_code&, std::size_t)) {
    upstream_handler_ = handler;
    up_->read();
  }

  void on_upstream_read(const error_code& ec, std::size_t n) override {
    ((*this).*upstream_handler_)(ec, n);
  }

  void on_response_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      if (timed_out_) return fail_timeout();
      // Part of a response header and then the end: a malformed response, not a dead
      // connection.
      if (!response_started_ && up_->in.size() > 0) return fail_bad_response();
      return retry(AttemptFailure::kDeadConnection);
    }
    up_->in.commit(n);
    parse_response_header();
  }

  void parse_response_header() {
    error_code ec;
    const std::size_t used = response_parser_->feed(up_->in.data(), up_->in.size(), ec);
    if (ec == proxy::http::error::need_more) {
      if (up_->in.space() == 0) return fail_bad_response();
      return read_upstream(&Session::on_response_read);
    }
    if (ec) return fail_bad_response();
    const int status = response_info_.status;
    if (status == 101) return fail_bad_response();  // Upgrade is never forwarded, so never agreed
    if (status / 100 == 1) {
      // Interim response (103 Early Hints, ...): pass it on and wait for the final one.
      response_started_ = true;
      set_phase(Phase::kWritingResponse, t_.config.client_idle_timeout);
      asio::async_write(client_, asio::buffer(up_->in.data(), used),
                        pooled(t_.handler_pool, [self = shared_from_this(), used](
                                                    const error_code& ec, std::size_t) {
                          if (self->phase_ == Phase::kClosed) return;
                          if (ec) return self->close();
                          self->up_->in.consume(used);
                          self->await_response();
                        }));
      return;
    }
    response_started_ = true;
    set_phase(Phase::kWritingResponse, t_.config.client_idle_timeout);
    count_response(status);
    // The request will not be replayed any more: its bytes can go.
    in_.consume(request_size_);
    request_size_ = 0;

    const char* message = up_->in.data();
    proxy::mark_unforwarded(response_info_, message, false);
    close_after_ =
        !client_keep_alive_ || response_parser_->need_eof() || t_.stopping || t_.draining;
    if (close_after_) {
      response_extra_ = "Connection: close\r\n\r\n";
    } else if (request_info_.version < 11) {
      response_extra_ = "Connection: keep-alive\r\n\r\n";
    } else {
      response_extra_ = "\r\n";
    }
    out_.clear();
    proxy::append_kept_header(response_info_, message, out_);
    out_.emplace_back(asio::buffer(response_extra_.data(), response_extra_.size()));
    if (used > response_info_.header_size) {
      out_.emplace_back(message + response_info_.header_size, used - response_info_.header_size);
    }
    write_response_now(used);
  }

  // A final response header from the target: counters, response time, failure streak.
  void count_response(int status) {
    const Duration elapsed = now_ - sent_at_;  // now_: set as the response header arrived
    t_.counters.responses.count(status);
    LocalGroup& group = t_.groups[group_];
    group.counters.responses.count(status);
    auto& slot = target_->counters->slots[t_.index];
    slot.responses.count(status);
    bump<std::uint64_t>(slot.response_time_ns, static_cast<std::uint64_t>(elapsed.count()));
    bump(slot.response_time_count);
    if (status >= 500) {
      slot.count_failure(target_->failure_streak);
    } else {
      slot.count_success();
    }
    std::lock_guard lock(t_.histogram_lock);
    group.response_time.record(elapsed);
  }

  void write_response(std::size_t used) {
    set_phase(Phase::kWritingResponse, t_.config.client_idle_timeout);
    write_response_now(used);
  }

  // write_response() once the phase is set.
  void write_response_now(std::size_t used) {
    asio::async_write(client_, out_view(),
                      pooled(t_.handler_pool,
                             [self = shared_from_this(), used](const error_code& ec, std::size_t) {
                               self->on_response_written(ec, used);
                             }));
  }

  void on_response_written(const error_code& ec, std::size_t used) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();
    up_->in.consume(used);
    if (response_parser_->is_done()) return finish_exchange();
    up_->in.compact();
    if (up_->in.space() == 0) {
      // A chunk header longer than the buffer: not something a target sends on purpose.
      release_target(true);
      return close();
    }
    set_phase(Phase::kReadingResponseBody, t_.config.response_timeout);
    read_upstream(&Session::on_response_body_read);
  }

  void on_response_body_read(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      if (ec == asio::error::eof && response_parser_->need_eof()) {
        error_code eof_ec;
        response_parser_->put_eof(eof_ec);
        if (!eof_ec) return finish_exchange();
      }
      // Cut off mid-body: the client already has part of the response, so it can only be told
      // by closing its connection.
      release_target(true);
      return close();
    }
    up_->in.commit(n);
    error_code parse_ec;
    const std::size_t used = response_parser_->feed(up_->in.data(), up_->in.size(), parse_ec);
    if (parse_ec && parse_ec != proxy::http::error::need_more) {
      release_target(true);
      return close();
    }
    out_.clear();
    out_.emplace_back(up_->in.data(), used);
    write_response(used);
  }

  void finish_exchange() {
    const bool reusable = response_parser_->keep_alive() && !response_parser_->need_eof() &&
                          up_->in.size() == 0 && !target_->removed && !t_.stopping &&
                          !target_->idle.full();
    if (reusable) {
      up_->detach();
      target_->idle.put(std::move(up_), now_);
    }
    release_target(false);
    end_exchange();
    if (close_after_) return close();
    do_read_request();
  }

  // ---- the balancer's own responses ----

  void fail_timeout() {
    release_target(true);
    if (response_started_) return close();
    send_error(504, !request_parser_->is_done());
  }

  void fail_bad_response() {
    release_target(true);
    if (response_started_) return close();
    send_error(502, !request_parser_->is_done());
  }

  // `close_after`: the request's framing is unknown or its body unread, so the connection
  // cannot carry another request.
  void send_error(int status, bool close_after) {
    t_.counters.count_error(status);
    if (group_ != kNoGroup && status >= 500) {
      auto& g = t_.groups[group_].counters;
      bump(status == 502 ? g.elb_502 : status == 503 ? g.elb_503 : g.elb_504);
    }
    write_own_response(error_response(status), close_after);
  }

  void send_fixed(const CannedResponse& response) {
    // The body of a request answered at once is not read: the connection cannot go on.
    write_own_response(response, !request_parser_->is_done());
  }

  void write_own_response(const CannedResponse& response, bool close_after) {
    release_target(false);
    end_exchange();
    t_.counters.count_own_response(response.status);
    close_after_ = close_after || !client_keep_alive_ || t_.stopping || t_.draining;
    if (!close_after_) {
      in_.consume(request_size_);
      request_size_ = 0;
    }
    const std::string& head = close_after_ ? response.head_close : response.head_keep_alive;
    out_.clear();
    out_.emplace_back(head.data(), head.size());
    if (request_info_.method != verb::head) {
      out_.emplace_back(response.body.data(), response.body.size());
    }
    set_phase(Phase::kWritingError, t_.config.client_idle_timeout);
    asio::async_write(
        client_, out_view(),
        pooled(t_.handler_pool, [self = shared_from_this()](const error_code& ec, std::size_t) {
          if (self->phase_ == Phase::kClosed) return;
          if (ec) return self->close();
          if (self->close_after_) return self->linger();
          self->do_read_request();
        }));
  }

  static constexpr std::size_t kNoGroup = std::numeric_limits<std::size_t>::max();

  IoThread& t_;
  tcp::socket client_;
  std::size_t index_ = 0;  // in t_.sessions
  std::string client_address_;
  ByteBuffer in_;
  HeaderInfo request_info_;
  std::optional<RequestParser> request_parser_;
  std::size_t request_size_ = 0;  // bytes of the current request at the front of in_
  bool served_ = false;           // a request header arrived on this connection
  bool client_keep_alive_ = true;
  bool continue_sent_ = false;
  bool replayable_ = false;
  std::string forwarded_;
  std::vector<HeaderLine> header_lines_;  // for http_header routing conditions
  std::size_t group_ = kNoGroup;          // the current request's target group

  std::shared_ptr<LocalTarget> target_;
  std::shared_ptr<UpstreamConn> up_;  // attached to this session while set
  void (Session::*upstream_handler_)(const error_code&, std::size_t) = nullptr;
  std::vector<const LocalTarget*> tried_;
  int attempts_ = 0;
  AttemptFailure last_failure_ = AttemptFailure::kNone;
  bool response_started_ = false;
  bool in_exchange_ = false;  // counted in t_.active_requests
  bool retrying_ = false;     // holds a retry budget slot (counted in t_.active_retries)
  SteadyClock::time_point sent_at_{};

  HeaderInfo response_info_;
  std::optional<ResponseParser> response_parser_;
  std::string response_extra_;
  bool close_after_ = false;

  std::vector<asio::const_buffer> out_;
  // What a write of out_ is given: Asio copies a buffer sequence into the operation, and a copy
  // of the vector would allocate.
  std::span<const asio::const_buffer> out_view() const { return out_; }
  bool client_reading_ = false;  // a read on client_ is pending
  Phase phase_ = Phase::kReadingRequest;
  SteadyClock::time_point now_{};  // when the phase began
  SteadyClock::time_point deadline_{};
  bool timed_out_ = false;
};

void start_session(IoThread& thread, tcp::socket socket) {
  std::make_shared<Session>(thread, std::move(socket))->start();
}

void check_session_deadline(Session& session, SteadyClock::time_point now) {
  session.check_deadline(now);
}

void close_session(Session& session) { session.close(); }

void close_session_if_idle(Session& session) { session.close_if_idle(); }

}  // namespace flotilla::proxy
