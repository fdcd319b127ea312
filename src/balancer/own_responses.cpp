#include "balancer/own_responses.h"

namespace flotilla::proxy {

namespace {

CannedResponse make_error(int status) {
  const std::string_view reason = reason_phrase(status);
  const std::string title = std::to_string(status) + " " + std::string(reason);
  return make_response(status, reason, "text/html",
                       "<html>\r\n<head><title>" + title +
                           "</title></head>\r\n<body>\r\n<center><h1>" + title +
                           "</h1></center>\r\n</body>\r\n</html>\r\n");
}

}  // namespace

CannedResponse make_response(int status, std::string_view reason, std::string_view content_type,
                             std::string body) {
  CannedResponse r;
  r.status = status;
  r.body = std::move(body);
  const std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                           "\r\nServer: flotilla\r\nContent-Type: " + std::string(content_type) +
                           "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  r.head_keep_alive = head + "Connection: keep-alive\r\n\r\n";
  r.head_close = head + "Connection: close\r\n\r\n";
  return r;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Time-out";
    case 410:
      return "Gone";
    case 413:
      return "Request Entity Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Temporarily Unavailable";
    case 504:
      return "Gateway Time-out";
    default:
      return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

const CannedResponse& error_response(int status) {
  static const CannedResponse k400 = make_error(400);
  static const CannedResponse k408 = make_error(408);
  static const CannedResponse k413 = make_error(413);
  static const CannedResponse k431 = make_error(431);
  static const CannedResponse k502 = make_error(502);
  static const CannedResponse k503 = make_error(503);
  static const CannedResponse k504 = make_error(504);
  switch (status) {
    case 400:
      return k400;
    case 408:
      return k408;
    case 413:
      return k413;
    case 431:
      return k431;
    case 503:
      return k503;
    case 504:
      return k504;
    default:
      return k502;
  }
}

}  // namespace flotilla::proxy
