// `agentsched analyze latency RUN [--json]`: TTFT, E2E and TPOT per arrival stage, as serving
// benchmarks report them (analysis/request_latency.h).
#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>

#include "analysis/report_json.h"
#include "analysis/request_latency.h"
#include "cli/command_registry.h"

namespace agentsched::cli {
namespace {

boost::json::value number_or_null(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
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
      o["offered_rate"] = number_or_null(s.offered_rate);
      o["achieved_rate"] = number_or_null(s.achieved_rate);
      o["ttft_mean_ms"] = number_or_null(s.ttft_mean_ms);
      o["ttft_p90_ms"] = number_or_null(s.ttft_p90_ms);
      o["ttft_p99_ms"] = number_or_null(s.ttft_p99_ms);
      o["e2e_mean_ms"] = number_or_null(s.e2e_mean_ms);
      o["e2e_p90_ms"] = number_or_null(s.e2e_p90_ms);
      o["e2e_p99_ms"] = number_or_null(s.e2e_p99_ms);
      o["tpot_mean_ms"] = number_or_null(s.tpot_mean_ms);
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
});

}  // namespace
}  // namespace agentsched::cli
