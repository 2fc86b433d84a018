// `agentsched sim sweep` and `agentsched sim report`: what-if sweeps of one knob, and the
// fidelity report (docs/fidelity.md) of the calibrated matrix.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/fidelity_report.h"
#include "analysis/html_report.h"
#include "analysis/matrix_summary.h"
#include "analysis/sweep_plot.h"
#include "cli/command_registry.h"
#include "cli/options.h"
#include "cli/study_output.h"
#include "gateway/systems.h"
#include "model/profile.h"
#include "sim/study.h"

namespace agentsched::cli {
namespace {

namespace fs = std::filesystem;

struct StudyCliOptions : SimInputs {
  std::vector<std::string> settings;  // knob=value
  std::string systems;
  std::string concurrency;
  std::string seeds;
  std::vector<std::string> gateway_params;
  int jobs = 0;
  double threshold = 70.0;
  bool force = false;
  std::string out;
};

void ok_or_fail(const Status& st) {
  if (!st) throw CommandFailure{st.error().message};
}

StudyConfig base_config(const StudyCliOptions& o) {
  StudyConfig c;
  c.profile = value_or_fail(load_profile(o.profile));
  c.workload = o.workload;
  for (const auto& s : o.settings) {
    const auto [name, value] = value_or_fail(parse_knob_setting(s));
    ok_or_fail(set_knob(c, name, value));
  }
  return c;
}

StudyMatrix study_matrix(const StudyCliOptions& o, const std::string& default_concurrency,
                         const std::string& default_seeds) {
  StudyMatrix m;
  const PolicyParams params = params_or_usage_error(o.gateway_params);
  const std::vector<std::string> names =
      o.systems.empty() ? default_matrix_systems() : split_list(o.systems);
  for (const auto& name : names) m.systems.push_back(system_or_fail(name, params));
  for (long c : positive_int_list(o.concurrency.empty() ? default_concurrency : o.concurrency,
                                  "--concurrency"))
    m.concurrency.push_back(static_cast<int>(c));
  for (long s : positive_int_list(o.seeds.empty() ? default_seeds : o.seeds, "--seeds"))
    m.seeds.push_back(static_cast<std::uint64_t>(s));
  m.jobs = o.jobs;
  m.overwrite = o.force;
  return m;
}

analysis::SweepPointRuns point_runs(const SweepPoint& p, int& failures) {
  return {p.label, p.value, finished_runs(p.cells, failures)};
}

void add_study_options(CLI::App* cmd, StudyCliOptions& o) {
  add_sim_input_options(cmd, o);
  cmd->add_option("--set", o.settings,
                  "Change the base configuration: knob=value (repeatable; knobs as for --vary)");
  cmd->add_option("--systems", o.systems,
                  "Comma-separated systems (default: baseline,continuum,thunderreact)");
  cmd->add_option("--param", o.gateway_params,
                  "Gateway policy parameter as name=value (repeatable), as in sim matrix");
  add_jobs_option(cmd, o.jobs);
  add_threshold_option(cmd, o.threshold);
  cmd->add_flag("--force", o.force, "Replace run folders that already hold a run");
}

std::string knob_list() {
  std::string out;
  for (const auto& k : knob_infos()) out += fmt::format("\n  {:<32} {}", k.name, k.help);
  return out;
}

// <out>/report.html: the sweep's tables and chart, and a section per run; a failure costs
// the page, not the sweep.
bool write_sweep_report(const std::string& knob, double base_value,
                        const std::vector<analysis::SweepPointRuns>& points, double threshold,
                        const std::string& markdown, const fs::path& out) {
  std::vector<analysis::MatrixRun> all_runs;
  for (const auto& p : points) all_runs.insert(all_runs.end(), p.runs.begin(), p.runs.end());
  analysis::HtmlReportInput input;
  input.title = "Sweep of " + knob;
  input.subtitle = "agentsched sim sweep, written to " + out.string();
  input.conditions.push_back({"swept knob", fmt::format("{} (base value {:g})", knob, base_value)});
  input.summary_markdown = markdown;
  input.matrix_charts = false;  // the points share systems and seeds: one grid would mix them
  input.run_names_relative_to = out;
  if (auto chart = analysis::sweep_line_chart(knob, base_value, points, threshold); chart)
    if (auto svg = analysis::render_line_chart(*chart); svg)
      input.extra_figures.push_back({"fig-sweep", "Sweep of " + knob, std::move(svg->svg), ""});
  return write_report_page(all_runs, threshold, input, out);
}

// ---------------------------------------------------------------------------------------
struct SweepCliOptions {
  StudyCliOptions study;
  std::string vary;
};

void sim_sweep(const SweepCliOptions& s) {
  const StudyConfig base = base_config(s.study);
  const SweepAxis axis = value_or_fail(parse_sweep_axis(s.vary, base));
  StudyMatrix m = study_matrix(s.study, "32", "1");
  const fs::path out = s.study.out;
  make_output_dir(out);
  const std::size_t cells =
      axis.values.size() * m.systems.size() * m.concurrency.size() * m.seeds.size();
  fmt::print(stderr,
             "sim sweep: {} = {} values x {} systems x {} concurrencies x {} seed(s) = "
             "{} runs, into {}\n",
             axis.knob, axis.values.size(), m.systems.size(), m.concurrency.size(), m.seeds.size(),
             cells, out.string());
  std::size_t done = 0;
  m.progress = [&](const MatrixCell& cell, bool finished, long, long) {
    if (finished) fmt::print(stderr, "  [{}/{}] {} done\n", ++done, cells, cell.dir.string());
  };
  const auto points = value_or_fail(run_sweep(base, axis, m, out));
  int failures = 0;
  std::vector<analysis::SweepPointRuns> runs;
  for (const auto& p : points) runs.push_back(point_runs(p, failures));
  const double base_value = value_or_fail(knob_value(base, axis.knob));
  const std::string md = value_or_fail(
      analysis::write_sweep_summary(axis.knob, base_value, runs, s.study.threshold, out));
  // The chart re-reads the run folders; a failure costs the picture, not the tables.
  const auto plotted =
      analysis::write_sweep_plot(axis.knob, base_value, runs, s.study.threshold, out);
  if (!plotted)
    fmt::print(stderr, "warning: sweep plot not written: {}\n", plotted.error().message);
  const bool report_written =
      write_sweep_report(axis.knob, base_value, runs, s.study.threshold, md, out);
  fmt::print("{}\nwritten: {}/sweep.md, sweep.json{}{}\n", md, out.string(),
             plotted ? ", sweep.svg, sweep.csv" : "", report_written ? ", report.html" : "");
  if (failures) throw CommandFailure{fmt::format("{} of {} runs failed", failures, cells)};
}

// ---------------------------------------------------------------------------------------
struct ReportCliOptions {
  StudyCliOptions study;
  std::string doc = "docs/fidelity.md";
  int low_load = 8;
  bool no_sensitivity = false;
  bool keep_sweeps = false;
};

// The sweeps of the report: the assumptions the C = 32 results lean on most.
struct ReportSweep {
  const char* knob;
  std::vector<double> values;  // the base value is added
  const char* question;
};

std::vector<ReportSweep> report_sweeps(const StudyConfig& base) {
  const double blocks = static_cast<double>(base.profile.num_gpu_blocks());
  return {
      {"kv-blocks",
       {std::round(blocks * 0.8), std::round(blocks * 1.25), std::round(blocks * 1.6)},
       "KV capacity in blocks: what if vLLM had kept more or less memory outside the cache."},
      {"shared-heads", {0}, "1: a domain's programs share their prompt head's cached blocks."},
      {"output-scale",
       {0.5, 0.75, 1.5, 2.0},
       "Every orchestrator output multiplied: the least directly measured size."},
      {"tool-result-scale", {0.5, 1.5, 2.0}, "Every tool result multiplied: prompt growth."},
      {"cost.compute_factor", {1.0, 1.6}, "Prefill efficiency (1.0 = the dense bf16 peak)."},
      {"cost.kv_factor", {1.0, 1.3}, "Decode attention efficiency (1.0 = peak bandwidth)."},
      {"wait-scale", {0.5, 2.0}, "User, expert and tool latencies multiplied."},
  };
}

void sim_report(const ReportCliOptions& r) {
  const auto wall_start = std::chrono::steady_clock::now();
  const StudyConfig base = base_config(r.study);
  StudyMatrix m = study_matrix(r.study, "32,64,128", "1,2,3");
  const fs::path out = r.study.out;
  make_output_dir(out);
  std::size_t done = 0;
  m.progress = [&](const MatrixCell& cell, bool finished, long, long) {
    if (finished && ++done % 10 == 0) fmt::print(stderr, "  {} runs done\n", done);
  };
  int failures = 0;
  analysis::FidelityReportInput in;
  in.threshold_percent = r.study.threshold;
  std::string command = "agentsched sim report";
  if (r.study.profile != kDefaultProfile) command += " --profile " + r.study.profile;
  for (const auto& s : r.study.settings) command += " --set " + s;
  in.command = command;
  for (const auto& row : describe_calibration(base))
    in.calibration.push_back({row.group, row.parameter, row.value, row.basis});

  fmt::print(stderr, "sim report: calibrated matrix into {}/matrix\n", out.string());
  make_output_dir(out / "matrix");
  const MatrixOptions mo = value_or_fail(matrix_options(base, m, out / "matrix"));
  in.runs = finished_runs(run_matrix(mo), failures);

  if (r.low_load > 0) {
    StudyMatrix low = m;
    low.systems = {value_or_fail(find_system("baseline"))};
    low.concurrency = {r.low_load};
    make_output_dir(out / "low_load");
    const MatrixOptions lo = value_or_fail(matrix_options(base, low, out / "low_load"));
    in.low_load_runs = finished_runs(run_matrix(lo), failures);
  }

  if (!r.no_sensitivity) {
    StudyMatrix sm = m;
    sm.concurrency = {32};
    for (const auto& sweep : report_sweeps(base)) {
      SweepAxis axis;
      axis.knob = sweep.knob;
      const double base_value = value_or_fail(knob_value(base, sweep.knob));
      axis.values = sweep.values;
      axis.values.push_back(base_value);
      std::sort(axis.values.begin(), axis.values.end());
      axis.values.erase(std::unique(axis.values.begin(), axis.values.end()), axis.values.end());
      fmt::print(stderr, "sim report: sweep of {} into {}/sensitivity\n", axis.knob, out.string());
      const auto points = value_or_fail(run_sweep(base, axis, sm, out / "sensitivity"));
      analysis::SensitivitySweep s;
      s.knob = axis.knob;
      s.question = sweep.question;
      s.base_value = base_value;
      for (const auto& p : points) s.points.push_back(point_runs(p, failures));
      in.sensitivity.push_back(std::move(s));
    }
  }

  const analysis::FidelityReport report = value_or_fail(analysis::make_fidelity_report(in));
  const fs::path doc = r.doc;
  if (doc.has_parent_path()) make_output_dir(doc.parent_path());
  {
    std::ofstream f(doc);
    f << report.markdown;
    if (!f) throw CommandFailure{fmt::format("cannot write '{}'", doc.string())};
  }
  if (!r.keep_sweeps && !r.no_sensitivity) {
    // ~200 run folders (~2.5 GB) that the report has summarised; the calibrated matrix stays.
    std::error_code ec;
    fs::remove_all(out / "sensitivity", ec);
  }
  for (const auto& line : report.residual_lines) fmt::print("{}\n", line);
  fmt::print("residuals {} ±{:.0f}%; written: {} (runs in {}), {:.0f} s\n",
             report.residuals_within_tolerance ? "within" : "NOT within", 100 * in.tolerance,
             doc.string(), out.string(),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
  if (failures) throw CommandFailure{fmt::format("{} runs failed", failures)};
}

void declare_sweep_options(CLI::App* sweep, SweepCliOptions& s) {
  sweep->add_option("--vary", s.vary, "knob=value1,value2,... Knobs:" + knob_list())->required();
  sweep->add_option("--concurrency,-c", s.study.concurrency,
                    "Comma-separated concurrencies (default: 32)");
  sweep->add_option("--seeds", s.study.seeds, "Comma-separated workload seeds (default: 1)");
  add_study_options(sweep, s.study);
  sweep->add_option("--out", s.study.out, "Output folder: <knob>=<value>/ per value, sweep.md")
      ->required();
}

const RegisterCommand sweep_registration(
    11, "sim", "sweep",
    "Run the matrix once per value of one knob (a profile field, the KV capacity, a workload "
    "scale) and tabulate throughput, prefix hits, preemptions and waits per value",
    declare_sweep_options, sim_sweep);

void declare_report_options(CLI::App* report, ReportCliOptions& r) {
  report->add_option("--concurrency,-c", r.study.concurrency,
                     "Comma-separated concurrencies (default: 32,64,128)");
  report->add_option("--seeds", r.study.seeds, "Comma-separated workload seeds (default: 1,2,3)");
  report->add_option("--doc", r.doc, "Markdown report to write")->capture_default_str();
  report
      ->add_option("--low-load", r.low_load, "Concurrency of the low-load baseline runs (0: none)")
      ->capture_default_str()
      ->check(kNonNegativeNumber);
  report->add_flag("--no-sensitivity", r.no_sensitivity, "Skip the sensitivity sweeps");
  report->add_flag("--keep-sweeps", r.keep_sweeps,
                   "Keep the sensitivity sweeps' run folders (<out>/sensitivity, ~2.5 GB)");
  add_study_options(report, r.study);
  report->add_option("--out", r.study.out, "Folder for the run folders")
      ->default_val("runs/fidelity")
      ->capture_default_str();
}

const RegisterCommand report_registration(
    11, "sim", "report",
    "Run the calibrated matrix (seeds 1-3 at C = 32, 64, 128), a low-load baseline and the "
    "sensitivity sweeps, and write docs/fidelity.md: calibration, residuals against the "
    "reference, predictions with their spread, mechanisms",
    declare_report_options, sim_report);

}  // namespace
}  // namespace agentsched::cli
