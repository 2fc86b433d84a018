#pragma once
// The gateway policies' parameters with their defaults, for the --help of every command
// that takes --param (sim run, sim matrix, router, experiment run), and the engine policies'
// for --engine-param (sim and engine). Read from the policies' own tables
// (gateway/policy_params.h, engine/engine_policy.h), so the help cannot go stale.
#include <fmt/format.h>

#include <string>

#include "engine/engine_policy.h"
#include "gateway/policies.h"

namespace agentsched::cli {

// `heading`, then each policy of `infos` (GatewayPolicyInfo or EnginePolicyInfo) with its
// parameters, one a line.
template <typename Infos>
std::string parameters_help(std::string heading, const Infos& infos) {
  for (const auto& info : infos) {
    heading += fmt::format("\n  {}:", info.name);
    if (info.params.empty()) heading += " none";
    for (const auto& [name, value, meaning] : info.params)
      heading += fmt::format("\n    {}={:g}  {}", name, value, meaning);
  }
  return heading;
}

inline std::string policy_parameters_help() {
  return parameters_help("Gateway policy parameters (--param NAME=VALUE), with their defaults:",
                         gateway_policy_infos());
}

inline std::string engine_parameters_help() {
  return parameters_help(
      "Engine policy parameters (--engine-param NAME=VALUE), with their defaults:",
      engine_policy_infos());
}

}  // namespace agentsched::cli
