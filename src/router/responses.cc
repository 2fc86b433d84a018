#include "router/responses.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cctype>
#include <iterator>

namespace agentsched::serve {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

std::string error_body(int status, std::string_view message) {
  std::string_view type = status >= 500 ? "server_error" : "invalid_request_error";
  if (status == 401) type = "authentication_error";
  if (status == 503) type = "service_unavailable";
  if (status == 504) type = "timeout";
  return fmt::format(R"({{"error":{{"message":{},"type":"{}","param":null,"code":{}}}}})",
                     boost::json::serialize(boost::json::string(message)), type, status);
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void format_response(std::string& out, int status, std::string_view content_type,
                     std::string_view body, std::string_view extra_headers, bool keep_alive) {
  out.clear();
  fmt::format_to(std::back_inserter(out),
                 "HTTP/1.1 {} {}\r\nserver: agentsched-router\r\ncontent-type: {}\r\n"
                 "content-length: {}\r\n{}{}\r\n",
                 status, reason_phrase(status), content_type, body.size(), extra_headers,
                 keep_alive ? "" : "connection: close\r\n");
  out += body;
}

}  // namespace agentsched::serve
