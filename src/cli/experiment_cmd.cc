// `agentsched experiment run`: a matrix of runs end to end, live or simulated
// (live/experiment.h; the simulated cells run here, since serve never includes sim).
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

#include "cli/command_registry.h"
#include "cli/options.h"
#include "cli/policy_help.h"
#include "engine/engine_policy.h"
#include "gateway/policies.h"
#include "gateway/systems.h"
#include "live/experiment.h"
#include "live/process.h"
#include "model/profile.h"
#include "sim/matrix.h"
#include "sim/simulation.h"
#include "workload/arrivals.h"
#include "workload/workload_stats.h"

namespace agentsched::cli {
namespace {

namespace fs = std::filesystem;

struct ExperimentCli {
  std::string config;
  std::string systems;
  std::string concurrency;
  std::string mode;
  std::string out;
  std::string workload;
  std::string arrivals;
  std::uint64_t seed = 1;
  int max_programs = 0;
  std::string profile;
  double host_kv_gib = -1;
  double time_scale = 1;
  double threshold = 70;
  bool force = false;
  bool no_plots = false;
  std::string engine_cmd;
  std::string router_cmd;
  int backends = 1;
  int base_port = 0;
  std::string host;
  std::string model_config;
  double ready_timeout = 600;
  int jobs = 0;
  std::vector<std::string> params;
  std::vector<std::string> engine_params;
  CLI::App* command = nullptr;  // `experiment run`
  // Whether option `name` was given on the command line (it overrides the config file).
  bool given(const std::string& name) const { return command->count(name) > 0; }
};

bool has_subcommand(const CLI::App& root, const std::string& name) {
  return !root.get_subcommands([&](const CLI::App* a) { return a->get_name() == name; }).empty();
}

serve::ExperimentConfig merge(const ExperimentCli& c) {
  serve::ExperimentConfig cfg;
  if (!c.config.empty()) {
    auto loaded = serve::load_experiment_config(c.config);
    if (!loaded) throw CommandFailure{loaded.error().message};
    cfg = std::move(*loaded);
  }
  if (c.given("--systems")) cfg.systems = split_list(c.systems);
  if (c.given("--concurrency")) cfg.concurrency = positive_int_list(c.concurrency, "--concurrency");
  if (c.given("--mode")) cfg.mode = c.mode;
  if (c.given("--out")) cfg.out = c.out;
  if (c.given("--workload")) cfg.workload = c.workload;
  if (c.given("--seed")) cfg.seed = c.seed;
  if (c.given("--max-programs")) cfg.max_programs = c.max_programs;
  if (c.given("--arrivals")) cfg.arrivals = c.arrivals;
  if (!cfg.arrivals.empty())
    if (auto stages = parse_arrival_stages(cfg.arrivals); !stages)
      throw usage_error("arrivals: " + stages.error().message);
  if (c.given("--profile")) cfg.profile = c.profile;
  if (c.given("--host-kv-gib")) cfg.host_kv_gib = c.host_kv_gib;
  if (c.given("--time-scale")) cfg.time_scale = c.time_scale;
  if (c.given("--threshold")) cfg.threshold = c.threshold;
  if (c.given("--force")) cfg.force = true;
  if (c.given("--no-plots")) cfg.plots = false;
  if (c.given("--engine-cmd")) {
    cfg.engine_command = c.engine_cmd;
    cfg.engine_command_is_emulator = false;
  }
  if (c.given("--router-cmd")) cfg.router_command = c.router_cmd;
  if (c.given("--backends")) cfg.backends = c.backends;
  if (c.given("--base-port")) cfg.base_port = static_cast<std::uint16_t>(c.base_port);
  if (c.given("--host")) cfg.host = c.host;
  if (c.given("--model-config")) cfg.model_config = c.model_config;
  if (c.given("--ready-timeout")) cfg.ready_timeout_s = c.ready_timeout;
  for (const auto& [name, value] : params_or_usage_error(c.params))
    cfg.gateway_params[name] = value;
  for (const auto& [name, value] : params_or_usage_error(c.engine_params, "--engine-param"))
    cfg.engine_params[name] = value;
  if (cfg.systems.empty()) cfg.systems = default_matrix_systems();
  if (cfg.concurrency.empty()) cfg.concurrency = {32, 64, 128};
  if (cfg.out.empty()) throw CommandFailure{"--out (or `out` in the config file) is required"};
  if (cfg.mode != "sim" && cfg.mode != "live")
    throw CommandFailure{fmt::format("--mode must be sim or live, not '{}'", cfg.mode)};
  return cfg;
}

std::vector<serve::ExperimentCell> plan(const serve::ExperimentConfig& cfg) {
  std::vector<serve::ExperimentCell> cells;
  for (const auto& name : cfg.systems) {
    // `name=value` applies to every system with a gateway policy (engine: whose engine policy
    // has parameters), `system.name=value` to that system only; validated now, before
    // anything starts.
    const bool routed = system_or_fail(name).needs_router();
    const PolicyParams gateway(cfg.gateway_params.begin(), cfg.gateway_params.end());
    const PolicyParams engine(cfg.engine_params.begin(), cfg.engine_params.end());
    SystemSpec s = system_or_fail(name, params_for_system(gateway, name, routed), engine);
    for (int c : cfg.concurrency)
      cells.push_back({s, c, cfg.out / fmt::format("{}_c{}", s.name, c)});
  }
  return cells;
}

// Simulated cells, in parallel as `sim matrix` runs its own (sim/matrix.h); the number that
// failed.
int run_sim_cells(const serve::ExperimentConfig& cfg,
                  const std::vector<serve::ExperimentCell>& todo, int jobs) {
  auto profile = load_profile(cfg.profile.empty() ? std::string(kDefaultProfile) : cfg.profile);
  if (!profile) throw CommandFailure{profile.error().message};
  if (cfg.host_kv_gib >= 0)
    if (auto st = set_profile_field(*profile, "host.kv_gib", cfg.host_kv_gib); !st)
      throw CommandFailure{"host_kv_gib: " + st.error().message};
  auto workload = load_workload(cfg.workload, cfg.seed);
  if (!workload) throw CommandFailure{workload.error().message};
  if (!cfg.arrivals.empty())
    if (auto st = assign_arrivals(*workload, *parse_arrival_stages(cfg.arrivals), cfg.seed); !st)
      throw CommandFailure{"arrivals: " + st.error().message};
  MatrixOptions m;
  m.workloads = {std::make_shared<const Workload>(std::move(*workload))};
  m.base.profile = *profile;
  m.base.max_programs = cfg.max_programs;
  m.base.overwrite = true;  // cleared or forced before
  m.jobs = jobs;
  m.on_done = [](const MatrixCellOutcome& out) {
    if (!out.ok)
      fmt::print(stderr, "  {} failed: {}\n", out.cell.name(), out.error);
    else
      fmt::print(stderr, "  {} done: {} ok, {} errors, {:.0f} simulated s\n", out.cell.name(),
                 out.result.ok, out.result.errors, out.result.elapsed_s);
  };
  std::vector<MatrixCell> cells;
  for (const auto& cell : todo)
    cells.push_back({cell.system, cell.concurrency, m.workloads.front()->seed, cell.dir});
  int failures = 0;
  for (const auto& out : run_cells(cells, m)) failures += !out.ok;
  return failures;
}

void experiment_run(const ExperimentCli& c, CLI::App* root) {
  serve::ExperimentConfig cfg = merge(c);
  std::vector<serve::ExperimentCell> cells = plan(cfg);
  std::error_code ec;
  fs::create_directories(cfg.out, ec);
  if (ec || !fs::is_directory(cfg.out))
    throw CommandFailure{fmt::format("cannot create '{}'", cfg.out.string())};
  if (cfg.mode == "live") {
    bool router_needed = false;
    for (const auto& cell : cells) router_needed |= cell.system.needs_router();
    if (router_needed && cfg.router_command.empty() && !has_subcommand(*root, "router"))
      throw CommandFailure{
          "this build has no `agentsched router`, which the router-based systems need; run "
          "baseline and continuum only, or give --router-cmd"};
    // Fail on a bad workload now, not in the first cell's driver.
    if (auto w = load_workload(cfg.workload, cfg.seed); !w) throw CommandFailure{w.error().message};
    serve::install_child_cleanup();
    serve::install_interrupt_flag();
  }

  // Finished cells are kept unless forced; unfinished leftovers are cleared.
  std::vector<serve::ExperimentCell> todo;
  for (const auto& cell : cells) {
    if (serve::cell_finished(cell.dir) && !cfg.force) {
      fmt::print(stderr, "  {} already finished: kept (--force runs it again)\n", cell.name());
      continue;
    }
    if (fs::exists(cell.dir, ec))
      if (auto st = serve::clear_cell(cell.dir); !st) throw CommandFailure{st.error().message};
    todo.push_back(cell);
  }
  fmt::print(stderr,
             "experiment ({}): {} systems x {} concurrencies = {} cells, {} to run, into {}\n",
             cfg.mode, cfg.systems.size(), cfg.concurrency.size(), cells.size(), todo.size(),
             cfg.out.string());

  int failures = 0;
  if (cfg.mode == "sim") {
    failures += run_sim_cells(cfg, todo, c.jobs);
  } else {
    const bool tty = isatty(STDERR_FILENO);
    for (std::size_t i = 0; i < todo.size(); ++i) {
      const auto& cell = todo[i];
      fmt::print(stderr, "[{}/{}] {}: starting\n", i + 1, todo.size(), cell.name());
      std::size_t shown = 0;
      auto last_plain = std::chrono::steady_clock::now();
      auto progress = [&](const std::string& line) {
        if (tty) {
          fmt::print(stderr, "\r  {:<{}}", line, std::max<std::size_t>(shown, line.size()));
          shown = line.size();
        } else if (std::chrono::steady_clock::now() - last_plain > std::chrono::seconds(30)) {
          last_plain = std::chrono::steady_clock::now();
          fmt::print(stderr, "  {}\n", line);
        }
      };
      const serve::LiveCellOutcome out = serve::run_live_cell(cfg, cell, progress);
      if (tty && shown) fmt::print(stderr, "\n");
      if (out.ok) {
        fmt::print(stderr, "[{}/{}] {}: done in {:.0f} s\n", i + 1, todo.size(), cell.name(),
                   out.wall_s);
      } else {
        ++failures;
        fmt::print(stderr, "[{}/{}] {}: FAILED: {}\n", i + 1, todo.size(), cell.name(), out.error);
      }
      if (serve::interrupted())
        throw CommandFailure{"interrupted; every process the experiment started is stopped",
                             128 + serve::interrupt_signal()};
    }
  }
  auto markdown = serve::write_experiment_summary(cfg, cells);
  if (!markdown) throw CommandFailure{markdown.error().message};
  fmt::print("{}", *markdown);
  fmt::print("\nwritten: {}/summary.md, summary.json{}, report.html\n", cfg.out.string(),
             cfg.plots ? ", kv_usage.svg, throughput.svg, latency.svg (each with .csv)" : "");
  if (failures)
    throw CommandFailure{
        fmt::format("{} of {} cells failed (their folders say why in "
                    "agentsched/)",
                    failures, todo.size())};
}

const RegisterCommand registration(45, [](CLI::App& root) {
  auto* exp = root.add_subcommand(
      "experiment", "Run a whole matrix of systems x concurrencies end to end (docs/live.md)");
  exp->require_subcommand(1);
  auto* run = exp->add_subcommand(
      "run",
      "Run every cell (live: engines, router, sampler and driver started and stopped per cell; "
      "sim: the simulator) into BASE/<system>_c<C>/, then the comparison tables and plots");
  auto c = std::make_shared<ExperimentCli>();
  c->command = run;
  run->add_option("--config", c->config,
                  "TOML file holding the matrix (options below override it)");
  run->add_option("--systems", c->systems,
                  "Comma-separated systems (default: baseline,continuum,thunderreact)");
  run->add_option("--concurrency,-c", c->concurrency,
                  "Comma-separated concurrencies (default: 32,64,128)");
  run->add_option("--mode", c->mode, "sim (default) or live")
      ->check(CLI::IsMember({"sim", "live"}));
  run->add_option("--out", c->out,
                  "Base folder (cells go to BASE/<system>_c<C>/); required here or as `out` in the "
                  "config file");
  run->add_option("--workload", c->workload, "'tau2' (default) or a JSONL trace file");
  run->add_option("--seed", c->seed, "Workload seed (default 1)");
  run->add_option(
      "--arrivals", c->arrivals,
      "Open loop: programs arrive by a Poisson process, RATE per second or stages RATE:SECONDS,... "
      "(default: closed loop, C in flight; C then only names the cells)");
  run->add_option("--max-programs", c->max_programs,
                  "Run only the first N programs of the workload (default 0: all)")
      ->check(kNonNegativeNumber);
  run->add_option(
      "--profile", c->profile,
      fmt::format("Hardware/model profile for the simulator and the emulator (default {})",
                  kDefaultProfile));
  add_host_kv_gib_option(
      run, c->host_kv_gib,
      "Host-memory KV tier in GiB for the simulator and the emulator (vLLM's "
      "--kv-offloading-size; default: the profile's, 0: off); docs/host-tier.md");
  run->add_option("--time-scale", c->time_scale,
                  "Live: emulated seconds per real second for every process of a cell (default 1)")
      ->check(kPositiveNumber);
  run->add_option("--threshold", c->threshold,
                  "Active-window KV usage threshold, percent (default 70)");
  run->add_flag("--force", c->force, "Run finished cells again");
  run->add_flag("--no-plots", c->no_plots, "Skip the SVG plots");
  run->add_option("--engine-cmd", c->engine_cmd,
                  "Live: engine command template, e.g. 'vllm serve Qwen/Qwen3-8B --port {port} "
                  "--scheduling-policy {policy}' (default: agentsched engine)");
  run->add_option("--router-cmd", c->router_cmd,
                  "Live: router command template (default: agentsched router)");
  run->add_option("--backends", c->backends, "Live: engines per cell (default 1)")
      ->check(kPositiveNumber);
  run->add_option("--base-port", c->base_port,
                  "Live: first port (engines, then the router); default: free ports picked")
      ->check(CLI::Range(1, 65535));
  run->add_option("--host", c->host, "Live: address the processes listen on (default 127.0.0.1)");
  run->add_option("--model-config", c->model_config,
                  "Live: the driver's model config for real user-simulator/expert calls (default: "
                  "none; every remote call is a simulated wait)");
  run->add_option("--ready-timeout", c->ready_timeout,
                  "Live: real seconds an engine or router gets to answer /health (default 600)")
      ->check(kPositiveNumber);
  add_param_option(run, c->params,
                   "Gateway policy parameter as name=value for every system with a gateway policy, "
                   "or system.name=value for one (repeatable), e.g. --param thunderreact.budget=0; "
                   "every policy's parameters are listed below");
  run->add_option("--engine-param", c->engine_params,
                  "Engine policy parameter as name=value for every system whose engine policy has "
                  "parameters (plas: autellix), or system.name=value for one (repeatable); applied "
                  "in both modes (live: passed to `agentsched engine --engine-param`)");
  run->footer(policy_parameters_help() + "\n\n" + engine_parameters_help());
  run->add_option("--jobs,-j", c->jobs, "Sim: parallel cells (default: one per core)");
  CLI::App* root_ptr = &root;
  run->callback([c, root_ptr] { experiment_run(*c, root_ptr); });
});

}  // namespace
}  // namespace agentsched::cli
