#include "serve/admin_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>

#include "core/errors.h"
#include "orchestrator/load_command.h"
#include "serve/serve_command.h"

namespace flotilla {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(10);

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

AdminAddress admin_address(const std::string& admin_flag, const std::string& token_file) {
  AdminAddress a;
  const bool from_flag = !admin_flag.empty();
  a.url = from_flag ? admin_flag : env_or("FLOTILLA_ADMIN", kDefaultAdminUrl);
  std::string why;
  const auto url = parse_http_url(a.url, why);
  const std::string source = from_flag ? "--admin " : "FLOTILLA_ADMIN=";
  if (!url) throw UserError(source + a.url + ": expected http://HOST:PORT (" + why + ")");
  if (url->target != "/")
    throw UserError(source + a.url + ": expected http://HOST:PORT, without a path");
  a.host = url->host;
  a.port = url->port;
  a.token = token_file.empty() ? env_or("FLOTILLA_TOKEN", "")
                               : read_token_file(token_file, "--token-file");
  return a;
}

AdminReply admin_request(const AdminAddress& admin, const std::string& method,
                         const std::string& target, const nlohmann::json& body) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::response<http::string_body> response;
  beast::error_code ec;
  try {
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(admin.host, std::to_string(admin.port));
    stream.expires_after(kRequestTimeout);
    stream.connect(endpoints);
    http::request<http::string_body> request(http::string_to_verb(method), target, 11);
    request.set(http::field::host, admin.host + ":" + std::to_string(admin.port));
    request.set(http::field::user_agent, "flotilla");
    if (!admin.token.empty()) request.set(http::field::authorization, "Bearer " + admin.token);
    if (!body.is_null()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body.dump();
    }
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::read(stream, buffer, response);
  } catch (const beast::system_error& e) {
    throw AdminUnavailable("cannot reach serve's admin API at " + admin.url + " (" +
                           e.code().message() +
                           "); is `flotilla serve` running? (--admin URL or FLOTILLA_ADMIN)");
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  AdminReply reply;
  reply.status = static_cast<int>(response.result_int());
  reply.body = nlohmann::json::parse(response.body(), nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  const std::string message =
      reply.body.is_object() ? reply.body.value("error", response.body()) : response.body();
  if (reply.status == 401)
    throw AdminUnavailable("serve's admin API at " + admin.url + " refused the request (401: " +
                           message + "); give the token with FLOTILLA_TOKEN or --token-file");
  if (reply.status == 400) {
    const std::string field = reply.body.is_object() ? reply.body.value("field", "") : "";
    throw UserError(method + " " + target + ": " + (field.empty() ? "" : field + ": ") + message);
  }
  return reply;
}

}  // namespace flotilla
