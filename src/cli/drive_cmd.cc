// `agentsched drive`: the live workload driver (live/driver.h).
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include "cli/admin_token_options.h"
#include "cli/command_registry.h"
#include "cli/options.h"
#include "cli/provenance.h"
#include "live/driver.h"
#include "live/process.h"
#include "workload/arrivals.h"
#include "workload/workload_stats.h"

namespace agentsched::cli {
namespace {

struct DriveCli {
  serve::DriverOptions options;  // what the options below fill in directly
  std::string endpoint;
  std::string workload = "tau2";
  std::string arrivals;  // open-loop stages; empty: closed loop (or the trace's own)
  int concurrency = 0;
  std::string out;
  std::string model_config;
  std::string system;               // recorded in config.json; "" = not said
  std::vector<std::string> params;  // its gateway parameters
  std::uint64_t seed = 1;
  double clock_origin = 0;
  bool no_progress = false;
  bool no_shared_heads = false;
  AdminTokenOptions admin_token;
};

std::string duration_text(double s) {
  if (s < 120) return fmt::format("{:.0f}s", s);
  if (s < 7200) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s / 60, 60));
}

void drive(const DriveCli& c) {
  serve::DriverOptions o = c.options;
  auto endpoint = serve::parse_endpoint_url(c.endpoint);
  if (!endpoint) throw CommandFailure{endpoint.error().message};
  o.endpoint = *endpoint;
  auto workload = load_workload(c.workload, c.seed);
  if (!workload) throw CommandFailure{workload.error().message};
  if (!c.arrivals.empty()) {
    auto stages = parse_arrival_stages(c.arrivals);
    if (!stages) throw usage_error("--arrivals: " + stages.error().message);
    if (auto st = assign_arrivals(*workload, *stages, c.seed); !st)
      throw CommandFailure{"--arrivals: " + st.error().message};
  }
  o.workload = std::make_shared<const Workload>(std::move(*workload));
  if (c.concurrency < 1 && !o.workload->open_loop())
    throw usage_error(
        "--concurrency is required (or open-loop arrivals: --arrivals, or a trace "
        "that has them)");
  // Open loop: C only names the run's concurrency in its logs; every arrival starts at once.
  o.concurrency = c.concurrency < 1 ? 1 : c.concurrency;
  o.out_dir = c.out;
  if (c.clock_origin > 0) o.clock_origin_unix = c.clock_origin;
  if (!c.system.empty())
    o.system = system_or_fail(c.system, params_or_usage_error(c.params));
  else if (!c.params.empty())
    throw usage_error("--param needs --system (the system whose gateway parameters they are)");
  o.share_heads = !c.no_shared_heads;
  // Holds no token.
  o.command_line = fmt::format(
      "agentsched drive --endpoint {} --workload {} -c {} --out {} --seed {} --time-scale {}",
      c.endpoint, c.workload, c.concurrency, c.out, c.seed, o.time_scale);
  auto provenance = describe_provenance({"", c.workload, o.workload.get()});
  if (!provenance) throw CommandFailure{provenance.error().message};
  o.provenance_json = boost::json::serialize(*provenance);  // its command line is redacted
  o.admin_token = admin_token_or_fail(c.admin_token);
  if (!c.model_config.empty()) {
    auto mc = serve::load_model_config(c.model_config);
    if (!mc) throw CommandFailure{mc.error().message};
    o.model_config = std::move(*mc);
  }
  serve::install_interrupt_flag();
  o.stop_requested = [] { return serve::interrupted(); };
  const bool tty = !c.no_progress && isatty(STDERR_FILENO);
  if (tty)
    o.on_progress = [](const serve::DriverProgress& p) {
      const double rate = p.emulated_elapsed_s > 0 ? p.finished / (p.emulated_elapsed_s / 60) : 0;
      std::string eta = "?";
      if (p.finished > 0 && p.real_elapsed_s > 0)
        eta = duration_text((p.total - p.finished) * p.real_elapsed_s / p.finished);
      fmt::print(stderr, "\r  {}/{} tasks ({} errors)  {:.2f} tasks/min  emulated {}  ETA {}   ",
                 p.finished, p.total, p.errors, rate, duration_text(p.emulated_elapsed_s), eta);
    };
  auto result = serve::run_driver(o);
  if (tty) fmt::print(stderr, "\n");
  if (!result) {
    const int sig = serve::interrupt_signal();
    throw CommandFailure{result.error().message, sig ? 128 + sig : 1};
  }
  const serve::DriverResult& r = *result;
  fmt::print(
      "drive: {} ok, {} errors of {} tasks in {:.1f} emulated s ({:.2f} tasks/min over the "
      "whole run); {} LLM calls, {} retries; {:.1f} s wall\nrun folder: {}\n",
      r.ok, r.errors, r.total, r.elapsed_s, r.elapsed_s > 0 ? r.ok / (r.elapsed_s / 60) : 0.0,
      r.llm_calls, r.retries, r.wall_s, c.out);
}

