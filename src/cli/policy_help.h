#pragma once
// The gateway policies' parameters with their defaults, for the --help of every command
// that takes --param (sim run, sim matrix, router, experiment run). Read from the policies'
// own tables (gateway/policy_params.h), so the help cannot go stale.
#include <fmt/format.h>

#include <string>

#include "engine/engine_policy.h"
#include "gateway/policies.h"

namespace agentsched::cli {

inline std::string policy_parameters_help() {
  std::string out = "Gateway policy parameters (--param NAME=VALUE), with their defaults:";
  for (const auto& info : gateway_policy_infos()) {
    out += fmt::format("\n  {}:", info.name);
    if (info.params.empty()) out += " none";
    for (const auto& [name, value, meaning] : info.params)
      out += fmt::format("\n    {}={:g}  {}", name, value, meaning);
  }
  return out;
}

// The same for engine policies (--engine-param, sim and engine).
inline std::string engine_parameters_help() {
  std::string out = "Engine policy parameters (--engine-param NAME=VALUE), with their defaults:";
  for (const auto& info : engine_policy_infos()) {
    out += fmt::format("\n  {}:", info.name);
    if (info.params.empty()) out += " none";
    for (const auto& [name, value, meaning] : info.params)
      out += fmt::format("\n    {}={:g}  {}", name, value, meaning);
  }
  return out;
}

}  // namespace agentsched::cli
