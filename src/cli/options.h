#pragma once
// Helpers the commands share for their options: unwrapping a Result into the command's
// error, `--param name=value` (parsed once, by gateway/policy_params.h) and a system by
// name with those parameters (gateway/systems.h).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/command_registry.h"
#include "cli/policy_help.h"
#include "core/result.h"
#include "engine/engine_policy.h"
#include "gateway/policy_params.h"
#include "gateway/systems.h"
#include "model/profile.h"

namespace agentsched::cli {

// The value, or the error as a CommandFailure (exit 1).
template <typename T>
T value_or_fail(Result<T> r) {
  if (!r) throw CommandFailure{r.error().message};
  return std::move(*r);
}

// Repeated `--param name=value` (or `--engine-param`) settings; a malformed one is a usage
// error (exit 2).
inline PolicyParams params_or_usage_error(const std::vector<std::string>& items,
                                          std::string_view option = "--param") {
  auto params = parse_param_settings(items, option);
  if (!params) throw usage_error(params.error().message);
  return std::move(*params);
}

// The settings of `items` for system `system`: `system.name=value` entries (prefix removed),
// and plain `name=value` ones when `plain_applies`.
inline PolicyParams params_for_system(const PolicyParams& items, std::string_view system,
                                      bool plain_applies) {
  PolicyParams out;
  for (const auto& [key, value] : items) {
    const auto dot = key.find('.');
    if (dot == std::string::npos) {
      if (plain_applies) out[key] = value;
    } else if (std::string_view(key).substr(0, dot) == system) {
      out[key.substr(dot + 1)] = value;
    }
  }
  return out;
}

// A built-in system with `params` over its gateway policy's defaults and `engine_params` over
// its engine policy's, both checked now (an unknown name or a bad value fails before anything
// runs). `name=value` applies to every system (gateway), or to every system whose engine policy
// has parameters (engine); `system.name=value` to that system only.
inline SystemSpec system_or_fail(std::string_view name, const PolicyParams& params = {},
                                 const PolicyParams& engine_params = {}) {
  SystemSpec s = value_or_fail(find_system(name));
  s = value_or_fail(find_system(name, params_for_system(params, s.name, true)));
  bool takes_params = false;
  for (const auto& info : engine_policy_infos())
    takes_params |= info.name == s.engine_policy && !info.params.empty();
  const PolicyParams engine = params_for_system(engine_params, s.name, takes_params);
  if (!engine.empty()) {
    auto policy = make_engine_policy(s.engine_policy, engine);
    if (!policy) throw CommandFailure{fmt::format("{}: {}", s.name, policy.error().message)};
    s.engine_params = engine;
  }
  return s;
}

// Every `--engine-param` must reach some system: a name no system takes is a mistake.
inline void check_engine_params_used(const PolicyParams& engine_params,
                                     const std::vector<SystemSpec>& systems) {
  for (const auto& [key, value] : engine_params) {
    bool used = false;
    const auto dot = key.find('.');
    for (const auto& s : systems) {
      used |= s.engine_params.count(key) != 0;
      used |= dot != std::string::npos && std::string_view(key).substr(0, dot) == s.name;
    }
    if (!used)
      throw usage_error(fmt::format(
          "--engine-param '{}': none of the systems has an engine policy with parameters "
          "(plas: system autellix)",
          key));
  }
}

// Comma-separated items, as given (empty items too: the list parsers reject them); none for
// an empty text.
inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    out.push_back(
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Comma-separated positive integers (up to 10^6), e.g. --concurrency 32,64; a malformed or
// empty list is a usage error, and so is a value given twice with `unique`.
inline std::vector<int> positive_int_list(const std::string& text, const char* what,
                                          bool unique = false) {
  std::vector<int> out;
  if (text.empty()) throw usage_error(fmt::format("{} is empty", what));
  for (const auto& item : split_list(text)) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 1000000)
      throw usage_error(
          fmt::format("{} '{}': expected positive integers separated by commas", what, text));
    if (unique && std::find(out.begin(), out.end(), static_cast<int>(v)) != out.end())
      throw usage_error(fmt::format("{} '{}': {} given twice", what, text, v));
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// ---- options several commands declare alike ----

// --threshold: the active window's KV-usage threshold, a percentage.
inline CLI::Option* add_threshold_option(CLI::App* cmd, double& percent) {
  return cmd->add_option("--threshold", percent, "Active-window KV usage threshold, percent")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
}

// --workload of the simulating commands and drive.
inline CLI::Option* add_workload_option(CLI::App* cmd, std::string& workload) {
  return cmd
      ->add_option("--workload", workload, "'tau2' (built-in generator) or a JSONL trace file")
      ->capture_default_str();
}

// --profile and --workload of the simulating commands (sim run/matrix/sweep/report/limit).
struct SimInputs {
  std::string profile = std::string(kDefaultProfile);
  std::string workload = "tau2";
};
inline void add_sim_input_options(CLI::App* cmd, SimInputs& in) {
  cmd->add_option("--profile", in.profile, "Hardware/model profile: built-in name or .toml path")
      ->capture_default_str();
  add_workload_option(cmd, in.workload);
}

// --jobs of the simulating commands.
inline CLI::Option* add_jobs_option(CLI::App* cmd, int& jobs) {
  return cmd->add_option("--jobs,-j", jobs, "Parallel runs (default: one per core)");
}

// --param name=value (repeatable), with every policy's parameters in the command's footer.
inline CLI::Option* add_param_option(CLI::App* cmd, std::vector<std::string>& settings,
                                     const std::string& help) {
  cmd->footer(policy_parameters_help());
  return cmd->add_option("--param", settings, help);
}

// --time-scale of the live processes: emulated seconds per real second.
inline CLI::Option* add_time_scale_option(CLI::App* cmd, double& scale, const std::string& help) {
  return cmd->add_option("--time-scale", scale, help)
      ->check(kPositiveNumber)
      ->capture_default_str();
}

// --host-kv-gib: the host-memory KV tier (vLLM's --kv-offloading-size), over the profile's.
inline CLI::Option* add_host_kv_gib_option(CLI::App* cmd, double& gib, const std::string& help) {
  return cmd->add_option("--host-kv-gib", gib, help)->check(kNonNegativeNumber);
}

// --port (0: a free one, printed) and --host of the live servers.
template <typename Port>
void add_listen_options(CLI::App* cmd, Port& port, std::string& host) {
  cmd->add_option("--port", port,
                  "TCP port (0 picks a free one; the bound port is printed as "
                  "`listening on HOST:PORT`)")
      ->required();
  cmd->add_option("--host", host, "Address to listen on")->capture_default_str();
}

}  // namespace agentsched::cli
