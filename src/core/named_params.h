#pragma once
// Named numeric parameters of a policy (gateway or engine): one table per policy both parses
// `name=value` overrides and documents every parameter with its default, so a parameter
// cannot be settable without being documented or the other way round.
#include <fmt/format.h>

#include <cmath>
#include <limits>
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

// The values one parameter accepts: from `min` (itself excluded when `min_excluded`) to
// `max`, whole numbers only when `whole`. Every parameter is finite besides.
struct ParamRange {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_excluded = false;
  bool whole = false;

  // [min, inf)
  static constexpr ParamRange at_least(double min) { return {.min = min}; }
  // (min, inf)
  static constexpr ParamRange above(double min) { return {.min = min, .min_excluded = true}; }
  // [min, max]
  static constexpr ParamRange within(double min, double max) { return {.min = min, .max = max}; }
  // The whole numbers in [min, max].
  static constexpr ParamRange whole_numbers(double min,
                                            double max = std::numeric_limits<double>::infinity()) {
    return {.min = min, .max = max, .whole = true};
  }
  // This range with `max` as its upper bound.
  constexpr ParamRange at_most(double upper) const {
    ParamRange r = *this;
    r.max = upper;
    return r;
  }

  bool allows(double v) const {
    return (min_excluded ? v > min : v >= min) && v <= max && (!whole || v == std::floor(v));
  }

  // What the range allows, to follow "must be": "0 or 1", "a whole number from 1 to 32",
  // "in (0, 1]", "> 0", ">= 0".
  std::string text() const {
    const bool bounded_below = min > -std::numeric_limits<double>::infinity();
    const bool bounded_above = max < std::numeric_limits<double>::infinity();
    if (whole && bounded_below && bounded_above && !min_excluded && max - min <= 2 &&
        min == std::floor(min)) {
      std::string values = fmt::format("{}", min);
      for (double v = min + 1; v <= max; ++v)
        values += fmt::format("{}{}", v == max ? " or " : ", ", v);
      return values;
    }
    if (whole) {
      if (bounded_below && bounded_above)
        return fmt::format("a whole number from {} to {}", min, max);
      if (bounded_below) return fmt::format("a whole number >= {}", min);
      if (bounded_above) return fmt::format("a whole number <= {}", max);
      return "a whole number";
    }
    if (bounded_below && bounded_above)
      return fmt::format("in {}{}, {}]", min_excluded ? "(" : "[", min, max);
    if (bounded_below) return fmt::format("{} {}", min_excluded ? ">" : ">=", min);
    if (bounded_above) return fmt::format("<= {}", max);
    return "a finite number";
  }
};

// One parameter: its name, the field it sets, the values it accepts and what it means.
template <typename Params>
struct ParamField {
  std::string_view name;
  double Params::*field;
  ParamRange range;
  std::string_view meaning;
};

// The parameter table of a policy, `Params::table`: the policy's name (for messages), one
// entry per field, and the relations between fields a set of values must respect.
template <typename Params>
struct ParamTable {
  // Made at compile time, where an entry that names no field (an empty `{}`) or has an empty
  // range is an error.
  template <std::size_t N>
  consteval ParamTable(std::string_view policy_name, const ParamField<Params> (&entries)[N],
                       Status (*relations)(const Params&) = nullptr)
      : policy(policy_name), fields(entries), check(relations) {
    for (const auto& f : entries) {
      if (f.name.empty() || f.field == nullptr) throw "a parameter table entry names no field";
      if (!(f.range.min <= f.range.max)) throw "a parameter table entry has an empty range";
    }
  }

  std::string_view policy;
  std::span<const ParamField<Params>> fields;
  // Relations between fields (each field's own range is checked before); the error names the
  // parameter. nullptr: none.
  Status (*check)(const Params&);
};

// Applies `given` over the defaults of Params; unknown names, non-finite values, values out
// of their field's range and values its table's check refuses are errors. `kind` names the
// layer in messages ("policy" for gateway policies, "engine policy").
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
  for (const auto& f : table.fields)
    if (const double value = p.*(f.field); !f.range.allows(value))
      return make_error(fmt::format("{} parameter '{}' = {} is invalid: must be {}", table.policy,
                                    f.name, value, f.range.text()));
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
