// `agentsched analyze latency RUN [--json]`: TTFT, E2E and TPOT per arrival stage, as serving
// benchmarks report them (analysis/request_latency.h); `analyze tasks RUN...`: task completion
// time (analysis/task_time.h).
#include <fmt/format.h>

#include <boost/json.hpp>
#include <initializer_list>
#include <utility>

#include "analysis/report_json.h"
#include "analysis/request_latency.h"
#include "analysis/task_time.h"
#include "cli/analyze_common.h"
#include "cli/command_registry.h"
#include "cli/options.h"

namespace agentsched::cli {
namespace {

// o[key] = the field of `figures` (null when not finite) for each (key, field) of `fields`.
template <typename Figures>
void put_numbers(boost::json::object& o, const Figures& figures,
                 std::initializer_list<std::pair<const char*, double Figures::*>> fields) {
  for (const auto& [key, field] : fields) o[key] = analysis::json_number(figures.*field);
}

void run(const std::string& run_dir, bool as_json) {
  auto report = analysis::analyze_request_latency(run_dir);
  if (!report) throw CommandFailure{report.error().message};
  if (as_json) {
    boost::json::object root;
    root["run"] = run_dir;
    root["arrivals"] = report->arrivals.empty() ? boost::json::value(nullptr)
                                                : boost::json::value(report->arrivals);
    boost::json::array stages;
    for (const auto& s : report->stages) {
      boost::json::object o;
      o["stage"] = s.stage;
      o["start_s"] = s.start_s;
      o["end_s"] = s.end_s;
      o["requests"] = s.requests;
      using analysis::StageLatency;
      put_numbers(o, s,
                  {{"offered_rate", &StageLatency::offered_rate},
                   {"achieved_rate", &StageLatency::achieved_rate},
                   {"ttft_mean_ms", &StageLatency::ttft_mean_ms},
                   {"ttft_p90_ms", &StageLatency::ttft_p90_ms},
                   {"ttft_p99_ms", &StageLatency::ttft_p99_ms},
                   {"e2e_mean_ms", &StageLatency::e2e_mean_ms},
                   {"e2e_p90_ms", &StageLatency::e2e_p90_ms},
                   {"e2e_p99_ms", &StageLatency::e2e_p99_ms},
                   {"tpot_mean_ms", &StageLatency::tpot_mean_ms}});
      stages.push_back(std::move(o));
    }
    root["stages"] = std::move(stages);
    fmt::print("{}\n", analysis::pretty_json(root));
    return;
  }
  fmt::print("{}: {}\n", run_dir,
             report->arrivals.empty() ? "closed loop (one stage)"
                                      : "open-loop stages " + report->arrivals);
  fmt::print("{:>5} {:>14} {:>8} {:>8} {:>8} | {:>21} | {:>24} | {:>6}\n", "stage", "seconds",
             "requests", "offered", "achieved", "TTFT mean/p90/p99 ms", "E2E mean/p90/p99 ms",
             "TPOT");
  for (const auto& s : report->stages)
    fmt::print(
        "{:>5} {:>6.0f}-{:<7.0f} {:>8} {:>8.2f} {:>8.2f} | {:>6.1f} {:>6.1f} {:>7.1f} | "
        "{:>7.0f} {:>7.0f} {:>8.0f} | {:>6.2f}\n",
        s.stage, s.start_s, s.end_s, s.requests, s.offered_rate, s.achieved_rate, s.ttft_mean_ms,
        s.ttft_p90_ms, s.ttft_p99_ms, s.e2e_mean_ms, s.e2e_p90_ms, s.e2e_p99_ms, s.tpot_mean_ms);
}

void run_tasks(const std::vector<std::string>& runs, double threshold, bool as_json) {
  // As the other analyze commands: a glob's stray files are skipped with a warning, a missing
  // folder is an error naming it.
  const analyze_common::RunSelection selection = analyze_common::select_runs(runs);
  if (!selection.errors.empty())
    throw CommandFailure{fmt::format("{} of {} run(s) could not be read", selection.errors.size(),
                                     selection.runs.size() + selection.errors.size())};
  boost::json::array out;
  if (!as_json)
    fmt::print("{:<40} {:>5} {:>6} | {:>34} | {:>34} | {:>22}\n", "run", "ok", "failed",
               "whole run: p50 / p90 / p99 / max s", "in the window: p50 / p90 / p99 / max s",
               "llm_call but first p99 s");
  for (const auto& named : selection.runs) {
    const std::string run = named.dir.string();
    auto r = analysis::analyze_task_times(named.dir, threshold);
    if (!r) throw CommandFailure{r.error().message};
    auto figures = [](const analysis::TaskTimeStats& s) {
      boost::json::object o;
      o["tasks"] = s.n;
      using analysis::TaskTimeStats;
      put_numbers(o, s,
                  {{"mean_s", &TaskTimeStats::mean_s},
                   {"p50_s", &TaskTimeStats::p50_s},
                   {"p90_s", &TaskTimeStats::p90_s},
                   {"p99_s", &TaskTimeStats::p99_s},
                   {"max_s", &TaskTimeStats::max_s}});
      return o;
    };
    if (as_json) {
      boost::json::object o;
      o["run"] = run;
      o["failed"] = r->failed;
      o["unmeasured"] = r->unmeasured;
      o["whole_run"] = figures(r->whole_run);
      o["window"] =
          r->has_window ? boost::json::value(figures(r->window)) : boost::json::value(nullptr);
      // llm_call seconds over every call but each task's first (analysis/task_time.h).
      boost::json::object later;
      later["whole_run"] = figures(r->later_calls);
      later["window"] = r->has_window ? boost::json::value(figures(r->later_calls_window))
                                      : boost::json::value(nullptr);
      o["llm_call_but_first"] = std::move(later);
      out.push_back(std::move(o));
      continue;
    }
    auto line = [](const analysis::TaskTimeStats& s) {
      return fmt::format("{:>7.0f} {:>7.0f} {:>7.0f} {:>8.0f}", s.p50_s, s.p90_s, s.p99_s, s.max_s);
    };
    fmt::print("{:<40} {:>5} {:>6} | {:>34} | {:>34} | {:>22.1f}\n", run, r->whole_run.n, r->failed,
               line(r->whole_run), r->has_window ? line(r->window) : std::string("no window"),
               r->later_calls.p99_s);
  }
  if (as_json) fmt::print("{}\n", analysis::pretty_json(out));
}

// After `analyze` itself (order 50) exists.
const RegisterCommand registration(51, [](CLI::App& root) {
  CLI::App* analyze = root.get_subcommand("analyze");
  auto dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* cmd = analyze->add_subcommand(
      "latency",
      "Per arrival stage: TTFT, E2E and TPOT (mean, p90, p99), requests, offered and achieved "
      "rates, from a simulated run's agentsched/timeline.csv");
  cmd->add_option("run", *dir, "Run folder")->required();
  cmd->add_flag("--json", *as_json, "Print JSON (one object per stage)");
  cmd->callback([dir, as_json] { run(*dir, *as_json); });

  auto runs = std::make_shared<std::vector<std::string>>();
  auto tasks_json = std::make_shared<bool>(false);
  auto threshold = std::make_shared<double>(70);
  auto* tasks = analyze->add_subcommand(
      "tasks",
      "Task completion time per run (first request to FINISHED SIMULATION, holds and waits "
      "included): p50, p90, p99 and max over the whole run and in the active window, from "
      "driver.log alone");
  tasks->add_option("runs", *runs, "Run folders")->required();
  add_threshold_option(tasks, *threshold);
  tasks->add_flag("--json", *tasks_json, "Print JSON");
  tasks->callback([runs, threshold, tasks_json] { run_tasks(*runs, *threshold, *tasks_json); });
});

}  // namespace
}  // namespace agentsched::cli
