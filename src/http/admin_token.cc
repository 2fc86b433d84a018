#include "http/admin_token.h"

#include <fmt/format.h>

#include <fstream>

namespace agentsched::serve {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Status validate_admin_token(std::string_view token, std::string_view origin) {
  if (token.empty())
    return make_error(
        fmt::format("{}: the admin token is empty (give a non-empty token, or no "
                    "token at all to leave the management endpoints open)",
                    origin));
  for (char c : token)
    if (c < 0x21 || c > 0x7e)
      return make_error(fmt::format(
          "{}: the admin token must be printable ASCII without spaces or control characters",
          origin));
  return Ok{};
}

Result<std::optional<std::string>> resolve_admin_token(const std::optional<std::string>& flag,
                                                       const std::optional<std::string>& file,
                                                       const char* env_value) {
  if (flag && file) return make_error("give --admin-token or --admin-token-file, not both");
  if (flag) {
    if (auto st = validate_admin_token(*flag, "--admin-token"); !st) return st.error();
    return std::optional<std::string>(*flag);
  }
  if (file) {
    const std::string origin = fmt::format("--admin-token-file {}", *file);
    std::ifstream in(*file);
    if (!in) return make_error(fmt::format("{}: cannot read the file", origin));
    std::string line;
    std::getline(in, line);
    if (in.bad()) return make_error(fmt::format("{}: cannot read the file", origin));
    const std::string token(trim(line));
    if (auto st = validate_admin_token(token, origin); !st) return st.error();
    return std::optional<std::string>(token);
  }
  if (env_value) {
    const std::string origin = fmt::format("environment variable {}", kAdminTokenEnv);
    if (auto st = validate_admin_token(env_value, origin); !st) return st.error();
    return std::optional<std::string>(env_value);
  }
  return std::optional<std::string>();
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of `a` is looked at whatever the others hold; only the lengths (not secret in
  // practice: the caller's own and the token's fixed one) shape the timing.
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  if (b.empty()) return a.empty();
  for (std::size_t i = 0; i < a.size(); ++i)
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i % b.size()]);
  return diff == 0;
}

bool bearer_matches(std::optional<std::string_view> authorization, std::string_view token) {
  if (!authorization || token.empty()) return false;
  std::string_view v = trim(*authorization);
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if ((v[i] | 0x20) != kScheme[i]) return false;
  if (v[kScheme.size()] != ' ' && v[kScheme.size()] != '\t') return false;
  return constant_time_equal(trim(v.substr(kScheme.size())), token);
}

}  // namespace agentsched::serve
