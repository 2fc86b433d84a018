// The throughput bars, latency distributions and line charts (plot.h); the KV grid and the
// file writers are in plot.cc, the shared drawing helpers in svg_draw.h.
#include "analysis/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>

#include "analysis/latency.h"
#include "analysis/svg_draw.h"
#include "analysis/window.h"
#include "core/time_format.h"
#include "record/driver_log_reader.h"
#include "record/kv_csv_reader.h"
#include "record/run_layout.h"

namespace agentsched::analysis {

namespace {
using namespace svg_draw;
}  // namespace

// ------------------------------------------------------------------------ throughput bars

ThroughputRow throughput_row(const std::string& system, int concurrency, const Spread& tasks,
                             const Spread& steps, std::size_t seeds, bool whole_run) {
  return {system,    concurrency, tasks.mean, steps.mean, tasks.min,
          tasks.max, steps.min,   steps.max,  seeds,      whole_run};
}

Result<SvgChart> render_throughput_chart(const std::vector<ThroughputRow>& rows) {
  if (rows.empty()) return make_error("no throughput rows to chart");
  std::vector<std::string> systems;
  std::vector<int> concurrencies;
  std::size_t max_seeds = 1;
  bool any_whole = false, all_whole = true;
  for (const auto& row : rows) {
    systems.push_back(row.system);
    if (std::find(concurrencies.begin(), concurrencies.end(), row.concurrency) ==
        concurrencies.end())
      concurrencies.push_back(row.concurrency);
    max_seeds = std::max(max_seeds, row.seeds);
    any_whole = any_whole || row.whole_run;
    all_whole = all_whole && row.whole_run;
  }
  systems = unique_in_order(systems);
  std::sort(concurrencies.begin(), concurrencies.end());
  auto find = [&](int c, const std::string& system) -> const ThroughputRow* {
    for (const auto& row : rows)
      if (row.concurrency == c && row.system == system) return &row;
    return nullptr;
  };
  auto whole_at = [&](int c) {
    for (const auto& row : rows)
      if (row.concurrency == c && row.whole_run) return true;
    return false;
  };

  const int width = 960;
  const int chart_height = 310;
  const int left = 72, right = 20, top = 64, bottom = 50;
  const int plot_width = width - left - right;
  const int plot_height = chart_height - top - bottom;
  const int height = 2 * chart_height + 10;
  std::string svg = svg_open(width, height);
  std::string csv = "chart,concurrency,system,scope,mean,min,max,seeds\n";
  const std::string scope = all_whole   ? "whole run (no run has an active window)"
                            : any_whole ? "active window; (whole run) marks rows without one"
                                        : "active window";

  for (int chart = 0; chart < 2; ++chart) {
    const bool steps = chart == 1;
    const std::string metric = steps ? "steps/s" : "tasks/min";
    const int y0 = chart * chart_height;
    double max_value = 0;
    for (const auto& row : rows) {
      const double v = steps ? row.steps_per_s : row.tasks_per_min;
      const double hi = steps ? row.steps_max : row.tasks_max;
      if (std::isfinite(v)) max_value = std::max(max_value, v);
      if (std::isfinite(hi)) max_value = std::max(max_value, hi);
    }
    const LinearAxis axis = nice_axis(0, max_value > 0 ? max_value * 1.12 : 1.0, 5);
    auto y_of = [&](double v) { return y0 + top + (1.0 - v / axis.hi) * plot_height; };

    svg += text(left, y0 + 20, fmt::format("{} by concurrency, {}", metric, scope),
                "font-size=\"14\" font-weight=\"bold\"");
    if (max_seeds > 1)
      svg += text(
          left, y0 + 37,
          fmt::format("bars: mean over {} seeds; error bars: min-max over the seeds", max_seeds),
          "fill=\"#444\"");
    for (double v = 0; v <= axis.hi + 1e-9; v += axis.step) {
      const double y = y_of(v);
      svg += fmt::format(
          "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e4e4e4\"/>\n", left,
          left + plot_width, y, y);
      svg += text(left - 6, y + 4, format_tick(v), "text-anchor=\"end\"");
    }
    svg += vertical_text(18, y0 + top + plot_height / 2.0, metric);
    // Legend on its own row under the title, each entry as wide as its name.
    int lx = left;
    for (std::size_t s = 0; s < systems.size(); ++s) {
      svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", lx,
                         y0 + 44, color(s));
      svg += text(lx + 16, y0 + 54, systems[s]);
      lx += 16 + 8 * static_cast<int>(systems[s].size()) + 24;
    }
    const double group_width = static_cast<double>(plot_width) / concurrencies.size();
    const double bar_width = group_width * 0.8 / systems.size();
    for (std::size_t g = 0; g < concurrencies.size(); ++g) {
      const double gx = left + g * group_width + group_width * 0.1;
      for (std::size_t s = 0; s < systems.size(); ++s) {
        const ThroughputRow* row = find(concurrencies[g], systems[s]);
        if (row == nullptr) continue;
        const double v = steps ? row->steps_per_s : row->tasks_per_min;
        const double lo = steps ? row->steps_min : row->tasks_min;
        const double hi = steps ? row->steps_max : row->tasks_max;
        const double x = gx + s * bar_width;
        const bool ranged = row->seeds > 1 && std::isfinite(lo) && std::isfinite(hi);
        csv += fmt::format("{},{},{},{},{},{},{},{}\n", steps ? "steps_per_s" : "tasks_per_min",
                           concurrencies[g], csv_field(systems[s]),
                           row->whole_run ? "whole_run" : "active_window", csv_number(v),
                           ranged ? csv_number(lo) : "", ranged ? csv_number(hi) : "", row->seeds);
        if (!std::isfinite(v)) {
          svg +=
              text(x + bar_width / 2, y_of(0) - 4, "n/a", "text-anchor=\"middle\" fill=\"#888\"");
          continue;
        }
        const double y = y_of(v);
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
            "<title>{} C={}: {:.2f}</title></rect>\n",
            x + 1, y, std::max(bar_width - 2, 1.0), y_of(0) - y, color(s),
            escape_markup(systems[s]), concurrencies[g], v);
        double label_y = y - 4;
        if (ranged) {
          const double cx = x + bar_width / 2, ya = y_of(lo), yb = y_of(hi);
          const double cap = std::min(8.0, bar_width / 3);
          svg += fmt::format(
              "<path class=\"errorbar\" d=\"M{0:.1f} {1:.1f}V{2:.1f}M{3:.1f} {1:.1f}h{4:.1f}"
              "M{3:.1f} {2:.1f}h{4:.1f}\" stroke=\"#222\" stroke-width=\"1.3\"><title>{5} C={6}: "
              "min {7:.2f}, max {8:.2f} over {9} seeds</title></path>\n",
              cx, ya, yb, cx - cap / 2, cap, escape_markup(systems[s]), concurrencies[g], lo, hi,
              row->seeds);
          label_y = std::min(label_y, yb - 4);
        }
        svg += text(x + bar_width / 2, label_y, fmt::format("{:.2f}", v), "text-anchor=\"middle\"");
      }
      const double cx = left + g * group_width + group_width / 2;
      svg += text(cx, y0 + top + plot_height + 18, fmt::format("C = {}", concurrencies[g]),
                  "text-anchor=\"middle\"");
      if (whole_at(concurrencies[g]) && !all_whole)
        svg += text(cx, y0 + top + plot_height + 32, "(whole run)",
                    "text-anchor=\"middle\" fill=\"#a05000\"");
    }
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#888\"/>\n",
                       left, left + plot_width, y_of(0), y_of(0));
    svg += text(left + plot_width / 2.0, y0 + top + plot_height + 46, "concurrency",
                "text-anchor=\"middle\" fill=\"#222\"");
  }
  svg += "</svg>\n";
  return SvgChart{std::move(svg), std::move(csv)};
}

