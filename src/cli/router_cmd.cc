// `agentsched router`: the program-aware gateway in front of real engines (router/router.h).
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "cli/admin_token_options.h"
#include "cli/command_registry.h"
#include "cli/options.h"
#include "cli/policy_help.h"
#include "gateway/policies.h"
#include "router/router.h"

namespace agentsched::cli {
namespace {

struct RouterArgs {
  serve::RouterOptions options;
  std::vector<std::string> backends;
  std::vector<std::string> params;
  std::string backend_type = "vllm";
  AdminTokenOptions admin_token;
};

std::string policy_help() {
  std::string out = "Gateway policy:";
  for (const auto& info : gateway_policy_infos())
    out += fmt::format(" {} ({});", info.name, info.summary);
  return out;
}

void route(const RouterArgs& a) {
  serve::RouterOptions o = a.options;
  o.backends = a.backends;
  o.policy_params = params_or_usage_error(a.params);
  auto type = serve::parse_backend_type(a.backend_type);
  if (!type) throw CommandFailure{type.error().message};
  o.backend_type = *type;
  o.admin_token = admin_token_or_fail(a.admin_token);
  try {
    const int code = serve::run_router(o);
    if (code != 0) throw CommandFailure{"router stopped with an error", code};
  } catch (const std::runtime_error& e) {
    throw CommandFailure{e.what()};
  }
}

void declare_options(CLI::App* cmd, RouterArgs& a) {
  auto& o = a.options;
  add_listen_options(cmd, o.port, o.host);
  cmd->add_option("--backends", a.backends, "Engine base URLs, comma-separated (http://HOST:PORT)")
      ->required()
      ->delimiter(',');
  cmd->add_option("--policy", o.policy, policy_help())->capture_default_str();
  add_param_option(cmd, a.params,
                   "Policy parameter as name=value (repeatable), e.g. --param budget=0; every "
                   "policy's parameters are listed below (and in docs/gateway.md)");
  cmd->add_option("--backend-type", a.backend_type, "Engine kind, for its /metrics names")
      ->check(CLI::IsMember({"vllm", "sglang"}))
      ->capture_default_str();
  cmd->add_option("--metrics-interval", o.metrics_interval_s,
                  "Seconds between /metrics polls of each backend (router clock)")
      ->check(kPositiveNumber)
      ->capture_default_str();
  add_time_scale_option(
      cmd, o.time_scale,
      "Emulated seconds per real second, to match `agentsched engine --time-scale`");
  cmd->add_option("--program-ttl", o.program_ttl_s,
                  "Release programs idle this many seconds (router clock); 0 = never")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--profile-dir", o.profile_dir,
                  "Write per-call (calls.csv) and per-program (programs.csv) profiles here");
  cmd->add_option("--profile-calls-kept", o.profile_calls_kept,
                  "Call records kept in memory per live program (for /programs/<id>)")
      ->capture_default_str();
  add_admin_token_options(
      cmd, a.admin_token,
      "Bearer token that state-changing management endpoints (POST /programs/release) require (401 "
      "without it); GET /programs, /health, /metrics, /backends, /status, /dashboard and the "
      "proxied /v1 calls stay open. Visible in `ps`: prefer --admin-token-file or the "
      "AGENTSCHED_ADMIN_TOKEN environment variable (used when neither option is given)",
      "File whose first line (blanks trimmed) is the admin token; see --admin-token");
  cmd->add_option("--max-body-bytes", o.max_body_bytes, "Largest request body accepted (413)")
      ->capture_default_str();
  cmd->add_option("--max-header-bytes", o.max_header_bytes, "Largest request head accepted (431)")
      ->capture_default_str();
  cmd->add_option("--header-timeout", o.header_timeout_s,
                  "Seconds a client has to send a request head from its first byte (408; a "
                  "slow-loris client is cut off here); timeouts are checked once a second")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--body-timeout", o.body_timeout_s,
                  "Seconds a client has to send a whole request (408)")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--idle-timeout", o.idle_timeout_s,
                  "Seconds an idle keep-alive client connection stays open")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-connections", o.max_connections,
                  "Client connections served at once (more are answered 503)")
      ->capture_default_str();
  cmd->add_option("--connect-timeout", o.connect_timeout_s,
                  "Seconds to connect to a backend before marking it down")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--poll-timeout", o.poll_timeout_s,
                  "Seconds a /metrics poll may take before the backend is marked down")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--upstream-timeout", o.upstream_timeout_s,
                  "Seconds a backend response may take in all (504); 0 = no limit")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", o.shutdown_timeout_s,
                  "Seconds in-flight calls get to finish after SIGTERM")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
}

const RegisterCommand registration(
    35, "", "router",
    "Program-aware OpenAI-compatible gateway in front of vLLM/SGLang engines, running the "
    "simulator's gateway policies on the real clock (see docs/router.md)",
    declare_options, route);

}  // namespace
}  // namespace agentsched::cli
