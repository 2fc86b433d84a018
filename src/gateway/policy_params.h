#pragma once
// Named numeric parameters of a gateway policy: one table per policy both parses
// `--param name=value` overrides and documents every parameter, so a parameter cannot be
// settable without being documented or the other way round (core/named_params.h). Also the
// one parser of `--param name=value` settings, for every command that takes them.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/named_params.h"
#include "core/result.h"
#include "gateway/policies.h"

namespace agentsched {

// One `name=value` setting: a non-empty name and a finite number ("'x': expected name=value",
// "'x': value must be a number").
Result<std::pair<std::string, double>> parse_param_setting(std::string_view text);
// Settings as given on the command line (later ones win); errors start with `option`, e.g.
// "--param 'budget': expected name=value".
Result<PolicyParams> parse_param_settings(const std::vector<std::string>& items,
                                          std::string_view option = "--param");

// A gateway policy's parameters: `given` over the defaults of Params, by its table
// (Params::table); unknown names and values out of range are errors.
template <typename Params>
Result<Params> apply_params(const PolicyParams& given) {
  return parse_params<Params>("policy", given);
}

// A gateway policy set by a parameter struct with a table: it keeps the parameters (p_) and
// is named by the table.
template <typename P>
class PolicyWithParams : public GatewayPolicy {
 public:
  using Params = P;
  explicit PolicyWithParams(Params params = {}) : p_(params) {}

  std::string_view name() const override { return Params::table.policy; }
  const Params& params() const { return p_; }

 protected:
  Params p_;
};

}  // namespace agentsched
