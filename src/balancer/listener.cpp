#include "balancer/listener.h"

#include <boost/asio/post.hpp>

#include "balancer/proxy_session.h"
#include "core/errors.h"

namespace flotilla::proxy {

Listener::Listener(const std::vector<std::unique_ptr<IoThread>>& threads, const std::string& host,
                   std::uint16_t port)
    : threads_(threads), acceptor_(threads[0]->io), backoff_(threads[0]->io) {
  const std::string where = host + ":" + std::to_string(port);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw UserError("balancer: cannot listen on " + where + ": not an IP address");
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (ec == asio::error::address_in_use) {
    throw UserError("balancer: " + where + " is already in use");
  }
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw UserError("balancer: cannot listen on " + where + ": " + ec.message());
}

std::uint16_t Listener::port() const { return acceptor_.local_endpoint().port(); }

void Listener::start() { do_accept(); }

void Listener::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

void Listener::do_accept() {
  IoThread& next = *threads_[next_thread_];
  next_thread_ = (next_thread_ + 1) % threads_.size();
  acceptor_.async_accept(next.io,
                         [this, &next](const boost::system::error_code& ec, tcp::socket socket) {
                           if (threads_[0]->stopping) return;
                           // A connection accepted as the listener closed (stop_accepting()) is
                           // served: its client saw the connect succeed.
                           if (!ec) {
                             asio::post(next.io, [&next, s = std::move(socket)]() mutable {
                               if (next.stopping) return;
                               start_session(next, std::move(s));
                             });
                           }
                           if (!acceptor_.is_open()) return;
                           const bool paused = backoff_.next(ec, [this] {
                             if (acceptor_.is_open() && !threads_[0]->stopping) do_accept();
                           });
                           if (paused) bump(threads_[0]->counters.accept_pauses);
                         });
}

}  // namespace flotilla::proxy