void declare_options(CLI::App* cmd, DriveCli& c) {
  cmd->add_option("--endpoint", c.endpoint,
                  "Base URL of the endpoint, e.g. http://127.0.0.1:8000 (or .../v1)")
      ->required();
  cmd->add_option("--arrivals", c.arrivals,
                  "Open loop: programs start by a Poisson process (emulated seconds) instead of "
                  "-c at a time: RATE per second, or stages RATE:SECONDS,...; a trace with its "
                  "own arrivals (workload gen --kind shared-prefix) keeps them unless this is "
                  "given");
  add_workload_option(cmd, c.workload);
  cmd->add_option("--concurrency,-c", c.concurrency,
                  "Programs in flight (C); required unless programs arrive open-loop")
      ->check(kPositiveNumber);
  cmd->add_option("--out", c.out, "Run folder to write")->required();
  cmd->add_option("--system", c.system,
                  "The system behind the endpoint (as `sim --system`), recorded in "
                  "agentsched/config.json so the run compares with a simulated one; `experiment "
                  "run` passes its cell's");
  cmd->add_option("--param", c.params,
                  "With --system: a gateway policy parameter of it, name=value (repeatable)");
  cmd->add_option("--model-config", c.model_config,
                  "JSON model config in the reference's format: user-simulator and expert "
                  "models it lists are called for real; others stay simulated waits");
  cmd->add_option("--seed", c.seed, "Workload seed")->capture_default_str();
  cmd->add_option("--max-programs", c.options.max_programs,
                  "Run only the first N programs of the workload (0: all)")
      ->check(kNonNegativeNumber);
  cmd->add_option("--duration", c.options.duration_s,
                  "Real seconds during which programs start (0: the whole workload); then the "
                  "programs in flight finish and the run is the programs started, as for a soak "
                  "of fixed wall time")
      ->check(kNonNegativeNumber);
  cmd->add_flag("--force", c.options.overwrite, "Replace a run folder that already holds a run");
  add_time_scale_option(cmd, c.options.time_scale,
                        "Emulated seconds per real second, the engine's --time-scale: waits "
                        "shrink and timestamps run that much faster");
  cmd->add_option("--clock-origin", c.clock_origin,
                  "Real Unix time where emulated and real time coincide (shared by the processes "
                  "of one run; default: now)");
  cmd->add_option("--model", c.options.model,
                  "Orchestrator model to request (default: the endpoint's first /v1/models id)");
  cmd->add_option("--user-model", c.options.user_model, "User-simulator model name")
      ->capture_default_str();
  cmd->add_option("--max-attempts", c.options.retry.max_attempts,
                  "Attempts per call before the task ends as an error (transient errors only)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--request-timeout", c.options.request_timeout_s,
                  "Emulated seconds an attempt may take before it counts as failed (0: none)")
      ->check(kNonNegativeNumber);
  cmd->add_option("--startup-timeout", c.options.startup_timeout_s,
                  "Real seconds the endpoint gets to answer before the run starts")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--no-shared-heads", c.no_shared_heads,
                "Give every program its own head text (as `sim` with share_heads off); by "
                "default a domain's programs send the same head, as the real agent does");
  add_admin_token_options(
      cmd, c.admin_token,
      "The router's admin token, sent as `Authorization: Bearer` on POST /programs/release "
      "only (see `agentsched router --help`). Visible in `ps`: prefer --admin-token-file or "
      "the AGENTSCHED_ADMIN_TOKEN environment variable (used when neither option is given)",
      "File whose first line (blanks trimmed) is the router's admin token");
  cmd->add_flag("--no-progress", c.no_progress, "No progress line on the terminal");
  cmd->add_flag("--kv-csv", c.options.write_kv_csv,
                "Create the KV CSV (header only) for a run without `agentsched sample`");
}

const RegisterCommand registration(
    40, "", "drive",
    "Run a workload's agentic programs against an OpenAI-compatible endpoint (engine, router "
    "or vLLM), C in flight, writing a run folder in the reference format (docs/live.md)",
    declare_options, drive);

}  // namespace
}  // namespace agentsched::cli
