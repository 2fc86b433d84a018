#include "gateway/policy_params.h"

#include <cstdlib>

namespace agentsched {

Result<std::pair<std::string, double>> parse_param_setting(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return make_error(fmt::format("'{}': expected name=value", text));
  const std::string value(text.substr(eq + 1));
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v))
    return make_error(fmt::format("'{}': value must be a number", text));
  return std::pair{std::string(text.substr(0, eq)), v};
}

Result<PolicyParams> parse_param_settings(const std::vector<std::string>& items,
                                          std::string_view option) {
  PolicyParams params;
  for (const auto& item : items) {
    auto setting = parse_param_setting(item);
    if (!setting) return make_error(fmt::format("{} {}", option, setting.error().message));
    params[setting->first] = setting->second;
  }
  return params;
}

}  // namespace agentsched
