#pragma once
// What the simulating commands that run many cells share for their output (sim matrix, sim
// sweep, sim report, sim limit): the output folder, the finished runs among the cells, and
// report.html.
#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "analysis/html_report.h"
#include "analysis/matrix_summary.h"
#include "cli/command_registry.h"
#include "sim/matrix.h"

namespace agentsched::cli {

// Creates `dir` (and its parents); a failure is the command's.
inline void make_output_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    throw CommandFailure{fmt::format("cannot create output folder '{}': {}", dir.string(),
                                     ec ? ec.message() : "not a directory")};
}

// The cells that finished, as runs to summarise; each failed one is printed and counted in
// `failures`.
inline std::vector<analysis::MatrixRun> finished_runs(const std::vector<MatrixCellOutcome>& cells,
                                                      int& failures) {
  std::vector<analysis::MatrixRun> runs;
  for (const auto& out : cells) {
    if (!out.ok) {
      ++failures;
      fmt::print(stderr, "run {} failed: {} (its folder is incomplete)\n", out.cell.dir.string(),
                 out.error);
      continue;
    }
    runs.push_back({out.cell.system.name, out.cell.concurrency, out.cell.seed, out.cell.dir});
  }
  return runs;
}

// <out>/report.html of `summary` (analysis/html_report.h); a failure costs the page, not the
// runs: it is a warning, and false.
inline bool write_report_page(const analysis::MatrixSummary& summary,
                              const analysis::HtmlReportInput& input,
                              const std::filesystem::path& out) {
  std::string problem;
  if (auto page = analysis::collect_matrix_report(summary, input); !page)
    problem = page.error().message;
  else if (!analysis::write_html_report(*page, out / "report.html"))
    problem = "cannot write " + (out / "report.html").string();
  else
    return true;
  fmt::print(stderr, "warning: report.html not written: {}\n", problem);
  return false;
}

// The same for `runs`, summarised first with the active-window threshold `threshold_percent`.
inline bool write_report_page(const std::vector<analysis::MatrixRun>& runs,
                              double threshold_percent, const analysis::HtmlReportInput& input,
                              const std::filesystem::path& out) {
  auto summary = analysis::summarize_matrix(runs, threshold_percent);
  if (summary) return write_report_page(*summary, input, out);
  fmt::print(stderr, "warning: report.html not written: {}\n", summary.error().message);
  return false;
}

}  // namespace agentsched::cli
