// `agentsched analyze report [--out FILE] RUN...`: report.html (analysis/html_report.h) for any
// set of run folders -- agentsched's and the reference study's alike -- with the comparison
// tables of `analyze compare` / `sim matrix`, the charts and a section per run.
#include <fmt/format.h>

#include <filesystem>
#include <set>
#include <tuple>

#include "analysis/compare.h"
#include "analysis/html_report.h"
#include "analysis/matrix_summary.h"
#include "analysis/window.h"
#include "cli/command_registry.h"
#include "cli/options.h"
#include "record/run_layout.h"

namespace agentsched::cli {
namespace {

namespace fs = std::filesystem;

struct ReportOptions {
  std::vector<std::string> runs;
  std::string out = "report.html";
  double threshold = analysis::kDefaultThresholdPercent;
};

void run_report(const ReportOptions& o) {
  std::vector<analysis::MatrixRun> runs;
  std::vector<std::string> names;
  std::set<std::tuple<std::string, int, std::uint64_t>> cells;
  for (const auto& argument : o.runs) {
    const analysis::NamedRun run = analysis::parse_named_run(argument);
    const bool named = argument.find('=') != std::string::npos && argument.front() != '=';
    std::error_code ec;
    if (!fs::exists(run.dir, ec))
      throw CommandFailure{fmt::format("{}: no such folder: {}", run.name, run.dir.string())};
    const bool is_run =
        fs::is_directory(run.dir, ec) && (fs::exists(run_layout::kv_csv(run.dir), ec) ||
                                          fs::exists(run_layout::driver_log(run.dir), ec));
    if (!is_run) {
      // A glob such as runs/matrix/* brings summary.md and the SVGs too; a run named NAME=PATH
      // is never skipped.
      if (named)
        throw CommandFailure{fmt::format("{}: not a run folder: {}", run.name, run.dir.string())};
      fmt::print(stderr, "warning: skipping {}: not a run folder\n", run.dir.string());
      continue;
    }
    const auto parts = analysis::split_run_name(run.name);
    int concurrency = parts.concurrency.value_or(0);
    if (!parts.concurrency)
      if (auto window = analysis::analyze_window(run.dir, o.threshold);
          window && window->max_concurrency)
        concurrency = *window->max_concurrency;
    const std::uint64_t seed = parts.seed.value_or(0);
    if (!cells.insert({parts.system, concurrency, seed}).second)
      throw CommandFailure{fmt::format(
          "{}: a second run of system {}, concurrency {}, seed {}: name the runs NAME=PATH with "
          "distinct names (e.g. baseline_c32_s2)",
          run.name, parts.system, concurrency, seed)};
    runs.push_back({parts.system, concurrency, seed, run.dir});
    names.push_back(run.name);
  }
  if (runs.empty()) throw CommandFailure{"no run folder among the arguments"};
  auto summary = analysis::summarize_matrix(runs, o.threshold);
  if (!summary) throw CommandFailure{summary.error().message};
  analysis::HtmlReportInput input;
  input.title = "Comparison of " + std::to_string(runs.size()) + " run(s)";
  input.subtitle = "agentsched analyze report";
  input.run_names = names;
  auto report = analysis::collect_matrix_report(*summary, input);
  if (!report) throw CommandFailure{report.error().message};
  if (auto st = analysis::write_html_report(*report, o.out); !st)
    throw CommandFailure{st.error().message};
  fmt::print("{}\n", o.out);
}

void declare_options(CLI::App* cmd, ReportOptions& options) {
  cmd->add_option("runs", options.runs, "Run folders: PATH or NAME=PATH")->required();
  cmd->add_option("--out", options.out, "The page to write")->capture_default_str();
  add_threshold_option(cmd, options.threshold);
}

// After `analyze` itself (order 50) exists.
const RegisterCommand registration(
    52, "analyze", "report",
    "Write one self-contained HTML page (tables, charts, conditions and provenance, a section "
    "per run) for a set of run folders; prints its path",
    declare_options, run_report);

}  // namespace
}  // namespace agentsched::cli
