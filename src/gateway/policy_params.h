#pragma once
// Named numeric parameters of a gateway policy: one table per policy both parses
// `--param name=value` overrides and documents every parameter, so a parameter cannot be
// settable without being documented or the other way round (core/named_params.h).
#include "core/named_params.h"
#include "gateway/policies.h"

namespace agentsched {

// Applies `given` over the defaults; unknown names and non-finite values are errors.
template <typename Params, std::size_t N>
Result<Params> apply_params(std::string_view policy,
                            const std::array<ParamField<Params>, N>& fields,
                            const PolicyParams& given) {
  return apply_named_params("policy", policy, fields, given);
}

}  // namespace agentsched
