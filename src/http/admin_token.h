#pragma once
// The router's admin token: a bearer token that state-changing management endpoints
// (POST /programs/release) require when one is configured, and that `agentsched drive`
// sends on its release calls. Read-only endpoints and the proxied OpenAI traffic never need
// it (docs/router.md, "Admin token").
//
// A token given on the command line is visible to every local user in `ps`, so it can also
// come from a file or the environment. Precedence: --admin-token or --admin-token-file (at
// most one of them), else AGENTSCHED_ADMIN_TOKEN, else none.
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace agentsched::serve {

inline constexpr const char* kAdminTokenEnv = "AGENTSCHED_ADMIN_TOKEN";

// A token must be non-empty and printable ASCII without spaces (it travels in an HTTP
// header). The error names `origin` (e.g. "--admin-token-file /path") and never the token.
Status validate_admin_token(std::string_view token, std::string_view origin);

// Resolves the token by the precedence above: `flag` (--admin-token), `file`
// (--admin-token-file: its first line, surrounding blanks trimmed), then the environment
// variable `env_value` (pass std::getenv(kAdminTokenEnv)). nullopt when none is given; an
// error when both options are given, the file cannot be read, or the token is invalid
// (an empty one included: a variable set to "" is a mistake, not "no token").
Result<std::optional<std::string>> resolve_admin_token(const std::optional<std::string>& flag,
                                                       const std::optional<std::string>& file,
                                                       const char* env_value);

// True when the value of an Authorization header is `Bearer <token>` (scheme
// case-insensitive, blanks around the credentials ignored). The comparison of the
// credentials takes the same time whatever they have in common with the token.
bool bearer_matches(std::optional<std::string_view> authorization, std::string_view token);

// Byte-wise equality in time that depends on the lengths only.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace agentsched::serve
