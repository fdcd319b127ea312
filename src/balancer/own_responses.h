#pragma once
// Internal to the balancer's .cpp files: the answers the balancer gives itself, rendered once
// (ALB-like bodies that never name a target), and the reason phrases it writes.
#include <string>
#include <string_view>

namespace flotilla::proxy {

// A complete response: the header for a connection that stays open and for one that closes
// after it, and the body.
struct CannedResponse {
  int status = 0;
  std::string head_keep_alive;
  std::string head_close;
  std::string body;
};

// A fixed response (a routing rule's action) with the given content type and body.
CannedResponse make_response(int status, std::string_view reason, std::string_view content_type,
                             std::string body);

// The error page for 400, 408, 413, 431, 502, 503 or 504; any other status gets 502's.
const CannedResponse& error_response(int status);

// The phrase the balancer writes after `status`, or a generic one by class.
std::string_view reason_phrase(int status);

inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace flotilla::proxy
