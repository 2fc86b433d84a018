#include "gateway/systems.h"

#include <fmt/format.h>

namespace agentsched {

namespace {
bool has_gateway_policy(std::string_view name) {
  for (const auto& info : gateway_policy_infos())
    if (info.name == name) return true;
  return false;
}
}  // namespace

std::vector<SystemSpec> builtin_systems() {
  std::vector<SystemSpec> all = {
      {"baseline", "fcfs", "passthrough", {}, "stock vLLM V1: FCFS, prefix caching, recompute", {}},
      {"continuum", "continuum", "passthrough", {}, "vLLM fork: program FCFS + 2 s KV pins", {}},
      {"thunderreact", "fcfs", "thunderreact", {}, "pause/resume router in front of vLLM", {}},
      {"ours", "fcfs", "admit", {}, "agentsched admission-control gateway in front of vLLM", {}},
      {"cap", "fcfs", "cap", {}, "at most `cap` programs active per backend, FIFO admission", {}},
      {"autellix", "plas", "passthrough", {}, "Autellix PLAS: least attained service first", {}},
      {"vllm-router", "fcfs", "programpool", {}, "vLLM router program pool in front of vLLM", {}},
  };
  std::vector<SystemSpec> available;
  for (auto& s : all)
    if (has_gateway_policy(s.gateway_policy)) available.push_back(std::move(s));
  return available;
}

Result<SystemSpec> find_system(std::string_view name) {
  std::string known;
  for (const auto& s : builtin_systems()) {
    if (s.name == name) return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  return make_error(fmt::format("unknown system '{}' (known: {})", name, known));
}

Result<SystemSpec> find_system(std::string_view name, const PolicyParams& params) {
  auto s = find_system(name);
  if (!s || params.empty()) return s;
  auto policy = make_gateway_policy(s->gateway_policy, params);
  if (!policy) return policy.error();
  s->gateway_params = params;
  return s;
}

std::vector<std::string> default_matrix_systems() {
  std::vector<std::string> names;
  for (const auto& s : builtin_systems())
    if (s.name != "ours" && s.name != "cap" && s.name != "autellix" && s.name != "vllm-router")
      names.push_back(s.name);
  return names;
}

}  // namespace agentsched
