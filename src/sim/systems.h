#pragma once
// A system is a named pair (engine policy, gateway policy) -- docs/design.md.
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "engine/engine_policy.h"
#include "gateway/policies.h"

namespace agentsched {

struct SystemSpec {
  std::string name;
  std::string engine_policy;
  std::string gateway_policy;
  PolicyParams gateway_params;
  std::string description;
  // Named engine policy parameters (`--engine-param`), for engine policies that take them.
  EnginePolicyParams engine_params;
};

// baseline, continuum, thunderreact, ours -- those whose policies this build has.
std::vector<SystemSpec> builtin_systems();
Result<SystemSpec> find_system(std::string_view name);
// The systems `sim matrix` runs when none are named: the three reference systems.
std::vector<std::string> default_matrix_systems();

}  // namespace agentsched
