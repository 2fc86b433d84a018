#pragma once
// Named numeric parameters of a gateway policy: one table per policy both parses
// `--param name=value` overrides and documents every parameter, so a parameter cannot be
// settable without being documented or the other way round. Also the one parser of
// `--param name=value` settings, for every command that takes them.
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

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

template <typename Params>
struct ParamField {
  std::string_view name;
  double Params::*field;
  std::string_view meaning;
};

// Applies `given` over the defaults; unknown names and non-finite values are errors.
template <typename Params, std::size_t N>
Result<Params> apply_params(std::string_view policy,
                            const std::array<ParamField<Params>, N>& fields,
                            const PolicyParams& given) {
  Params p;
  for (const auto& [name, value] : given) {
    const ParamField<Params>* field = nullptr;
    for (const auto& f : fields)
      if (f.name == name) field = &f;
    if (!field) {
      std::string names;
      for (const auto& f : fields) names += fmt::format("{}{}", names.empty() ? "" : ", ", f.name);
      return make_error(
          fmt::format("policy '{}' has no parameter '{}' (parameters: {})", policy, name, names));
    }
    if (!std::isfinite(value))
      return make_error(fmt::format("{} parameter '{}' must be a finite number", policy, name));
    p.*(field->field) = value;
  }
  return p;
}

template <typename Params, std::size_t N>
std::vector<std::tuple<std::string, double, std::string>> describe_params(
    const std::array<ParamField<Params>, N>& fields) {
  const Params defaults;
  std::vector<std::tuple<std::string, double, std::string>> out;
  for (const auto& f : fields)
    out.emplace_back(std::string(f.name), defaults.*(f.field), std::string(f.meaning));
  return out;
}

}  // namespace agentsched