// ------------------------------------------------------------------- latency distributions

Result<SvgChart> render_latency_plot(const std::vector<LatencyBox>& boxes,
                                     const std::string& title) {
  if (boxes.empty()) return make_error("no latencies to plot");
  struct Stats {
    const LatencyBox* box;
    double p10, p25, p50, p75, p90, p99, max;
    std::size_t n;
  };
  std::vector<Stats> stats;
  std::vector<std::string> systems;
  std::vector<int> concurrencies;
  double lo = kInf, hi = 0;
  for (const auto& box : boxes) {
    std::vector<double> s;
    for (double ms : box.durations_ms)
      if (std::isfinite(ms) && ms > 0) s.push_back(ms / 1e3);
    std::sort(s.begin(), s.end());
    Stats st{&box,
             percentile_sorted(s, 0.10),
             percentile_sorted(s, 0.25),
             percentile_sorted(s, 0.50),
             percentile_sorted(s, 0.75),
             percentile_sorted(s, 0.90),
             percentile_sorted(s, 0.99),
             s.empty() ? NAN : s.back(),
             s.size()};
    if (!s.empty()) {
      lo = std::min(lo, st.p10);
      hi = std::max(hi, st.max);
    }
    stats.push_back(st);
    systems.push_back(box.system);
    if (std::find(concurrencies.begin(), concurrencies.end(), box.concurrency) ==
        concurrencies.end())
      concurrencies.push_back(box.concurrency);
  }
  systems = unique_in_order(systems);
  std::sort(concurrencies.begin(), concurrencies.end());
  if (!(hi > 0)) {
    lo = 0.1;
    hi = 1;
  }
  // Log axis over whole decades around the data.
  const double d_lo = std::floor(std::log10(lo));
  const double d_hi = std::max(std::ceil(std::log10(hi)), d_lo + 1);

  const int width = 960, height = 420;
  const int left = 72, right = 20, top = 72, bottom = 56;
  const int pw = width - left - right, ph = height - top - bottom;
  auto y_of = [&](double s) { return top + (1.0 - (std::log10(s) - d_lo) / (d_hi - d_lo)) * ph; };
  std::string svg = svg_open(width, height);
  std::string csv =
      "concurrency,system,scope,runs,calls,p10_s,p25_s,p50_s,p75_s,p90_s,p99_s,max_s\n";
  svg += text(left, 20, title, "font-size=\"14\" font-weight=\"bold\"");
  svg += text(left, 37,
              "box: p25-p75, bar: median; whiskers: p10-p90; dot: p99; cross: max (seeds pooled)",
              "fill=\"#444\"");
  int lx = left;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", lx, 46,
                       color(s));
    svg += text(lx + 16, 56, systems[s]);
    lx += 16 + 8 * static_cast<int>(systems[s].size()) + 24;
  }
  for (double d = d_lo; d <= d_hi + 1e-9; d += 1) {
    for (int m : {1, 2, 5}) {
      const double v = m * std::pow(10.0, d);
      if (std::log10(v) > d_hi + 1e-9) break;
      const double y = y_of(v);
      svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"/>\n",
                         left, left + pw, y, y, m == 1 ? "#d0d0d0" : "#efefef");
      svg += text(left - 6, y + 4, format_tick(v), "text-anchor=\"end\"");
    }
  }
  svg += vertical_text(18, top + ph / 2.0, "llm_call latency (s, log scale)");
  const double group_width = static_cast<double>(pw) / concurrencies.size();
  const double box_width = std::min(group_width * 0.8 / systems.size(), 60.0);
  for (std::size_t g = 0; g < concurrencies.size(); ++g) {
    const double gx = left + g * group_width + (group_width - box_width * systems.size()) / 2;
    bool whole = false;
    for (std::size_t s = 0; s < systems.size(); ++s) {
      const Stats* st = nullptr;
      for (const auto& x : stats)
        if (x.box->concurrency == concurrencies[g] && x.box->system == systems[s]) st = &x;
      if (st == nullptr) continue;
      whole = whole || st->box->whole_run;
      csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", concurrencies[g],
                         csv_field(systems[s]), st->box->whole_run ? "whole_run" : "active_window",
                         st->box->runs, st->n, csv_number(st->p10), csv_number(st->p25),
                         csv_number(st->p50), csv_number(st->p75), csv_number(st->p90),
                         csv_number(st->p99), csv_number(st->max));
      const double x = gx + s * box_width;
      const double cx = x + box_width / 2;
      if (st->n == 0) {
        svg += text(cx, top + ph - 4, "n/a", "text-anchor=\"middle\" fill=\"#888\"");
        continue;
      }
      const double w = box_width * 0.7;
      svg += fmt::format(
          "<g class=\"latency-box\"><title>{} C={}: {} calls, p10 {:.2f} s, p25 {:.2f} s, p50 "
          "{:.2f} s, p75 {:.2f} s, p90 {:.2f} s, p99 {:.2f} s, max {:.2f} s</title>\n",
          escape_markup(systems[s]), concurrencies[g], st->n, st->p10, st->p25, st->p50, st->p75,
          st->p90, st->p99, st->max);
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n",
          cx, y_of(st->p10), y_of(st->p90));
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
          "stroke=\"#333\"/>\n",
          cx - w / 2, y_of(st->p75), w, std::max(y_of(st->p25) - y_of(st->p75), 1.0), color(s));
      svg += fmt::format(
          "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"white\" "
          "stroke-width=\"2.5\"/>\n",
          cx - w / 2, cx + w / 2, y_of(st->p50), y_of(st->p50));
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"#111\"/>\n", cx,
                         y_of(st->p99));
      const double ym = y_of(st->max);
      svg += fmt::format(
          "<path d=\"M{:.1f} {:.1f}l7 7M{:.1f} {:.1f}l-7 7\" stroke=\"#111\" "
          "stroke-width=\"1.5\"/>\n</g>\n",
          cx - 3.5, ym - 3.5, cx + 3.5, ym - 3.5);
    }
    const double cx = left + g * group_width + group_width / 2;
    svg +=
        text(cx, top + ph + 18, fmt::format("C = {}", concurrencies[g]), "text-anchor=\"middle\"");
    if (whole)
      svg += text(cx, top + ph + 32, "(whole run)", "text-anchor=\"middle\" fill=\"#a05000\"");
  }
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n", left,
      top, pw, ph);
  svg +=
      text(left + pw / 2.0, top + ph + 48, "concurrency", "text-anchor=\"middle\" fill=\"#222\"");
  svg += "</svg>\n";
  return SvgChart{std::move(svg), std::move(csv)};
}

