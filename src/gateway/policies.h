#pragma once
// The registry of gateway policies, built in exactly one place (policies.cc).
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/named_params.h"
#include "core/result.h"
#include "gateway/gateway.h"

namespace agentsched {

// Policy parameters as name -> value, from the command line or a config; every policy
// documents its names and defaults, and rejects names it does not know.
using PolicyParams = NamedParams;

Result<std::unique_ptr<GatewayPolicy>> make_gateway_policy(std::string_view name,
                                                           const PolicyParams& params = {});
std::vector<PolicyInfo> gateway_policy_infos();

}  // namespace agentsched
