#pragma once
// Where the live tools send requests: an OpenAI-compatible endpoint given as a URL, and the
// reference study's model config (which remote models serve the user simulator and the
// experts).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace agentsched::serve {

// http://HOST[:PORT][/PATH]. Plain HTTP only (the servers are on the local network).
struct HttpEndpoint {
  std::string host;
  std::uint16_t port = 80;
  std::string base_path;  // without a trailing '/'; "" or e.g. "/v1"

  // Target of POST chat completions: base + "/chat/completions" when the base ends in
  // "/v1", else base + "/v1/chat/completions".
  std::string chat_completions_target() const;
  // GET /v1/models, likewise.
  std::string models_target() const;
  // Server-level paths (/health, /metrics, /programs/release) live at the root.
  std::string url() const;
};

// Accepts "http://h:p", "http://h:p/v1", "h:p" (http assumed) and IPv6 "[::1]:p".
Result<HttpEndpoint> parse_endpoint_url(std::string_view url);

// The reference's model config (JSON):
//   {"<model>": [{"ip_addr": "10.0.0.5", "port": 8001}, ...], ...,
//    "oss_expert_mapping": {"<name used by the agent>": "<model key above>", ...}}
// `port` may be a number or a string; `ip_addr` may carry an http:// prefix. Keys whose value
// is not a list of endpoints (other than oss_expert_mapping) are rejected with their name.
struct ModelConfig {
  std::map<std::string, std::vector<HttpEndpoint>> models;
  std::map<std::string, std::string> oss_expert_mapping;

  // The served model that answers calls to `name` (itself when the config lists it, else its
  // oss_expert_mapping target when that is listed); "" when neither: such calls stay
  // simulated waits.
  std::string served_model(std::string_view name) const;
};

Result<ModelConfig> parse_model_config(std::string_view json_text, std::string_view origin);
Result<ModelConfig> load_model_config(const std::filesystem::path& path);

}  // namespace agentsched::serve
