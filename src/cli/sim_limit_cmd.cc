// `agentsched sim limit`: the admission bound (system `cap` swept over cap values) and the
// ceiling (KV that never runs out) per concurrency, and the given systems as fractions of
// both (docs/sim.md, "Limits").
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/html_report.h"
#include "analysis/limit_report.h"
#include "cli/command_registry.h"
#include "cli/options.h"
#include "cli/study_output.h"
#include "gateway/systems.h"
#include "model/profile.h"
#include "record/run_layout.h"
#include "sim/limit.h"
#include "sim/study.h"

namespace agentsched::cli {
namespace {

namespace fs = std::filesystem;

struct LimitCliOptions : SimInputs {
  std::vector<std::string> settings;  // knob=value
  std::string concurrency = "32,64,128";
  std::string seeds = "1,2,3";
  std::string caps = "4,8,12,16,20,24,32,48";
  std::string systems = "baseline,continuum,thunderreact";
  int max_programs = 0;
  int jobs = 0;
  double threshold = 70.0;
  bool force = false;
  std::string out = "runs/limit";
};

// report.html: the limit tables and curve, then a section per run of the given systems and the
// ceiling (the cap sweep's own runs would make the page several megabytes; their figures are
// in the tables).
bool write_limit_page(const analysis::LimitReport& report, const analysis::LimitInput& in,
                      const fs::path& out) {
  analysis::HtmlReportInput input;
  input.title = "Limits: the admission bound and the ceiling";
  input.subtitle = "agentsched sim limit, written to " + out.string();
  input.conditions.push_back({"command", in.command});
  input.conditions.push_back({"ceiling KV blocks", std::to_string(in.ceiling_kv_blocks)});
  input.summary_markdown = report.markdown;
  input.matrix_charts = false;
  input.run_names_relative_to = out;
  std::ifstream svg_file(out / "limit.svg");
  std::stringstream svg;
  svg << svg_file.rdbuf();
  if (svg_file)
    input.extra_figures.push_back({"fig-limit", "Throughput against cap", svg.str(), ""});
  std::vector<analysis::MatrixRun> runs = in.systems;
  runs.insert(runs.end(), in.ceiling.begin(), in.ceiling.end());
  return write_report_page(runs, in.threshold_percent, input, out);
}

void sim_limit(const LimitCliOptions& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  LimitPlan plan;
  auto profile = load_profile(o.profile);
  if (!profile) throw CommandFailure{profile.error().message};
  plan.config.profile = *profile;
  plan.config.workload = o.workload;
  for (const auto& s : o.settings) {
    auto setting = parse_knob_setting(s);
    if (!setting) throw usage_error("--set: " + setting.error().message);
    if (auto st = set_knob(plan.config, setting->first, setting->second); !st)
      throw usage_error("--set: " + st.error().message);
  }
  for (long c : positive_int_list(o.concurrency, "--concurrency", true))
    plan.concurrency.push_back(static_cast<int>(c));
  for (long s : positive_int_list(o.seeds, "--seeds", true))
    plan.seeds.push_back(static_cast<std::uint64_t>(s));
  for (long c : positive_int_list(o.caps, "--caps", true)) plan.caps.push_back(static_cast<int>(c));
  for (const auto& name : split_list(o.systems)) {
    if (name.empty()) continue;
    auto s = find_system(name);
    if (!s) throw usage_error("--systems: " + s.error().message);
    plan.systems.push_back(*s);
  }
  plan.max_programs = o.max_programs;
  plan.jobs = o.jobs;
  plan.overwrite = o.force;

  const fs::path out = o.out;
  make_output_dir(out);
  std::error_code ec;
  // Refused before anything runs, so that a study is never half old, half new.
  if (!o.force) {
    for (const auto& part : fs::directory_iterator(out, ec)) {
      if (!part.is_directory()) continue;
      const std::string name = part.path().filename().string();
      if (name != "ceiling" && name != "systems" && !name.starts_with("cap=")) continue;
      for (const auto& run : fs::directory_iterator(part.path(), ec))
        if (run_layout::holds_run(run.path()))
          throw CommandFailure{fmt::format(
              "'{}' already holds runs of a limit study (e.g. {}); pass --force to replace them "
              "or choose another --out",
              out.string(), run.path().string())};
    }
  }
  const std::size_t total = limit_run_count(plan);
  fmt::print(stderr,
             "sim limit: ({} caps + ceiling + {} systems) x {} concurrencies x {} seed(s) = {} "
             "runs on profile {}, workload {}, into {}\n",
             plan.caps.size(), plan.systems.size(), plan.concurrency.size(), plan.seeds.size(),
             total, plan.config.profile.name, plan.config.workload, out.string());
  std::size_t done = 0;
  plan.progress = [&](const MatrixCell& cell, bool finished, long, long) {
    if (!finished) return;
    fmt::print(stderr, "  [{}/{}] {} done\n", ++done, total,
               fs::relative(cell.dir, out, ec).string());
  };
  auto runs = run_limit(plan, out);
  if (!runs) throw CommandFailure{runs.error().message};

  int failures = 0;
  analysis::LimitInput in;
  for (const auto& [cap, cells] : runs->caps)
    in.caps.emplace_back(cap, finished_runs(cells, failures));
  in.ceiling = finished_runs(runs->ceiling, failures);
  in.ceiling_kv_blocks = runs->ceiling_blocks;
  in.systems = finished_runs(runs->systems, failures);
  in.threshold_percent = o.threshold;
  in.command = fmt::format("agentsched sim limit -c {} --seeds {} --caps {} --systems {}{}{}",
                           o.concurrency, o.seeds, o.caps, o.systems,
                           o.profile != kDefaultProfile ? " --profile " + o.profile : "",
                           o.max_programs ? fmt::format(" --max-programs {}", o.max_programs) : "");
  auto report = analysis::make_limit_report(in);
  if (!report) throw CommandFailure{report.error().message};
  if (auto st = analysis::write_limit_report(*report, out); !st)
    throw CommandFailure{st.error().message};
  const bool html = write_limit_page(*report, in, out);
  fmt::print("{}\nwritten: {}/limit.md, limit.json, limit.svg, limit.csv{} ({:.0f} s)\n",
             report->markdown, out.string(), html ? ", report.html" : "",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
  if (failures) throw CommandFailure{fmt::format("{} of {} runs failed", failures, total)};
}

void declare_options(CLI::App* cmd, LimitCliOptions& o) {
  cmd->add_option("--concurrency,-c", o.concurrency, "Comma-separated concurrencies")
      ->capture_default_str();
  cmd->add_option("--seeds", o.seeds, "Comma-separated workload seeds")->capture_default_str();
  cmd->add_option("--caps", o.caps, "Comma-separated cap values (programs active per backend)")
      ->capture_default_str();
  cmd->add_option("--systems", o.systems,
                  "Comma-separated systems to compare against both lines (empty: none)")
      ->capture_default_str();
  add_sim_input_options(cmd, o);
  cmd->add_option("--set", o.settings,
                  "Change the base configuration: knob=value (repeatable; knobs as for sim sweep)");
  cmd->add_option("--max-programs", o.max_programs,
                  "Run only the first N programs of the workload (0: all)")
      ->capture_default_str()
      ->check(kNonNegativeNumber);
  add_jobs_option(cmd, o.jobs);
  add_threshold_option(cmd, o.threshold);
  cmd->add_flag("--force", o.force, "Replace run folders that already hold a run");
  cmd->add_option("--out", o.out, "Output folder: cap=<N>/, ceiling/, systems/, limit.*")
      ->capture_default_str();
}

const RegisterCommand registration(
    12, "sim", "limit",
    "Two reference lines per concurrency: the best admission bound (system cap swept over "
    "--caps) and the ceiling (baseline with KV that never runs out); the given systems as "
    "fractions of both. Writes limit.md, limit.json, limit.csv and limit.svg",
    declare_options, sim_limit);

}  // namespace
}  // namespace agentsched::cli
