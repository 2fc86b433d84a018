#include "analysis/sweep_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "analysis/matrix_summary.h"
#include "analysis/spread.h"

namespace agentsched::analysis {

Result<LineChart> sweep_line_chart(const std::string& knob, double base_value,
                                   const std::vector<SweepPointRuns>& points,
                                   double threshold_percent) {
  // Per (system, C): one point per swept value, in each panel.
  struct Key {
    std::string system;
    int concurrency;
    bool operator<(const Key& o) const {
      return system != o.system ? system < o.system : concurrency < o.concurrency;
    }
  };
  std::vector<Key> order;  // first appearance: systems as the sweep ran them
  std::map<Key, std::vector<LinePoint>> tasks, steps, whole;
  std::size_t max_seeds = 0;
  for (const auto& point : points) {
    auto summary = summarize_matrix(point.runs, threshold_percent);
    if (!summary) return summary.error();
    std::map<Key, std::vector<const MatrixRunFigures*>> cells;
    for (const auto& f : summary->runs) {
      if (!f.ok) continue;
      const Key key{f.run.system, f.run.concurrency};
      if (std::none_of(order.begin(), order.end(), [&](const Key& k) {
            return k.system == key.system && k.concurrency == key.concurrency;
          }))
        order.push_back(key);
      cells[key].push_back(&f);
    }
    for (const auto& [key, runs] : cells) {
      std::vector<double> t, s, w;
      for (const MatrixRunFigures* f : runs) {
        t.push_back(f->tasks_per_min);
        s.push_back(f->steps_per_s);
        w.push_back(f->whole_tasks_per_min);
      }
      max_seeds = std::max(max_seeds, runs.size());
      auto add = [&](std::map<Key, std::vector<LinePoint>>& panel, const std::vector<double>& v) {
        const Spread sp = spread_of(v);
        panel[key].push_back(
            {point.value, sp.mean, sp.n > 1 ? sp.min : NAN, sp.n > 1 ? sp.max : NAN});
      };
      add(tasks, t);
      add(steps, s);
      add(whole, w);
    }
  }
  if (order.empty()) return make_error("no finished sweep run to plot");
  std::vector<std::string> systems;
  std::vector<int> concurrencies;
  for (const auto& k : order) {
    if (std::find(systems.begin(), systems.end(), k.system) == systems.end())
      systems.push_back(k.system);
    if (std::find(concurrencies.begin(), concurrencies.end(), k.concurrency) == concurrencies.end())
      concurrencies.push_back(k.concurrency);
  }
  auto name = [&](const Key& k) {
    return concurrencies.size() > 1 ? fmt::format("{}, C = {}", k.system, k.concurrency) : k.system;
  };
  LineChart chart;
  chart.title = fmt::format(
      "Sweep of {}{}", knob,
      concurrencies.size() == 1 ? fmt::format(" at C = {}", concurrencies.front()) : std::string());
  chart.subtitle =
      fmt::format("active window: KV usage > {:g}%{}", threshold_percent,
                  max_seeds > 1 ? fmt::format("; points: mean over {} seeds, error bars: "
                                              "min-max",
                                              max_seeds)
                                : std::string());
  chart.x_label = knob;
  chart.marker_x = base_value;
  chart.marker_label = fmt::format("base {:g}", base_value);
  auto panel = [&](const std::string& label, std::map<Key, std::vector<LinePoint>>& data) {
    LinePanel p;
    p.y_label = label;
    for (const auto& k : order) p.series.push_back({name(k), std::move(data[k]), false, {}});
    chart.panels.push_back(std::move(p));
  };
  panel("tasks/min, active window", tasks);
  panel("steps/s, active window", steps);
  panel("tasks/min, whole run", whole);
  return chart;
}

Status write_sweep_plot(const std::string& knob, double base_value,
                        const std::vector<SweepPointRuns>& points, double threshold_percent,
                        const std::filesystem::path& dir) {
  auto chart = sweep_line_chart(knob, base_value, points, threshold_percent);
  if (!chart) return chart.error();
  return write_line_chart(*chart, dir / "sweep.svg");
}

}  // namespace agentsched::analysis
