#pragma once
// The router's own answers: status reasons, OpenAI-shaped error bodies, percent-decoding of
// program ids in paths.
#include <string>
#include <string_view>

#include "http/server_core.h"

namespace agentsched::serve {

using http::reason_phrase;
// OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
std::string error_body(int status, std::string_view message);
// %XX sequences decoded; anything else (a lone '%', '+') kept as is.
std::string url_decode(std::string_view s);
// A complete response with the router's server name (http::format_response).
void format_response(std::string& out, int status, std::string_view content_type,
                     std::string_view body, std::string_view extra_headers, bool keep_alive);

}  // namespace agentsched::serve
