#pragma once
// The one registry of systems, for `sim` and live runs alike (docs/design.md, "Systems"): a
// system is an engine policy name, a gateway policy with its parameters, and a description.
// The simulator builds the engine model and the gateway from it; a live experiment starts
// engines with the engine policy and, when the gateway policy is not passthrough, the router.
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "gateway/policies.h"

namespace agentsched {

struct SystemSpec {
  std::string name;
  std::string engine_policy;
  std::string gateway_policy;
  PolicyParams gateway_params;
  std::string description;
  // Named engine policy parameters (`--engine-param`), for engine policies that take them
  // (the engine layer validates them: engine/engine_policy.h).
  NamedParams engine_params;
  // A live run puts the router in front of the engines unless the gateway passes through.
  bool needs_router() const { return gateway_policy != "passthrough"; }
};

// baseline, continuum, thunderreact, ours, cap, autellix, vllm-router -- those whose policies this
// build has.
std::vector<SystemSpec> builtin_systems();
Result<SystemSpec> find_system(std::string_view name);
// find_system with `params` over its gateway policy's defaults, checked against the policy
// now (an unknown name or a bad value fails before anything runs). Empty `params`: as is.
Result<SystemSpec> find_system(std::string_view name, const PolicyParams& params);
// The systems `sim matrix` runs when none are named: the three reference systems.
std::vector<std::string> default_matrix_systems();

}  // namespace agentsched