// -------------------------------------------------------------------------- line charts

Result<SvgChart> render_line_chart(const LineChart& chart) {
  if (chart.panels.empty()) return make_error("no panels to plot");
  std::vector<std::string> names;
  // Legend entries: each name once, dashed when its series is a reference line.
  std::vector<std::pair<std::string, bool>> legend;
  // Series drawn in another series' colour.
  std::vector<std::pair<std::string, std::string>> colour_alias;
  double x_lo = kInf, x_hi = -kInf;
  for (const auto& panel : chart.panels) {
    for (const auto& series : panel.series) {
      if (series.color_as.empty())
        names.push_back(series.name);
      else
        colour_alias.emplace_back(series.name, series.color_as);
      if (std::none_of(legend.begin(), legend.end(),
                       [&](const auto& l) { return l.first == series.name; }))
        legend.emplace_back(series.name, series.dashed);
      for (const auto& p : series.points) {
        if (!std::isfinite(p.x)) continue;
        x_lo = std::min(x_lo, p.x);
        x_hi = std::max(x_hi, p.x);
      }
    }
  }
  if (!std::isfinite(x_lo)) return make_error("no points to plot");
  if (chart.marker_x) {
    x_lo = std::min(x_lo, *chart.marker_x);
    x_hi = std::max(x_hi, *chart.marker_x);
  }
  names = unique_in_order(names);
  for (const auto& [name, as] : colour_alias)
    if (std::find(names.begin(), names.end(), as) == names.end()) names.push_back(as);
  auto color_of = [&](const std::string& series_name) {
    std::string name = series_name;
    for (const auto& [alias, as] : colour_alias)
      if (alias == series_name) name = as;
    return color(
        static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin()));
  };
  // Pad the x range by 4% so end points and their error bars are not on the frame.
  const double pad = (x_hi > x_lo ? x_hi - x_lo : std::max(std::fabs(x_lo), 1.0)) * 0.04;
  const LinearAxis x_axis = nice_axis(x_lo - pad, x_hi + pad, 8);

  const int width = 960;
  const int left = 80, right = 24, header = 76, panel_height = 230, panel_gap = 44;
  const int pw = width - left - right;
  const int np = static_cast<int>(chart.panels.size());
  const int height = header + np * panel_height + (np - 1) * panel_gap + 50;
  auto x_of = [&](double x) { return left + (x - x_axis.lo) / (x_axis.hi - x_axis.lo) * pw; };

  std::string svg = svg_open(width, height);
  std::string csv = "panel,series,x,y,y_min,y_max\n";
  svg += text(left, 20, chart.title, "font-size=\"14\" font-weight=\"bold\"");
  if (!chart.subtitle.empty()) svg += text(left, 37, chart.subtitle, "fill=\"#444\"");
  double lx = left;
  double ly = 60;
  for (const auto& [name, dashed] : legend) {
    if (lx + legend_width(name) > width - right) {
      lx = left;
      ly += 16;  // the header has room for two legend rows
    }
    svg += line_swatch(lx, ly, color_of(name), dashed ? "5 3" : nullptr);
    if (!dashed)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", lx + 9,
                         ly - 4, color_of(name));
    svg += text(lx + 24, ly, name);
    lx += legend_width(name);
  }

  for (int p = 0; p < np; ++p) {
    const LinePanel& panel = chart.panels[p];
    const int py = header + p * (panel_height + panel_gap);
    double y_lo = kInf, y_hi = -kInf;
    for (const auto& series : panel.series) {
      for (const auto& pt : series.points) {
        for (double v : {pt.y, pt.y_min, pt.y_max}) {
          if (!std::isfinite(v)) continue;
          y_lo = std::min(y_lo, v);
          y_hi = std::max(y_hi, v);
        }
      }
    }
    if (!std::isfinite(y_lo)) y_lo = 0, y_hi = 1;
    // From zero when the data are positive: a sweep's effect reads as a share of the whole.
    const LinearAxis y_axis = nice_axis(std::min(0.0, y_lo), y_hi * 1.05, 5);
    auto y_of = [&](double y) {
      return py + (1.0 - (y - y_axis.lo) / (y_axis.hi - y_axis.lo)) * panel_height;
    };
    for (double v = y_axis.lo; v <= y_axis.hi + 1e-9; v += y_axis.step) {
      const double y = y_of(v);
      svg += fmt::format(
          "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e4e4e4\"/>\n", left,
          left + pw, y, y);
      svg += text(left - 6, y + 4, format_tick(v), "text-anchor=\"end\"");
    }
    for (double v = x_axis.lo; v <= x_axis.hi + 1e-9 * (x_axis.hi - x_axis.lo); v += x_axis.step) {
      const double x = x_of(v);
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n", x, py,
          py + panel_height);
      svg += text(x, py + panel_height + 16, format_tick(v), "text-anchor=\"middle\"");
    }
    svg += vertical_text(20, py + panel_height / 2.0, panel.y_label);
    if (chart.marker_x) {
      const double x = x_of(*chart.marker_x);
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#777\" "
          "stroke-dasharray=\"4 3\"/>\n",
          x, py, py + panel_height);
      if (!chart.marker_label.empty())
        svg += text(x + 4, py + 12, chart.marker_label, "fill=\"#555\"");
    }
    for (const auto& series : panel.series) {
      std::vector<LinePoint> points = series.points;
      std::stable_sort(points.begin(), points.end(),
                       [](const LinePoint& a, const LinePoint& b) { return a.x < b.x; });
      const char* stroke = color_of(series.name);
      std::string path;
      bool pen_down = false;
      for (const auto& pt : points) {
        csv += fmt::format("{},{},{},{},{},{}\n", csv_field(panel.y_label), csv_field(series.name),
                           csv_number(pt.x), csv_number(pt.y), csv_number(pt.y_min),
                           csv_number(pt.y_max));
        if (!std::isfinite(pt.y) || !std::isfinite(pt.x)) {
          pen_down = false;
          continue;
        }
        fmt::format_to(std::back_inserter(path), "{}{:.1f} {:.1f}", pen_down ? "L" : "M",
                       x_of(pt.x), y_of(pt.y));
        pen_down = true;
      }
      if (!path.empty())
        svg += fmt::format(
            "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{}><title>{}</title>"
            "</path>\n",
            path, stroke, series.dashed ? " stroke-dasharray=\"6 4\"" : "",
            escape_markup(series.name));
      if (series.dashed) continue;  // a reference line: no markers
      for (const auto& pt : points) {
        if (!std::isfinite(pt.y) || !std::isfinite(pt.x)) continue;
        const double x = x_of(pt.x);
        if (std::isfinite(pt.y_min) && std::isfinite(pt.y_max) && pt.y_min != pt.y_max) {
          svg += fmt::format(
              "<path class=\"errorbar\" d=\"M{0:.1f} {1:.1f}V{2:.1f}M{3:.1f} {1:.1f}h8M{3:.1f} "
              "{2:.1f}h8\" stroke=\"{4}\" stroke-width=\"1.2\"/>\n",
              x, y_of(pt.y_min), y_of(pt.y_max), x - 4, stroke);
        }
        svg += fmt::format(
            "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{}: {:g} -&gt; "
            "{:.3g}</title></circle>\n",
            x, y_of(pt.y), stroke, escape_markup(series.name), pt.x, pt.y);
      }
    }
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n",
        left, py, pw, panel_height);
  }
  svg += text(left + pw / 2.0, height - 14, chart.x_label, "text-anchor=\"middle\" fill=\"#222\"");
  svg += "</svg>\n";
  return SvgChart{std::move(svg), std::move(csv)};
}

}  // namespace agentsched::analysis
