#pragma once
// The CLI's side of serve's admin API (admin_api.h): where serve is, and one request to it.
//
// Where: --admin URL, else $FLOTILLA_ADMIN, else http://127.0.0.1:9901. The token: the first line
// of --token-file, else $FLOTILLA_TOKEN, else none.
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace flotilla {

inline constexpr const char* kDefaultAdminUrl = "http://127.0.0.1:9901";

struct AdminAddress {
  std::string url;  // as given, for messages
  std::string host;
  std::uint16_t port = 9901;
  std::string token;  // "" without one
};

// UserError for a URL that is not http://HOST:PORT or an unreadable token file.
AdminAddress admin_address(const std::string& admin_flag, const std::string& token_file);

// Serve cannot be reached, or refused the token: a clear message, exit code 1.
class AdminUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AdminReply {
  int status = 0;
  nlohmann::json body;  // null when the answer is not JSON
};

// One request (body: a JSON object, or null for none), with the token. Throws AdminUnavailable
// when serve does not answer (with a hint to start it) or answers 401; a 400 becomes a
// UserError with the API's message and field; other statuses are returned.
AdminReply admin_request(const AdminAddress& admin, const std::string& method,
                         const std::string& target, const nlohmann::json& body = nullptr);

}  // namespace flotilla
