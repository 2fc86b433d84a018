#include "gateway/policies.h"

#include <fmt/format.h>

#include "gateway/admit.h"
#include "gateway/cap.h"
#include "gateway/passthrough.h"
#include "gateway/thunderreact.h"

namespace agentsched {

namespace {

Status reject_unknown(const PolicyParams& params, const GatewayPolicyInfo& info) {
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

std::vector<GatewayPolicyInfo> gateway_policy_infos() {
  std::vector<GatewayPolicyInfo> infos;
  infos.push_back({"passthrough", "forward every call at once; sticky least-loaded placement", {}});
  infos.push_back({"thunderreact",
                   "reference router (docs/reference-study.md section 6): pause whole programs at "
                   "high KV usage, resume them at low usage; sticky placement by running + 4 x "
                   "waiting",
                   ThunderReactParams::describe()});
  infos.push_back({"admit",
                   "admission control: new programs start only while the backend has KV room; "
                   "admitted programs are never held; held ones admitted FIFO (optional bound "
                   "max_wait_s)",
                   AdmitParams::describe()});
  infos.push_back({"cap",
                   "the admission bound: at most `cap` programs active per backend; new ones "
                   "admitted first come, first served as active ones end; nothing else",
                   CapParams::describe()});
  return infos;
}

Result<std::unique_ptr<GatewayPolicy>> make_gateway_policy(std::string_view name,
                                                           const PolicyParams& params) {
  for (const auto& info : gateway_policy_infos()) {
    if (info.name != name) continue;
    if (auto st = reject_unknown(params, info); !st) return st.error();
    if (name == "passthrough")
      return std::unique_ptr<GatewayPolicy>(std::make_unique<PassthroughPolicy>());
    if (name == "admit") {
      auto p = AdmitParams::from(params);
      if (!p) return p.error();
      return std::unique_ptr<GatewayPolicy>(std::make_unique<AdmitPolicy>(*p));
    }
    if (name == "cap") {
      auto p = CapParams::from(params);
      if (!p) return p.error();
      return std::unique_ptr<GatewayPolicy>(std::make_unique<CapPolicy>(*p));
    }
    if (name == "thunderreact") {
      auto p = ThunderReactParams::from(params);
      if (!p) return p.error();
      return std::unique_ptr<GatewayPolicy>(std::make_unique<ThunderReactPolicy>(*p));
    }
  }
  std::string names;
  for (const auto& info : gateway_policy_infos()) names += (names.empty() ? "" : ", ") + info.name;
  return make_error(fmt::format("unknown gateway policy '{}' (known: {})", name, names));
}

}  // namespace agentsched
