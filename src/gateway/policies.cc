#include "gateway/policies.h"

#include <fmt/format.h>

#include "gateway/admit.h"
#include "gateway/cap.h"
#include "gateway/passthrough.h"
#include "gateway/policy_params.h"
#include "gateway/programpool.h"
#include "gateway/thunderreact.h"

namespace agentsched {

namespace {

// A registered policy: its entry in the listings, and how it is built from its parameters.
struct Registered {
  PolicyInfo info;
  Result<std::unique_ptr<GatewayPolicy>> (*make)(const PolicyParams& given);
};

// A policy with a parameter table (Policy::Params::table): named and documented by the table,
// built from the parameters it accepts.
template <typename Policy>
Registered with_params(std::string summary) {
  using Params = typename Policy::Params;
  return {{std::string(Params::table.policy), std::move(summary), describe_params<Params>()},
          [](const PolicyParams& given) -> Result<std::unique_ptr<GatewayPolicy>> {
            auto p = apply_params<Params>(given);
            if (!p) return p.error();
            return std::unique_ptr<GatewayPolicy>(std::make_unique<Policy>(*p));
          }};
}

// Every gateway policy, in the order of the listings.
std::vector<Registered> registry() {
  std::vector<Registered> policies;
  policies.push_back(
      {{"passthrough", "forward every call at once; sticky least-loaded placement", {}},
       [](const PolicyParams&) -> Result<std::unique_ptr<GatewayPolicy>> {
         return std::unique_ptr<GatewayPolicy>(std::make_unique<PassthroughPolicy>());
       }});
  policies.push_back(with_params<ThunderReactPolicy>(
      "reference router (docs/reference-study.md section 6): pause whole programs at high KV "
      "usage, resume them at low usage; sticky placement by running + 4 x waiting"));
  policies.push_back(with_params<AdmitPolicy>(
      "admission control: new programs start only while the backend has KV room; admitted "
      "programs are never held; held ones admitted FIFO (optional bound max_wait_s)"));
  policies.push_back(with_params<CapPolicy>(
      "the admission bound: at most `cap` programs active per backend; new ones admitted first "
      "come, first served as active ones end; nothing else"));
  policies.push_back(with_params<ProgramPoolPolicy>(
      "the vLLM router's program scheduling (docs/peer-vllm-router.md): Active/Paused programs, "
      "no admission while the engine queues, Progress-TTL, yield, capacity repair, "
      "force-resume"));
  return policies;
}

Status reject_unknown(const PolicyParams& params, const PolicyInfo& info) {
  for (const auto& [key, value] : params) {
    bool known = false;
    for (const auto& p : info.params) known |= std::get<0>(p) == key;
    if (!known) {
      std::string names;
      for (const auto& p : info.params) names += (names.empty() ? "" : ", ") + std::get<0>(p);
      return make_error(fmt::format("policy '{}' has no parameter '{}' (parameters: {})", info.name,
                                    key, names.empty() ? "none" : names));
    }
  }
  return Ok{};
}

}  // namespace

std::vector<PolicyInfo> gateway_policy_infos() {
  std::vector<PolicyInfo> infos;
  for (auto& policy : registry()) infos.push_back(std::move(policy.info));
  return infos;
}

Result<std::unique_ptr<GatewayPolicy>> make_gateway_policy(std::string_view name,
                                                           const PolicyParams& params) {
  const auto policies = registry();
  for (const auto& policy : policies) {
    if (policy.info.name != name) continue;
    if (auto st = reject_unknown(params, policy.info); !st) return st.error();
    return policy.make(params);
  }
  std::string names;
  for (const auto& policy : policies) names += (names.empty() ? "" : ", ") + policy.info.name;
  return make_error(fmt::format("unknown gateway policy '{}' (known: {})", name, names));
}

}  // namespace agentsched
