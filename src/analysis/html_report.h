#pragma once
// report.html: one self-contained page to read an experiment (inline SVG and CSS; no script,
// no network, no external file), written beside every matrix, sweep and experiment and by
// `analyze report`. The page has the comparison tables (mean and spread over seeds, ties
// marked), the charts, the run conditions and provenance, and one section per run (KV usage
// over time with the active window shaded, llm_call and task completion distributions, the
// slowest calls).
//
// Two halves: render_html_report is pure (data in, page out; every text is escaped, since run
// names and command lines come from files), and collect_matrix_report reads run folders into
// that data with the same analyses the tables and `analyze` use.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/matrix_summary.h"
#include "core/result.h"

namespace agentsched::analysis {

struct HtmlKeyValue {
  std::string key;
  std::string value;
};

// A table as shown: cells are text. A cell starting with "tie" is marked as a tie, a row whose
// first cell holds "(whole run)" as a whole-run row; `verdict_column` (when >= 0) is the column
// naming the best system.
struct HtmlTable {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int verdict_column = -1;
  std::string note;  // under the table
};

struct HtmlFigure {
  std::string id;     // the figure's element id
  std::string title;  // caption
  std::string svg;    // a whole <svg> element, inlined as is (our own writers: already escaped)
  std::string note;
};

struct HtmlRunSection {
  std::string name;                 // the run's folder (or NAME=) name
  std::string error;                // not empty: the run could not be read, and only this is shown
  std::vector<HtmlKeyValue> facts;  // window, rates, task counts
  std::string kv_svg;               // KV usage over time, window shaded; empty: none
  std::vector<HtmlTable> tables;    // llm_call and task completion distributions, slowest calls
  std::vector<HtmlKeyValue> provenance;
};

struct HtmlReport {
  std::string title;
  std::string subtitle;
  std::vector<HtmlKeyValue> conditions;  // threshold, systems, seeds, command, commit, hashes
  std::vector<HtmlTable> comparison;
  std::vector<std::string> comparison_notes;
  std::vector<HtmlFigure> figures;
  std::vector<HtmlRunSection> runs;
  std::vector<std::string> notes;  // about the page itself (e.g. downsampled KV lines)
};

// &, <, >, " and ' as entities.
std::string escape_html(std::string_view text);

// The whole page. Section ids: "conditions", "comparison", "plots", "runs", and "run-<n>"
// (n = 1, 2, ... in order) for each run.
std::string render_html_report(const HtmlReport& report);

// The markdown tables of a summary (summary.md, sweep.md): each "### title" followed by a pipe
// table becomes a table; other non-empty lines outside tables are appended to `notes`. A
// column headed "best" is the verdict column.
std::vector<HtmlTable> tables_from_markdown(std::string_view markdown,
                                            std::vector<std::string>* notes);

// The page of a set of runs: the matrix summary's tables (or `summary_markdown` when not empty,
// e.g. a sweep's), its three charts plus `extra_figures`, and a section per run read from its
// folder. `title` and `subtitle` head the page; the conditions list starts with `conditions`.
struct HtmlReportInput {
  std::string title;
  std::string subtitle;
  std::vector<HtmlKeyValue> conditions;
  std::string summary_markdown;
  std::vector<HtmlFigure> extra_figures;
  bool matrix_charts = true;
  // Runs are named by their folder; by their path relative to this folder when it is set (a
  // sweep's runs share folder names across its points).
  std::filesystem::path run_names_relative_to;
  // One per summary run, in order, when not empty: the names given on a command line.
  std::vector<std::string> run_names;
};
Result<HtmlReport> collect_matrix_report(const MatrixSummary& summary,
                                         const HtmlReportInput& input);

// render_html_report to `path`.
Status write_html_report(const HtmlReport& report, const std::filesystem::path& path);

}  // namespace agentsched::analysis
