#pragma once
// Named numeric parameters of a policy (gateway or engine): one table per policy both parses
// `name=value` overrides and documents every parameter with its default, so a parameter
// cannot be settable without being documented or the other way round.
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/result.h"

namespace agentsched {

// Parameters as name -> value, from the command line or a config.
using NamedParams = std::map<std::string, double, std::less<>>;

// (name, default, meaning) of one parameter.
using ParamDescription = std::tuple<std::string, double, std::string>;

// One entry of a policy's registry: its name, a line on what it does, its parameters.
struct PolicyInfo {
  std::string name;
  std::string summary;
  // A policy without named parameters takes none.
  std::vector<ParamDescription> params;
};

template <typename Params>
struct ParamField {
  std::string_view name;
  double Params::*field;
  std::string_view meaning;
};

// The parameter table of a policy, `Params::table`: the policy's name (for messages), one
// entry per field, and the checks a value must pass beyond being finite.
template <typename Params>
struct ParamTable {
  // Made at compile time, where an entry that names no field (an empty `{}`) is an error.
  template <std::size_t N>
  consteval ParamTable(std::string_view policy_name, const ParamField<Params> (&entries)[N],
                       Status (*checks)(const Params&))
      : policy(policy_name), fields(entries), check(checks) {
    for (const auto& f : entries)
      if (f.name.empty() || f.field == nullptr) throw "a parameter table entry names no field";
  }

  std::string_view policy;
  std::span<const ParamField<Params>> fields;
  // Ranges and relations between fields; the error names the parameter. nullptr: none.
  Status (*check)(const Params&);
};

// Applies `given` over the defaults of Params; unknown names, non-finite values and values
// its table's check refuses are errors. `kind` names the layer in messages ("policy" for
// gateway policies, "engine policy").
template <typename Params>
Result<Params> parse_params(std::string_view kind, const NamedParams& given) {
  const ParamTable<Params>& table = Params::table;
  Params p;
  for (const auto& [name, value] : given) {
    const ParamField<Params>* field = nullptr;
    for (const auto& f : table.fields)
      if (f.name == name) field = &f;
    if (!field) {
      std::string names;
      for (const auto& f : table.fields)
        names += fmt::format("{}{}", names.empty() ? "" : ", ", f.name);
      return make_error(fmt::format("{} '{}' has no parameter '{}' (parameters: {})", kind,
                                    table.policy, name, names));
    }
    if (!std::isfinite(value))
      return make_error(
          fmt::format("{} parameter '{}' must be a finite number", table.policy, name));
    p.*(field->field) = value;
  }
  if (table.check)
    if (auto st = table.check(p); !st) return st.error();
  return p;
}

// (name, default, meaning) of every parameter of Params.
template <typename Params>
std::vector<ParamDescription> describe_params() {
  const Params defaults;
  std::vector<ParamDescription> out;
  for (const auto& f : Params::table.fields)
    out.emplace_back(std::string(f.name), defaults.*(f.field), std::string(f.meaning));
  return out;
}

}  // namespace agentsched
