#pragma once
// Named numeric parameters of a policy (gateway or engine): one table per policy both parses
// `name=value` overrides and documents every parameter with its default, so a parameter
// cannot be settable without being documented or the other way round.
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/result.h"

namespace agentsched {

// Parameters as name -> value, from the command line or a config.
using NamedParams = std::map<std::string, double, std::less<>>;

template <typename Params>
struct ParamField {
  std::string_view name;
  double Params::*field;
  std::string_view meaning;
};

// True when every entry of a table names a field: an array declared longer than its
// initialiser list ends in empty entries (a null member pointer), which each table's
// static_assert turns into a compile error.
template <typename Params, std::size_t N>
constexpr bool every_field_named(const std::array<ParamField<Params>, N>& fields) {
  for (const auto& f : fields)
    if (f.name.empty() || f.field == nullptr) return false;
  return true;
}

// Applies `given` over the defaults; unknown names and non-finite values are errors.
// `kind` names the layer in messages ("policy" for gateway policies, "engine policy").
template <typename Params, std::size_t N>
Result<Params> apply_named_params(std::string_view kind, std::string_view policy,
                                  const std::array<ParamField<Params>, N>& fields,
                                  const NamedParams& given) {
  Params p;
  for (const auto& [name, value] : given) {
    const ParamField<Params>* field = nullptr;
    for (const auto& f : fields)
      if (f.name == name) field = &f;
    if (!field) {
      std::string names;
      for (const auto& f : fields) names += fmt::format("{}{}", names.empty() ? "" : ", ", f.name);
      return make_error(
          fmt::format("{} '{}' has no parameter '{}' (parameters: {})", kind, policy, name, names));
    }
    if (!std::isfinite(value))
      return make_error(fmt::format("{} parameter '{}' must be a finite number", policy, name));
    p.*(field->field) = value;
  }
  return p;
}

// (name, default, meaning) of every parameter.
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
