#include "router/responses.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cctype>
#include <iterator>

namespace agentsched::serve {

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
  http::format_response(out, "agentsched-router", status, content_type, body, extra_headers,
                        keep_alive);
}

}  // namespace agentsched::serve
