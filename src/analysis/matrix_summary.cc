#include "analysis/matrix_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "analysis/latency.h"
#include "analysis/plot.h"
#include "analysis/report_json.h"
#include "analysis/spread.h"
#include "analysis/window.h"

namespace agentsched::analysis {

namespace {

std::string cell(const Spread& s, int decimals, bool with_spread) {
  if (s.n == 0) return "n/a";
  if (!with_spread || s.n < 2) return fmt::format("{:.{}f}", s.mean, decimals);
  return fmt::format("{:.{}f} ({:.{}f}-{:.{}f})", s.mean, decimals, s.min, decimals, s.max,
                     decimals);
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
    f.window_start_unix = window->window_start_unix;
    f.window_end_unix = window->window_end_unix;
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
    f.latency_whole_run = !window->has_window;
    if (latency) {
      f.llm_p50_ms = latency->llm_call.p50;
      f.llm_p90_ms = latency->llm_call.p90;
      f.llm_p99_ms = latency->llm_call.p99;
    }
    summary.runs.push_back(std::move(f));
  }

  // Rows without a window rate somewhere fall back to whole-run figures for every run.
  for (const auto& f : summary.runs) {
    if (!f.ok || (std::isfinite(f.tasks_per_min) && std::isfinite(f.steps_per_s))) continue;
    if (!summary.row_whole_run(f.run.concurrency))
      summary.whole_run_rows.push_back(f.run.concurrency);
  }
  for (auto& f : summary.runs) {
    if (!f.ok || !summary.row_whole_run(f.run.concurrency)) continue;
    if (f.latency_whole_run) {
      f.whole_llm_p50_ms = f.llm_p50_ms;
      f.whole_llm_p90_ms = f.llm_p90_ms;
      f.whole_llm_p99_ms = f.llm_p99_ms;
    } else if (auto whole =
                   analyze_latencies(f.run.dir, threshold_percent, LatencyScope::kWholeRun)) {
      f.whole_llm_p50_ms = whole->llm_call.p50;
      f.whole_llm_p90_ms = whole->llm_call.p90;
      f.whole_llm_p99_ms = whole->llm_call.p99;
    }
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
  const bool all_whole =
      !concurrencies.empty() && summary.whole_run_rows.size() == concurrencies.size();
  auto collect = [&](const std::string& system, int c, auto field) {
    std::vector<double> v;
    for (const auto& f : summary.runs)
      if (f.ok && f.run.system == system && f.run.concurrency == c) v.push_back(field(f));
    return spread_of(v);
  };
  std::string md;
  // `window_field` is used in rows with a window rate everywhere; `whole_field` (when given) in
  // the other rows, marked "(whole run)".
  auto table = [&](const std::string& title, auto window_field, auto whole_field, bool fallback,
                   int decimals, bool higher_better) {
    const bool marks = fallback && !summary.whole_run_rows.empty() && !all_whole;
    // The title keeps its "active window" prefix, which readers of summary.md look for.
    md +=
        fmt::format("\n### {}\n\n| C |",
                    fallback && all_whole ? title + " (no run has one: whole-run figures)" : title);
    for (const auto& s : systems) md += fmt::format(" {} |", s);
    md += " best |\n|---:|";
    for (std::size_t i = 0; i < systems.size(); ++i) md += "---:|";
    md += "---|\n";
    for (int c : concurrencies) {
      const bool whole = fallback && summary.row_whole_run(c);
      md += whole && marks ? fmt::format("| {} (whole run) |", c) : fmt::format("| {} |", c);
      std::vector<Candidate> candidates;
      for (const auto& s : systems) {
        const Spread sp = whole ? collect(s, c, whole_field) : collect(s, c, window_field);
        md += fmt::format(" {} |", cell(sp, decimals, many_seeds));
        candidates.push_back({s, sp});
      }
      md += fmt::format(" {} |\n", decide_winner(candidates, higher_better, decimals).text("n/a"));
    }
    if (marks)
      md +=
          "\n(whole run): some run of the row has no active window, so the row shows whole-run "
          "figures for every run\n";
  };
  const auto whole_tasks = [](const MatrixRunFigures& f) { return f.whole_tasks_per_min; };
  const auto whole_steps = [](const MatrixRunFigures& f) { return f.whole_steps_per_s; };
  md += fmt::format("## Simulated comparison (active window: KV usage > {:g}%{})\n",
                    threshold_percent,
                    many_seeds ? fmt::format(", mean (min-max) over {} seeds", seeds.size()) : "");
  md +=
      "\nbest: a system wins only when its value beats the others and its seed range clears "
      "theirs; otherwise \"tie\" (docs/analysis.md)\n";
  table(
      "tasks/min, active window", [](const MatrixRunFigures& f) { return f.tasks_per_min; },
      whole_tasks, true, 2, true);
  table(
      "steps/s, active window", [](const MatrixRunFigures& f) { return f.steps_per_s; },
      whole_steps, true, 2, true);
  table("tasks/min, whole run", whole_tasks, whole_tasks, false, 2, true);
  table("steps/s, whole run", whole_steps, whole_steps, false, 2, true);
  table(
      "llm_call p50 (s), active window",
      [](const MatrixRunFigures& f) { return f.llm_p50_ms / 1e3; },
      [](const MatrixRunFigures& f) { return f.whole_llm_p50_ms / 1e3; }, true, 1, false);
  table(
      "llm_call p90 (s), active window",
      [](const MatrixRunFigures& f) { return f.llm_p90_ms / 1e3; },
      [](const MatrixRunFigures& f) { return f.whole_llm_p90_ms / 1e3; }, true, 1, false);
  table(
      "llm_call p99 (s), active window",
      [](const MatrixRunFigures& f) { return f.llm_p99_ms / 1e3; },
      [](const MatrixRunFigures& f) { return f.whole_llm_p99_ms / 1e3; }, true, 1, false);
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

bool MatrixSummary::row_whole_run(int concurrency) const {
  return std::find(whole_run_rows.begin(), whole_run_rows.end(), concurrency) !=
         whole_run_rows.end();
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
    o["window_s"] = json_number(f.window_s);
    o["tasks_per_min"] = json_number(f.tasks_per_min);
    o["steps_per_s"] = json_number(f.steps_per_s);
    o["whole_run_tasks_per_min"] = json_number(f.whole_tasks_per_min);
    o["whole_run_steps_per_s"] = json_number(f.whole_steps_per_s);
    o["elapsed_s"] = json_number(f.elapsed_s);
    o["tasks_ok"] = f.tasks_ok;
    o["tasks_error"] = f.tasks_error;
    o["llm_call_p50_ms"] = json_number(f.llm_p50_ms);
    o["llm_call_p90_ms"] = json_number(f.llm_p90_ms);
    o["llm_call_p99_ms"] = json_number(f.llm_p99_ms);
    o["llm_call_scope"] = f.latency_whole_run ? "whole_run" : "active_window";
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

Result<MatrixPlots> render_matrix_plots(const MatrixSummary& summary) {
  std::vector<std::string> systems;
  std::vector<int> concurrencies;
  std::vector<std::uint64_t> seeds;
  for (const auto& f : summary.runs) {
    if (!f.ok) continue;
    if (std::find(systems.begin(), systems.end(), f.run.system) == systems.end())
      systems.push_back(f.run.system);
    if (std::find(concurrencies.begin(), concurrencies.end(), f.run.concurrency) ==
        concurrencies.end())
      concurrencies.push_back(f.run.concurrency);
    if (std::find(seeds.begin(), seeds.end(), f.run.seed) == seeds.end())
      seeds.push_back(f.run.seed);
  }
  if (systems.empty()) return make_error("no finished run to plot");
  std::sort(concurrencies.begin(), concurrencies.end());
  std::sort(seeds.begin(), seeds.end());
  const bool many_seeds = seeds.size() > 1;

  // KV grid: systems down, concurrency across, one line per seed.
  std::vector<KvPlotRun> kv_runs;
  for (const auto& system : systems)
    for (int c : concurrencies)
      for (auto seed : seeds)
        for (const auto& f : summary.runs)
          if (f.ok && f.run.system == system && f.run.concurrency == c && f.run.seed == seed)
            kv_runs.push_back({system, fmt::format("C = {}", c),
                               many_seeds ? fmt::format("seed {}", seed) : std::string(),
                               f.run.dir});
  KvPlotOptions kv_options;
  kv_options.threshold_percent = summary.threshold_percent;
  kv_options.title = "KV cache usage by system (rows) and concurrency (columns)";
  MatrixPlots plots;
  if (auto kv = render_kv_grid(kv_runs, kv_options); kv)
    plots.kv_usage = std::move(*kv);
  else
    return make_error("KV plot: " + kv.error().message);

  // Throughput: the means of the summary's tables, min-max over seeds.
  std::vector<ThroughputRow> rows;
  std::vector<LatencyBox> boxes;
  for (int c : concurrencies) {
    const bool whole = summary.row_whole_run(c);
    for (const auto& system : systems) {
      std::vector<double> tasks, steps;
      LatencyBox box;
      box.system = system;
      box.concurrency = c;
      box.whole_run = whole;
      box.runs = 0;
      for (const auto& f : summary.runs) {
        if (!f.ok || f.run.system != system || f.run.concurrency != c) continue;
        tasks.push_back(whole ? f.whole_tasks_per_min : f.tasks_per_min);
        steps.push_back(whole ? f.whole_steps_per_s : f.steps_per_s);
        const double start = whole ? -std::numeric_limits<double>::infinity() : f.window_start_unix;
        const double end = whole ? std::numeric_limits<double>::infinity() : f.window_end_unix;
        auto durations = read_llm_call_durations(f.run.dir, start, end);
        if (!durations) return make_error("latency plot: " + durations.error().message);
        box.durations_ms.insert(box.durations_ms.end(), durations->begin(), durations->end());
        ++box.runs;
      }
      if (tasks.empty()) continue;
      const Spread t = spread_of(tasks), s = spread_of(steps);
      rows.push_back(throughput_row(system, c, t, s, std::max(t.n, s.n), whole));
      boxes.push_back(std::move(box));
    }
  }
  if (auto chart = render_throughput_chart(rows); chart)
    plots.throughput = std::move(*chart);
  else
    return make_error("throughput chart: " + chart.error().message);
  const bool all_whole = summary.whole_run_rows.size() == concurrencies.size();
  const std::string latency_title =
      fmt::format("llm_call latency by concurrency, {}",
                  all_whole ? "whole run (no run has an active window)"
                  : summary.whole_run_rows.empty()
                      ? fmt::format("active window (KV > {:g}%)", summary.threshold_percent)
                      : "active window; (whole run) marks rows without one");
  if (auto chart = render_latency_plot(boxes, latency_title); chart)
    plots.latency = std::move(*chart);
  else
    return make_error("latency plot: " + chart.error().message);
  return plots;
}

Status write_matrix_plots(const MatrixSummary& summary, const std::filesystem::path& dir) {
  auto plots = render_matrix_plots(summary);
  if (!plots) return plots.error();
  for (const auto& [name, chart] :
       {std::pair{"kv_usage", &plots->kv_usage}, std::pair{"throughput", &plots->throughput},
        std::pair{"latency", &plots->latency}}) {
    for (const auto& [extension, text] :
         {std::pair{".svg", &chart->svg}, std::pair{".csv", &chart->csv}}) {
      const std::filesystem::path path = dir / (std::string(name) + extension);
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << *text;
      if (!out) return make_error(fmt::format("cannot write '{}'", path.string()));
    }
  }
  return Ok{};
}

}  // namespace agentsched::analysis
