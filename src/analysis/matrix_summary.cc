#include "analysis/matrix_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "analysis/latency.h"
#include "analysis/plot.h"
#include "analysis/window.h"

namespace agentsched::analysis {

namespace {

struct Spread {
  double mean = NAN, min = NAN, max = NAN;
  std::size_t n = 0;
};

Spread spread(const std::vector<double>& v) {
  Spread s;
  std::vector<double> finite;
  for (double x : v)
    if (std::isfinite(x)) finite.push_back(x);
  s.n = finite.size();
  if (finite.empty()) return s;
  double sum = 0;
  for (double x : finite) sum += x;
  s.mean = sum / static_cast<double>(finite.size());
  s.min = *std::min_element(finite.begin(), finite.end());
  s.max = *std::max_element(finite.begin(), finite.end());
  return s;
}

std::string cell(const Spread& s, int decimals, bool with_spread) {
  if (s.n == 0) return "n/a";
  if (!with_spread || s.n < 2) return fmt::format("{:.{}f}", s.mean, decimals);
  return fmt::format("{:.{}f} ({:.{}f}-{:.{}f})", s.mean, decimals, s.min, decimals, s.max,
                     decimals);
}

boost::json::value num(double x) {
  if (!std::isfinite(x)) return nullptr;
  return x;
}

}  // namespace

Result<MatrixSummary> summarize_matrix(const std::vector<MatrixRun>& runs,
                                       double threshold_percent) {
  MatrixSummary summary;
  summary.threshold_percent = threshold_percent;
  for (const MatrixRun& run : runs) {
    MatrixRunFigures f;
    f.run = run;
    auto window = analyze_window(run.dir, threshold_percent);
    if (!window) {
      f.error = window.error().message;
      summary.runs.push_back(std::move(f));
      continue;
    }
    f.ok = true;
    f.has_window = window->has_window;
    f.window_s = window->window_seconds;
    f.tasks_per_min = window->has_window ? window->tasks_per_min : NAN;
    f.steps_per_s = window->has_window ? window->steps_per_s : NAN;
    if (window->whole_run) {
      f.elapsed_s = window->whole_run->elapsed_s;
      f.tasks_ok = window->whole_run->ok;
      f.tasks_error = window->whole_run->error;
      f.whole_tasks_per_min = window->whole_run->tasks_per_min;
      f.whole_steps_per_s =
          f.elapsed_s > 0 ? static_cast<double>(window->steps_total) / f.elapsed_s : NAN;
    }
    auto latency =
        window->has_window
            ? analyze_latencies_in(run.dir, window->window_start_unix, window->window_end_unix)
            : analyze_latencies(run.dir, threshold_percent, LatencyScope::kWholeRun);
    if (latency) {
      f.llm_p50_ms = latency->llm_call.p50;
      f.llm_p90_ms = latency->llm_call.p90;
      f.llm_p99_ms = latency->llm_call.p99;
    }
    summary.runs.push_back(std::move(f));
  }

  // Tables: rows = concurrency, columns = systems (in the order given), last column winner.
  std::vector<std::string> systems;
  std::set<int> concurrencies;
  std::set<std::uint64_t> seeds;
  for (const auto& f : summary.runs) {
    if (std::find(systems.begin(), systems.end(), f.run.system) == systems.end())
      systems.push_back(f.run.system);
    concurrencies.insert(f.run.concurrency);
    seeds.insert(f.run.seed);
  }
  const bool many_seeds = seeds.size() > 1;
  auto collect = [&](const std::string& system, int c, auto field) {
    std::vector<double> v;
    for (const auto& f : summary.runs)
      if (f.ok && f.run.system == system && f.run.concurrency == c) v.push_back(field(f));
    return spread(v);
  };
  std::string md;
  auto table = [&](const std::string& title, auto field, int decimals, bool higher_better) {
    md += fmt::format("\n### {}\n\n| C |", title);
    for (const auto& s : systems) md += fmt::format(" {} |", s);
    md += " best |\n|---:|";
    for (std::size_t i = 0; i < systems.size(); ++i) md += "---:|";
    md += "---|\n";
    for (int c : concurrencies) {
      md += fmt::format("| {} |", c);
      std::string best;
      double best_value = NAN;
      for (const auto& s : systems) {
        const Spread sp = collect(s, c, field);
        md += fmt::format(" {} |", cell(sp, decimals, many_seeds));
        if (sp.n && (std::isnan(best_value) ||
                     (higher_better ? sp.mean > best_value : sp.mean < best_value))) {
          best_value = sp.mean;
          best = s;
        }
      }
      md += fmt::format(" {} |\n", best.empty() ? "n/a" : best);
    }
  };
  md += fmt::format("## Simulated comparison (active window: KV usage > {:g}%{})\n",
                    threshold_percent,
                    many_seeds ? fmt::format(", mean (min-max) over {} seeds", seeds.size()) : "");
  table(
      "tasks/min, active window", [](const MatrixRunFigures& f) { return f.tasks_per_min; }, 2,
      true);
  table(
      "steps/s, active window", [](const MatrixRunFigures& f) { return f.steps_per_s; }, 2, true);
  table(
      "tasks/min, whole run", [](const MatrixRunFigures& f) { return f.whole_tasks_per_min; }, 2,
      true);
  table(
      "steps/s, whole run", [](const MatrixRunFigures& f) { return f.whole_steps_per_s; }, 2, true);
  table(
      "llm_call p50 (s), active window",
      [](const MatrixRunFigures& f) { return f.llm_p50_ms / 1e3; }, 1, false);
  table(
      "llm_call p90 (s), active window",
      [](const MatrixRunFigures& f) { return f.llm_p90_ms / 1e3; }, 1, false);
  table(
      "llm_call p99 (s), active window",
      [](const MatrixRunFigures& f) { return f.llm_p99_ms / 1e3; }, 1, false);
  for (const auto& f : summary.runs) {
    if (!f.ok)
      md += fmt::format("\nrun {} failed: {}\n", f.run.dir.string(), f.error);
    else if (!f.has_window)
      md += fmt::format("\nrun {}: no KV sample above {:g}%, no active window\n",
                        f.run.dir.filename().string(), threshold_percent);
  }
  summary.markdown = std::move(md);
  return summary;
}

Status write_matrix_summary(const MatrixSummary& summary, const std::filesystem::path& dir) {
  {
    std::ofstream out(dir / "summary.md");
    out << summary.markdown;
    if (!out) return make_error(fmt::format("cannot write '{}'", (dir / "summary.md").string()));
  }
  boost::json::array runs;
  for (const auto& f : summary.runs) {
    boost::json::object o;
    o["system"] = f.run.system;
    o["concurrency"] = f.run.concurrency;
    o["seed"] = f.run.seed;
    o["dir"] = f.run.dir.filename().string();
    o["ok"] = f.ok;
    if (!f.ok) o["error"] = f.error;
    o["has_window"] = f.has_window;
    o["window_s"] = num(f.window_s);
    o["tasks_per_min"] = num(f.tasks_per_min);
    o["steps_per_s"] = num(f.steps_per_s);
    o["whole_run_tasks_per_min"] = num(f.whole_tasks_per_min);
    o["whole_run_steps_per_s"] = num(f.whole_steps_per_s);
    o["elapsed_s"] = num(f.elapsed_s);
    o["tasks_ok"] = f.tasks_ok;
    o["tasks_error"] = f.tasks_error;
    o["llm_call_p50_ms"] = num(f.llm_p50_ms);
    o["llm_call_p90_ms"] = num(f.llm_p90_ms);
    o["llm_call_p99_ms"] = num(f.llm_p99_ms);
    runs.push_back(std::move(o));
  }
  boost::json::object root;
  root["threshold_percent"] = summary.threshold_percent;
  root["runs"] = std::move(runs);
  std::ofstream out(dir / "summary.json");
  out << boost::json::serialize(root) << '\n';
  if (!out) return make_error(fmt::format("cannot write '{}'", (dir / "summary.json").string()));
  return Ok{};
}

Status write_matrix_plots(const MatrixSummary& summary, const std::filesystem::path& dir) {
  std::vector<std::pair<std::string, std::filesystem::path>> kv_runs;
  std::vector<ThroughputRow> rows;
  for (const auto& f : summary.runs) {
    if (!f.ok) continue;
    kv_runs.emplace_back(f.run.dir.filename().string(), f.run.dir);
    ThroughputRow row;
    row.system = f.run.system;
    row.concurrency = f.run.concurrency;
    row.tasks_per_min = f.tasks_per_min;
    row.steps_per_s = f.steps_per_s;
    rows.push_back(row);
  }
  if (auto st = write_kv_plot(kv_runs, summary.threshold_percent, dir / "kv_usage.svg"); !st)
    return make_error("KV plot: " + st.error().message);
  if (auto st = write_throughput_chart(rows, dir / "throughput.svg"); !st)
    return make_error("throughput chart: " + st.error().message);
  return Ok{};
}

}  // namespace agentsched::analysis
