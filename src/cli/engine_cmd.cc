// `agentsched engine`: the vLLM-compatible engine emulator (emulator/engine_server.h).
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "cli/command_registry.h"
#include "cli/options.h"
#include "cli/policy_help.h"
#include "emulator/engine_server.h"
#include "engine/engine_policy.h"

namespace agentsched::cli {
namespace {

const RegisterCommand registration(30, [](CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "engine",
      "vLLM-compatible engine emulator: OpenAI chat completions and vLLM /metrics over real "
      "HTTP, with the simulator's engine model as the GPU (see docs/engine.md)");
  auto opts = std::make_shared<serve::EngineServerOptions>();
  add_listen_options(cmd, opts->port, opts->host);
  cmd->add_option("--profile", opts->profile,
                  "Hardware/model profile: built-in name or path to a .toml file")
      ->capture_default_str();
  cmd->add_option("--policy", opts->policy, "Engine scheduling policy")
      ->check(CLI::IsMember({"fcfs", "continuum", "plas"}))
      ->capture_default_str();
  add_time_scale_option(cmd, opts->time_scale,
                        "Emulated seconds per real second (10 = a simulated GPU ten times faster)");
  auto engine_params = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--engine-param", *engine_params,
                  "Engine policy parameter as name=value (repeatable), e.g. --engine-param beta=2")
      ->type_name("NAME=VALUE");
  cmd->footer(engine_parameters_help());
  cmd->add_option("--model", opts->model, "Served model name (default: the profile's model name)");
  cmd->add_option("--seed", opts->seed, "Seed of the output lengths drawn from the profile")
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", opts->shutdown_timeout_s,
                  "Real seconds in-flight requests get to finish after SIGTERM")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--num-gpu-blocks-override", opts->num_gpu_blocks_override,
                  "KV capacity in blocks instead of the profile's derived one (as vLLM's flag)")
      ->check(kNonNegativeNumber);
  cmd->add_option("--max-model-len", opts->max_model_len,
                  "Context length limit instead of the profile's (as vLLM's flag)")
      ->check(kNonNegativeNumber);
  add_host_kv_gib_option(
      cmd, opts->host_kv_gib,
      "Host-memory KV tier in GiB, as vLLM's --kv-offloading-size with "
      "--kv-offloading-backend native (default: the profile's, 0 in the built-in "
      "ones: off); docs/host-tier.md");
  auto fault_specs = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--fault", *fault_specs,
                  "FOR TESTING: inject faults deterministically, KIND=EVERY (repeatable, one per "
                  "kind). Chat faults hit every EVERY-th chat request: http500 (a 500 before any "
                  "work), close (the connection closes after the first chunk, or after the head "
                  "of a non-streaming answer), stall (no answer until the client hangs up); "
                  "garbage-metrics hits every EVERY-th GET /metrics (200 with unparsable "
                  "text). Counted in agentsched_engine_faults_injected_total{kind}")
      ->type_name("KIND=EVERY");
  cmd->callback([opts, fault_specs, engine_params] {
    for (const auto& [name, value] : params_or_usage_error(*engine_params, "--engine-param"))
      opts->policy_params[name] = value;
    if (auto policy = make_engine_policy(opts->policy, opts->policy_params); !policy)
      throw usage_error(policy.error().message);
    for (const std::string& spec : *fault_specs) {
      auto fault = serve::parse_engine_fault(spec);
      if (!fault) throw CommandFailure{fault.error().message};
      opts->faults.push_back(*fault);
    }
    try {
      const int code = serve::run_engine_server(*opts);
      if (code != 0) throw CommandFailure{"engine stopped with an error", code};
    } catch (const std::runtime_error& e) {
      throw CommandFailure{e.what()};
    }
  });
});

}  // namespace
}  // namespace agentsched::cli
