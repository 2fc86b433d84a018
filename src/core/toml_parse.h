#pragma once
// TOML text parsed with toml++, a syntax error reported as "<origin>:<line>:<column>: <what>":
// one place for the readers of TOML to name a syntax error alike.
#include <toml++/toml.h>
#include <string_view>

#include "core/result.h"

namespace agentsched {

Result<toml::table> parse_toml(std::string_view text, std::string_view origin);

}  // namespace agentsched
