#pragma once
// What the `analyze` subcommands share (analyze_cmd.cc, analyze_plot_cmd.cc,
// analyze_latency_cmd.cc): the common options, warnings about skipped input, the JSON and
// failure epilogue, and the choice of run folders among the arguments.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/compare.h"
#include "analysis/report_json.h"
#include "analysis/window.h"
#include "cli/command_registry.h"
#include "core/time_format.h"
#include "record/run_layout.h"

namespace agentsched::cli::analyze_common {

using namespace agentsched::analysis;
namespace json = boost::json;

struct CommonOptions {
  double threshold = kDefaultThresholdPercent;
  bool json = false;
  std::vector<std::string> runs;
};

inline void add_common(CLI::App* command, CommonOptions& options, const char* runs_help,
                       const char* json_help = "Print JSON instead of tables") {
  command
      ->add_option("--threshold", options.threshold,
                   "KV usage in percent; the active window spans the samples strictly above it")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  command->add_flag("--json", options.json, json_help);
  command->add_option("runs", options.runs, runs_help)->required();
}

// A subcommand over run folders with the common options; `run` is called with them.
template <typename Run>
CLI::App* add_runs_subcommand(CLI::App* parent, const std::string& name, const std::string& help,
                              const char* runs_help, Run run) {
  auto options = std::make_shared<CommonOptions>();
  CLI::App* command = parent->add_subcommand(name, help);
  add_common(command, *options, runs_help);
  command->callback([options, run] { run(*options); });
  return command;
}

inline std::string when(double unix_seconds) {
  return format_datetime_ms(unix_seconds);
}
inline std::string when(const std::optional<double>& t) {
  return t ? when(*t) : "-";
}
inline std::string fixed(double value, int decimals = 2) {
  return std::isfinite(value) ? fmt::format("{:.{}f}", value, decimals) : "n/a";
}

inline void warn(const std::string& message) {
  fmt::print(stderr, "agentsched: warning: {}\n", message);
}
inline void report_error(const std::string& message) {
  fmt::print(stderr, "agentsched: error: {}\n", message);
}

inline std::string line_list(const std::vector<std::size_t>& numbers) {
  return fmt::format("{}", fmt::join(numbers, ", "));
}

// Garbled lines and rows are skipped, never fatal: say how many, and where the first are.
inline void warn_about_inputs(const std::string& name, const LogDiagnostics& log) {
  if (log.garbled_lines > 0) {
    warn(fmt::format("{}: {}: skipped {} garbled line(s) (first at line {})", name,
                     log.file.string(), log.garbled_lines,
                     line_list(log.first_garbled_line_numbers)));
  }
}
inline void warn_about_inputs(const std::string& name, const KvDiagnostics& kv) {
  if (kv.garbled_rows > 0) {
    warn(fmt::format("{}: {}: skipped {} garbled row(s) (first at line {})", name, kv.file.string(),
                     kv.garbled_rows, line_list(kv.first_garbled_line_numbers)));
  }
}

// Finishes a multi-run command: prints JSON if asked, then fails when any run failed.
inline void finish(const CommonOptions& options, json::array& json_runs, std::size_t failures,
                   std::size_t total) {
  if (options.json) {
    json::object out{{"threshold_percent", options.threshold}, {"runs", std::move(json_runs)}};
    std::fputs(pretty_json(out).c_str(), stdout);
  }
  if (failures > 0) {
    std::fflush(stdout);
    throw CommandFailure{fmt::format("{} of {} run(s) could not be analysed", failures, total)};
  }
}

inline json::object error_entry(const NamedRun& run, const std::string& message) {
  return {{"name", run.name}, {"run_dir", run.dir.string()}, {"error", message}};
}

// The run folders among the arguments. A shell glob such as runs/matrix/* also brings the
// matrix's summary.md and SVGs: what is not a run folder is skipped with a warning. A path
// that does not exist is an error, reported as such (not as a missing CSV inside it).
struct RunSelection {
  std::vector<NamedRun> runs;
  std::vector<std::pair<NamedRun, std::string>> errors;  // the run and why
};

inline RunSelection select_runs(const std::vector<std::string>& arguments) {
  RunSelection selection;
  for (const auto& argument : arguments) {
    const NamedRun run = parse_named_run(argument);
    const bool named = run.dir.string() != argument;
    std::error_code ec;
    const auto status = std::filesystem::status(run.dir, ec);
    if (!std::filesystem::exists(status)) {
      selection.errors.emplace_back(run, "no such folder: " + run.dir.string());
      continue;
    }
    if (!std::filesystem::is_directory(status)) {
      if (named)
        selection.errors.emplace_back(run, "not a folder: " + run.dir.string());
      else
        warn(fmt::format("skipping {}: not a run folder (a file)", run.dir.string()));
      continue;
    }
    if (!std::filesystem::exists(run_layout::kv_csv(run.dir), ec) &&
        !std::filesystem::exists(run_layout::driver_log(run.dir), ec)) {
      const std::string why = fmt::format("not a run folder (no {} and no {})",
                                          run_layout::kv_csv(run.dir).filename().string(),
                                          run_layout::driver_log(run.dir).filename().string());
      if (named)
        selection.errors.emplace_back(run, why);
      else
        warn(fmt::format("skipping {}: {}", run.dir.string(), why));
      continue;
    }
    selection.runs.push_back(run);
  }
  for (const auto& [run, why] : selection.errors) report_error(run.name + ": " + why);
  if (selection.runs.empty() && selection.errors.empty())
    throw CommandFailure{"no run folder among the arguments"};
  return selection;
}

// What the per-run loop leaves for finish(): one JSON entry per run, failures counted.
struct RunLoop {
  json::array json_runs;
  std::size_t failures = 0;
  std::size_t total = 0;
};

// The loop of the multi-run subcommands, once: selects the run folders among the
// arguments, runs `analyze(run)` (a Result) on each; a folder that is not a run or fails to
// analyse is reported, counted and kept as a JSON error entry. For the others,
// `each(run, report, failed)` prints what the subcommand prints and returns the run's JSON
// entry (setting `failed` counts the run as a failure without dropping its entry).
template <typename Analyze, typename Each>
RunLoop for_each_run(const CommonOptions& options, Analyze&& analyze, Each&& each) {
  RunLoop loop;
  const RunSelection selection = select_runs(options.runs);
  loop.total = selection.runs.size() + selection.errors.size();
  for (const auto& [run, why] : selection.errors) {
    ++loop.failures;
    loop.json_runs.push_back(error_entry(run, why));
  }
  for (const NamedRun& run : selection.runs) {
    auto report = analyze(run);
    if (!report) {
      ++loop.failures;
      report_error(fmt::format("{}: {}", run.name, report.error().message));
      loop.json_runs.push_back(error_entry(run, report.error().message));
      continue;
    }
    bool failed = false;
    json::object entry = each(run, *report, failed);
    if (failed) ++loop.failures;
    loop.json_runs.push_back(std::move(entry));
  }
  return loop;
}

inline void finish(const CommonOptions& options, RunLoop& loop) {
  finish(options, loop.json_runs, loop.failures, loop.total);
}

}  // namespace agentsched::cli::analyze_common
