// `agentsched sim run` and `agentsched sim matrix`
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>

#include "analysis/html_report.h"
#include "analysis/matrix_summary.h"
#include "cli/command_registry.h"
#include "cli/options.h"
#include "cli/policy_help.h"
#include "cli/provenance.h"
#include "cli/study_output.h"
#include "engine/engine_policy.h"
#include "model/profile.h"
#include "record/run_layout.h"
#include "sim/matrix.h"
#include "sim/simulation.h"
#include "workload/arrivals.h"
#include "workload/workload_stats.h"

namespace agentsched::cli {
namespace {

namespace fs = std::filesystem;

struct CommonOptions : SimInputs {
  std::uint64_t seed = 1;
  int backends = 1;
  int max_programs = 0;
  std::int64_t kv_blocks = 0;
  double host_kv_gib = -1;  // < 0: the profile's host.kv_gib
  double turns_scale = 1.0;
  double wait_scale = 1.0;
  std::string arrivals;                    // open-loop stages; empty: closed loop
  std::vector<std::string> params;         // key=value gateway policy parameters
  std::vector<std::string> engine_params;  // key=value engine policy parameters
  std::vector<std::string> outages;        // BACKEND:START_S:END_S
  bool force = false;
  std::string out;
};

void add_common(CLI::App* cmd, CommonOptions& o) {
  add_sim_input_options(cmd, o);
  cmd->add_option("--backends", o.backends, "Engines behind the gateway, each its own GPU")
      ->capture_default_str()
      ->check(kPositiveNumber);
  cmd->add_option("--max-programs", o.max_programs,
                  "Run only the first N programs of the workload (0: all)")
      ->capture_default_str()
      ->check(kNonNegativeNumber);
  cmd->add_option("--kv-blocks", o.kv_blocks,
                  "Override the profile's KV capacity in blocks (what-if studies; 0: derived)")
      ->capture_default_str()
      ->check(kNonNegativeNumber);
  add_host_kv_gib_option(cmd, o.host_kv_gib,
                         "Host-memory KV tier in GiB (vLLM's --kv-offloading-size; default: the "
                         "profile's, 0 in every built-in one: off). docs/host-tier.md");
  cmd->add_option("--turns-scale", o.turns_scale,
                  "With --workload tau2: multiply agent turns per task")
      ->capture_default_str();
  cmd->add_option("--wait-scale", o.wait_scale,
                  "With --workload tau2: multiply tool, expert and user latencies")
      ->capture_default_str();
  cmd->add_option("--arrivals", o.arrivals,
                  "Open loop: programs arrive by a Poisson process instead of C at a time. RATE "
                  "(per second, until the workload runs out) or stages RATE:SECONDS,... (e.g. "
                  "0.03:3600,0.06:1800); -c is then unused. A trace with its own arrivals keeps "
                  "them unless this is given");
  add_param_option(cmd, o.params,
                   "Gateway policy parameter as name=value (repeatable), e.g. --param "
                   "budget=98976; SYSTEM.name=value to one system only; every policy's "
                   "parameters are listed below");
  cmd->add_option("--engine-param", o.engine_params,
                  "Engine policy parameter as name=value (repeatable), e.g. --engine-param "
                  "beta=2; applies to the systems whose engine policy has parameters (plas); "
                  "SYSTEM.name=value to one system only");
  cmd->add_option("--outage", o.outages,
                  "Backend BACKEND unreachable from START_S to END_S (virtual seconds) as "
                  "BACKEND:START_S:END_S (repeatable); docs/sim.md");
  cmd->footer(policy_parameters_help() + "\n\n" + engine_parameters_help());
  cmd->add_flag("--force", o.force, "Replace run folders that already hold a run");
  cmd->add_option("--out", o.out, "Output folder")->required();
}

Profile load_profile_or_fail(const std::string& name) {
  auto p = load_profile(name);
  if (!p) throw CommandFailure{p.error().message};
  return *p;
}

std::shared_ptr<const Workload> load_workload_or_fail(const CommonOptions& o, std::uint64_t seed) {
  Tau2Params params;
  params.turns_scale = o.turns_scale;
  params.wait_scale = o.wait_scale;
  if (o.workload != "tau2" && (o.turns_scale != 1.0 || o.wait_scale != 1.0))
    throw usage_error("--turns-scale and --wait-scale apply to --workload tau2 only");
  auto w = load_workload(o.workload, seed, params);
  if (!w) throw CommandFailure{w.error().message};
  if (!o.arrivals.empty()) {
    auto stages = parse_arrival_stages(o.arrivals);
    if (!stages) throw usage_error("--arrivals: " + stages.error().message);
    if (auto st = assign_arrivals(*w, *stages, seed); !st)
      throw CommandFailure{"--arrivals: " + st.error().message};
  }
  return std::make_shared<const Workload>(std::move(*w));
}

void check_output_dir(const fs::path& dir) {
  make_output_dir(dir);
  const fs::path probe = dir / ".agentsched-write-test";
  FILE* f = std::fopen(probe.c_str(), "w");
  if (!f) throw CommandFailure{fmt::format("output folder '{}' is not writable", dir.string())};
  std::fclose(f);
  std::error_code ec;
  fs::remove(probe, ec);
}

// <out>/report.html (analysis/html_report.h); a failure costs the page, not the run.
bool write_matrix_report(const analysis::MatrixSummary& summary, const fs::path& out,
                         const std::string& title, bool charts) {
  analysis::HtmlReportInput input;
  input.title = title;
  input.subtitle = "agentsched sim matrix, written to " + out.string();
  input.matrix_charts = charts;
  return write_report_page(summary, input, out);
}

// The git commit, command line and input hashes in the run's config.json (cli/provenance.h).
void record_run_provenance(const fs::path& run_dir, const CommonOptions& o,
                           const Workload& workload) {
  auto provenance = describe_provenance({o.profile, o.workload, &workload});
  if (!provenance) throw CommandFailure{provenance.error().message};
  if (auto st = record_provenance(run_dir, *provenance); !st)
    throw CommandFailure{
        fmt::format("run written, but its provenance not: {}", st.error().message)};
}

SimOptions base_options(const CommonOptions& o) {
  SimOptions s;
  s.profile = load_profile_or_fail(o.profile);
  if (o.host_kv_gib >= 0)
    if (auto st = set_profile_field(s.profile, "host.kv_gib", o.host_kv_gib); !st)
      throw usage_error(fmt::format("--host-kv-gib: {}", st.error().message));
  s.backends = o.backends;
  s.max_programs = o.max_programs;
  s.num_gpu_blocks_override = o.kv_blocks;
  for (const std::string& text : o.outages) {
    auto outage = parse_backend_outage(text);
    if (!outage) throw usage_error("--outage: " + outage.error().message);
    s.outages.push_back(*outage);
  }
  s.overwrite = o.force;
  return s;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// ---------------------------------------------------------------------------------------
struct RunOptions {
  CommonOptions common;
  std::string system;
  int concurrency = 0;
  bool no_gateway = false;
};

void sim_run(const RunOptions& r) {
  if (r.concurrency < 1) throw usage_error("--concurrency must be at least 1");
  const PolicyParams params = params_or_usage_error(r.common.params);
  const PolicyParams engine_params =
      params_or_usage_error(r.common.engine_params, "--engine-param");
  SimOptions s = base_options(r.common);
  s.system = system_or_fail(r.system, params, engine_params);
  check_engine_params_used(engine_params, {s.system});
  s.concurrency = r.concurrency;
  s.no_gateway = r.no_gateway;
  if (auto st = check_backend_outages(s); !st) throw usage_error(st.error().message);
  s.workload = load_workload_or_fail(r.common, r.common.seed);
  s.out_dir = r.common.out;
  // Refused before anything runs: the folder is left as it was, finished or not.
  if (!r.common.force && run_layout::holds_run(s.out_dir))
    throw CommandFailure{fmt::format(
        "run folder '{}' already holds a run (driver.log exists); choose another folder or "
        "pass --force to replace it",
        s.out_dir.string())};
  check_output_dir(s.out_dir);
  const bool tty = isatty(STDERR_FILENO);
  if (tty)
    s.progress = [](long done, long total) {
      if (done % 10 == 0 || done == total) fmt::print(stderr, "\r  {}/{} programs", done, total);
    };
  auto result = run_simulation(s);
  if (tty) fmt::print(stderr, "\n");
  if (!result)
    throw CommandFailure{fmt::format("{} (run folder '{}' is incomplete)", result.error().message,
                                     s.out_dir.string())};
  record_run_provenance(s.out_dir, r.common, *s.workload);
  const SimResult& res = *result;
  fmt::print(
      "{} at C={}: {} ok, {} errors of {} tasks in {:.1f} simulated s ({:.2f} tasks/min "
      "over the whole run); {} steps; {:.2f} s wall\n",
      s.system.name, s.concurrency, res.ok, res.errors, res.total, res.elapsed_s,
      res.elapsed_s > 0 ? res.ok / (res.elapsed_s / 60) : 0.0, res.steps, res.wall_s);
  for (std::size_t b = 0; b < res.backends.size(); ++b) {
    const auto& c = res.backends[b].counters;
    fmt::print(
        "  backend {}: prefix hit rate {:.1f}%, {} preemptions, mean KV usage {:.1f}%, "
        "busy {:.0f}%\n",
        b, c.prefix_cache_queries > 0 ? 100 * c.prefix_cache_hits / c.prefix_cache_queries : 0.0,
        c.preemptions, 100 * res.backends[b].mean_kv_usage,
        res.elapsed_s > 0 ? 100 * c.busy_s / res.elapsed_s : 0.0);
    if (s.profile.num_host_blocks() > 0)
      fmt::print(
          "  backend {} host tier: {:.0f} loads, {:.1f} M tokens loaded (mean load {:.1f} ms), "
          "{:.0f} blocks stored, {:.0f} evicted, link busy {:.1f}%\n",
          b, c.host_loads, c.host_hit_tokens / 1e6,
          c.host_loads > 0 ? 1e3 * c.host_load_wait_s / c.host_loads : 0.0, c.host_stores,
          c.host_evictions, res.elapsed_s > 0 ? 100 * c.host_link_busy_s / res.elapsed_s : 0.0);
  }
  if (res.gateway_held_s > 0)
    fmt::print("  gateway: calls held {:.0f} s in total, longest hold {:.1f} s\n",
               res.gateway_held_s, res.max_gateway_hold_s);
  fmt::print("run folder: {}\n", s.out_dir.string());
}

// ---------------------------------------------------------------------------------------
struct MatrixCliOptions {
  CommonOptions common;
  std::string systems;
  std::string concurrency = "32,64,128";
  std::string seeds;
  int jobs = 0;
  double threshold = 70.0;
  bool timings = false;
  bool no_plots = false;
};

void sim_matrix(const MatrixCliOptions& m) {
  const auto wall_start = std::chrono::steady_clock::now();
  const PolicyParams params = params_or_usage_error(m.common.params);
  MatrixOptions o;
  const std::vector<std::string> names =
      m.systems.empty() ? default_matrix_systems() : split_list(m.systems);
  const PolicyParams engine_params =
      params_or_usage_error(m.common.engine_params, "--engine-param");
  for (const auto& n : names) o.systems.push_back(system_or_fail(n, params, engine_params));
  check_engine_params_used(engine_params, o.systems);
  o.concurrency = positive_int_list(m.concurrency, "--concurrency");
  std::vector<int> seeds = m.seeds.empty() ? std::vector<int>{static_cast<int>(m.common.seed)}
                                           : positive_int_list(m.seeds, "--seeds");
  o.base = base_options(m.common);
  if (auto st = check_backend_outages(o.base); !st) throw usage_error(st.error().message);
  for (int seed : seeds) o.workloads.push_back(load_workload_or_fail(m.common, seed));
  o.out = m.common.out;
  o.jobs = m.jobs;
  check_output_dir(o.out);
  const std::size_t cells = o.systems.size() * o.concurrency.size() * o.workloads.size();
  fmt::print(stderr,
             "sim matrix: {} systems x {} concurrencies x {} seed(s) = {} runs on "
             "profile {}, workload {}, into {}\n",
             o.systems.size(), o.concurrency.size(), o.workloads.size(), cells, o.base.profile.name,
             o.workloads.front()->name, o.out.string());
  std::size_t done = 0;
  std::set<fs::path> held_before;  // cells whose folder already held a run when they started
  o.progress = [&](const MatrixCell& cell, bool finished, long, long) {
    if (!finished) {
      if (run_layout::holds_run(cell.dir)) held_before.insert(cell.dir);
      return;
    }
    ++done;
    fmt::print(stderr, "  [{}/{}] {}{} done\n", done, cells, cell.name(),
               o.workloads.size() > 1 ? fmt::format(" seed {}", cell.seed) : "");
  };
  auto outcomes = run_matrix(o);
  const double sim_wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::vector<analysis::MatrixRun> runs;
  int failures = 0;
  for (const auto& out : outcomes) {
    if (!out.ok) {
      ++failures;
      const bool left_alone = !m.common.force && held_before.count(out.cell.dir) > 0;
      fmt::print(stderr, "run {} failed: {} ({})\n", out.cell.name(), out.error,
                 left_alone ? "its folder is left as it was" : "its folder is incomplete");
      continue;
    }
    for (const auto& w : o.workloads)
      if (w->seed == out.cell.seed) record_run_provenance(out.cell.dir, m.common, *w);
    runs.push_back({out.cell.system.name, out.cell.concurrency, out.cell.seed, out.cell.dir});
  }
  auto summary = analysis::summarize_matrix(runs, m.threshold);
  if (!summary) throw CommandFailure{summary.error().message};
  if (auto st = analysis::write_matrix_summary(*summary, o.out); !st)
    throw CommandFailure{st.error().message};
  fmt::print("{}", summary->markdown);
  if (!m.no_plots)
    if (auto st = analysis::write_matrix_plots(*summary, o.out); !st)
      fmt::print(stderr, "warning: plots not written: {}\n", st.error().message);
  const bool report_written =
      write_matrix_report(*summary, o.out, "Simulated comparison", !m.no_plots);
  fmt::print("\nwritten: {}/summary.md, summary.json{}{}\n", o.out.string(),
             m.no_plots ? "" : ", kv_usage.svg, throughput.svg, latency.svg (each with .csv)",
             report_written ? ", report.html" : "");
  const double total_wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (m.timings) {
    fmt::print(
        "\ntimings: {} runs simulated in {:.2f} s wall, {:.2f} s with analysis; peak RSS "
        "{:.0f} MB\n",
        outcomes.size(), sim_wall, total_wall, peak_rss_mb());
    for (const auto& out : outcomes)
      if (out.ok)
        fmt::print("  {:<24} {:.2f} s\n", out.cell.dir.filename().string(), out.result.wall_s);
  }
  if (failures)
    throw CommandFailure{fmt::format("{} of {} runs failed", failures, outcomes.size())};
}

const RegisterCommand registration(10, [](CLI::App& root) {
  auto* sim = root.add_subcommand(
      "sim", "Simulate the reference experiment in virtual time (seconds instead of GPU-hours)");
  sim->require_subcommand(1);

  auto r = std::make_shared<RunOptions>();
  auto* run = sim->add_subcommand(
      "run", "Simulate one system at one concurrency; writes a run folder in the reference format");
  run->add_option("--system", r->system,
                  "baseline, continuum, thunderreact, ours, cap, autellix or vllm-router")
      ->required();
  run->add_option("--concurrency,-c", r->concurrency, "Programs in flight (C)")->required();
  run->add_option("--seed", r->common.seed, "Workload seed")->capture_default_str();
  run->add_flag("--no-gateway", r->no_gateway,
                "Wire programs straight to the engine (no gateway at all; one backend)");
  add_common(run, r->common);
  run->callback([r] { sim_run(*r); });

  auto m = std::make_shared<MatrixCliOptions>();
  auto* matrix = sim->add_subcommand(
      "matrix", "Simulate systems x concurrencies (in parallel) and print the comparison tables");
  matrix->add_option("--systems", m->systems,
                     "Comma-separated systems (default: baseline,continuum,thunderreact)");
  matrix->add_option("--concurrency,-c", m->concurrency, "Comma-separated concurrencies")
      ->capture_default_str();
  matrix->add_option("--seed", m->common.seed, "Workload seed")->capture_default_str();
  matrix->add_option("--seeds", m->seeds,
                     "Comma-separated workload seeds; each cell runs once per seed and the "
                     "tables show mean (min-max)");
  add_jobs_option(matrix, m->jobs);
  add_threshold_option(matrix, m->threshold);
  matrix->add_flag("--timings", m->timings, "Report wall time per run and peak memory");
  matrix->add_flag("--no-plots", m->no_plots, "Skip the SVG plots");
  add_common(matrix, m->common);
  matrix->callback([m] { sim_matrix(*m); });
});

}  // namespace
}  // namespace agentsched::cli
