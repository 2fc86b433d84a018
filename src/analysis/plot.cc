#include "analysis/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>

#include "analysis/window.h"
#include "core/time_format.h"
#include "record/driver_log_reader.h"
#include "record/kv_csv_reader.h"
#include "record/run_layout.h"

namespace agentsched::analysis {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                    "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
constexpr std::size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr const char* kFont = "font-family=\"sans-serif\"";

std::string escape_xml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A "nice" tick step (1, 2 or 5 x 10^k) giving about `target` ticks over `span`.
double nice_step(double span, int target) {
  if (!(span > 0)) return 1;
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * magnitude;
}

std::string format_tick(double value) {
  if (std::fabs(value - std::round(value)) < 1e-9) return fmt::format("{:.0f}", value);
  return fmt::format("{:g}", value);
}

Status write_file(const std::filesystem::path& path, const std::string& content) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(path.string() + ": cannot write");
  out << content;
  out.close();
  if (!out) return make_error(path.string() + ": write failed");
  return Ok{};
}

class FinishCollector final : public LogVisitor {
 public:
  FinishCollector() : LogVisitor(0) {}  // FINISHED lines only
  void on_task_finished(const TaskFinishedRecord& record) override {
    times.push_back(record.unix_time);
  }
  std::vector<double> times;
};

struct PanelData {
  std::string label;
  KvSeries series;
  ActiveWindow window;
  std::vector<double> finish_times;
  std::string driver_note;  // why there are no task marks, if there are none
};

// At most two points (min and max) per pixel column, in time order, so a day of 0.5 s
// samples still draws every spike without a multi-megabyte file.
std::vector<KvSample> decimate(std::vector<KvSample> samples, double t0, double span, int columns) {
  std::stable_sort(samples.begin(), samples.end(),
                   [](const KvSample& a, const KvSample& b) { return a.unix_time < b.unix_time; });
  if (samples.size() <= static_cast<std::size_t>(2 * columns) || span <= 0) return samples;
  std::vector<KvSample> out;
  std::size_t i = 0;
  while (i < samples.size()) {
    const int column = static_cast<int>((samples[i].unix_time - t0) / span * columns);
    std::size_t lo = i, hi = i, j = i;
    for (; j < samples.size() &&
           static_cast<int>((samples[j].unix_time - t0) / span * columns) == column;
         ++j) {
      if (samples[j].usage < samples[lo].usage) lo = j;
      if (samples[j].usage > samples[hi].usage) hi = j;
    }
    out.push_back(samples[std::min(lo, hi)]);
    if (lo != hi) out.push_back(samples[std::max(lo, hi)]);
    i = j;
  }
  return out;
}

}  // namespace

Status write_kv_plot(const std::vector<std::pair<std::string, std::filesystem::path>>& runs,
                     double threshold_percent, const std::filesystem::path& out_svg) {
  if (runs.empty()) return make_error("no runs to plot");
  std::vector<PanelData> panels;
  for (const auto& [label, dir] : runs) {
    PanelData panel;
    panel.label = label;
    auto series = read_kv_csv(run_layout::kv_csv(dir));
    if (!series) return make_error(fmt::format("{}: {}", label, series.error().message));
    panel.series = std::move(*series);
    panel.window = find_active_window(panel.series.samples, threshold_percent);
    FinishCollector finishes;
    auto scanned = scan_log(run_layout::driver_log(dir), finishes);
    if (scanned) {
      panel.finish_times = std::move(finishes.times);
    } else {
      panel.driver_note = scanned.error().message;
    }
    panels.push_back(std::move(panel));
  }

  const int width = 960;
  const int panel_height = 250;
  const int left = 60, right = 20, top = 44, bottom = 40;
  const int plot_width = width - left - right;
  const int plot_height = panel_height - top - bottom;
  const int height = panel_height * static_cast<int>(panels.size()) + 24;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} "
      "{}\" {} font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, width, height, kFont);

  for (std::size_t p = 0; p < panels.size(); ++p) {
    const PanelData& panel = panels[p];
    const int y0 = static_cast<int>(p) * panel_height;
    double t0 = std::numeric_limits<double>::infinity();
    double t1 = -std::numeric_limits<double>::infinity();
    for (const auto& s : panel.series.samples) {
      t0 = std::min(t0, s.unix_time);
      t1 = std::max(t1, s.unix_time);
    }
    for (double t : panel.finish_times) {
      t0 = std::min(t0, t);
      t1 = std::max(t1, t);
    }
    const double span = std::max(t1 - t0, 1.0);
    const bool minutes = span > 1200;
    const double unit = minutes ? 60.0 : 1.0;
    auto x_of = [&](double t) { return left + (t - t0) / span * plot_width; };
    auto y_of = [&](double usage) { return y0 + top + (1.0 - usage) * plot_height; };

    // Title: the window and its throughput, as the tables define them.
    std::size_t tasks_inside = 0;
    for (double t : panel.finish_times) {
      if (panel.window.found && t >= panel.window.start_unix && t <= panel.window.end_unix)
        ++tasks_inside;
    }
    std::string subtitle;
    if (!panel.window.found) {
      subtitle = fmt::format("no sample above {}%", threshold_percent);
    } else {
      const double seconds = panel.window.seconds();
      subtitle = fmt::format(
          "window {} .. {} UTC ({:.0f} s), {} tasks inside{}",
          format_datetime(panel.window.start_unix), format_datetime(panel.window.end_unix), seconds,
          tasks_inside,
          seconds > 0 ? fmt::format(", {:.2f} tasks/min", tasks_inside / (seconds / 60.0))
                      : std::string(", zero-length window"));
    }
    if (!panel.driver_note.empty()) subtitle += " (no task marks: " + panel.driver_note + ")";
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n"
        "<text x=\"{}\" y=\"{}\" fill=\"#444\">{}</text>\n",
        left, y0 + 18, escape_xml(panel.label), left, y0 + 34, escape_xml(subtitle));

    // Window, axes, grid, threshold.
    if (panel.window.found) {
      const double xa = x_of(panel.window.start_unix);
      const double xb = x_of(panel.window.end_unix);
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"#f5c242\" "
          "fill-opacity=\"0.25\" stroke=\"#d9a21b\" stroke-width=\"{}\"><title>active window "
          "</title></rect>\n",
          xa, y0 + top, std::max(xb - xa, 0.0), plot_height, xb - xa < 1 ? 1 : 0);
    }
    for (int pct = 0; pct <= 100; pct += 25) {
      const double y = y_of(pct / 100.0);
      svg += fmt::format(
          "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n"
          "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#444\">{}%</text>\n",
          left, left + plot_width, y, y, left - 6, y + 4, pct);
    }
    const double step = nice_step(span / unit, 8);
    for (double v = 0; v <= span / unit + 1e-9; v += step) {
      const double x = left + v * unit / span * plot_width;
      svg += fmt::format(
          "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" stroke=\"#888\"/>\n"
          "<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">{}</text>\n",
          x, x, y0 + top + plot_height, y0 + top + plot_height + 5, x, y0 + top + plot_height + 18,
          format_tick(v));
    }
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">{} since {} UTC</text>\n",
        left + plot_width / 2, y0 + top + plot_height + 34, minutes ? "minutes" : "seconds",
        format_datetime(t0));
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n",
        left, y0 + top, plot_width, plot_height);
    const double ty = y_of(threshold_percent / 100.0);
    svg += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#d62728\" "
        "stroke-dasharray=\"6 4\"/>\n<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" "
        "fill=\"#d62728\">threshold {}%</text>\n",
        left, left + plot_width, ty, ty, left + plot_width - 4, ty - 4, threshold_percent);

    // One line per port.
    for (std::size_t k = 0; k < panel.series.ports.size(); ++k) {
      const int port = panel.series.ports[k];
      std::vector<KvSample> samples;
      for (const auto& s : panel.series.samples) {
        if (s.port == port) samples.push_back(s);
      }
      samples = decimate(std::move(samples), t0, span, plot_width);
      std::string points;
      points.reserve(samples.size() * 14);
      for (const auto& s : samples)
        fmt::format_to(std::back_inserter(points), "{:.1f},{:.1f} ", x_of(s.unix_time),
                       y_of(s.usage));
      const char* color = kPalette[k % kPaletteSize];
      svg += fmt::format(
          "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.2\" points=\"{}\"><title>port "
          "{}</title></polyline>\n",
          color, points, port);
      if (panel.series.ports.size() > 1) {
        svg +=
            fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\" text-anchor=\"end\">port {}</text>\n",
                        left + plot_width, y0 + 18 + 14 * static_cast<int>(k), color, port);
      }
    }

    // Finished tasks: ticks along the bottom edge.
    if (!panel.finish_times.empty()) {
      std::string path;
      for (double t : panel.finish_times) {
        fmt::format_to(std::back_inserter(path), "M{:.1f} {}v-8", x_of(t), y0 + top + plot_height);
      }
      svg += fmt::format(
          "<path d=\"{}\" stroke=\"#2ca02c\" stroke-width=\"1\"><title>{} finished tasks"
          "</title></path>\n",
          path, panel.finish_times.size());
    }
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" fill=\"#444\">KV usage (kv_cache_usage_perc); shaded: active "
      "window (samples above {}%); green ticks: finished tasks</text>\n</svg>\n",
      left, height - 8, threshold_percent);
  return write_file(out_svg, svg);
}

Status write_throughput_chart(const std::vector<ThroughputRow>& rows,
                              const std::filesystem::path& out_svg) {
  if (rows.empty()) return make_error("no throughput rows to chart");
  std::vector<std::string> systems;
  std::vector<int> concurrencies;
  for (const auto& row : rows) {
    if (std::find(systems.begin(), systems.end(), row.system) == systems.end())
      systems.push_back(row.system);
    if (std::find(concurrencies.begin(), concurrencies.end(), row.concurrency) ==
        concurrencies.end())
      concurrencies.push_back(row.concurrency);
  }
  std::sort(concurrencies.begin(), concurrencies.end());
  auto find = [&](int c, const std::string& system) -> const ThroughputRow* {
    for (const auto& row : rows) {
      if (row.concurrency == c && row.system == system) return &row;
    }
    return nullptr;
  };

  const int width = 960;
  const int chart_height = 300;
  const int left = 60, right = 20, top = 60, bottom = 44;
  const int plot_width = width - left - right;
  const int plot_height = chart_height - top - bottom;
  const int height = 2 * chart_height + 30;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} "
      "{}\" {} font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, width, height, kFont);

  for (int chart = 0; chart < 2; ++chart) {
    const bool steps = chart == 1;
    const int y0 = chart * chart_height;
    double max_value = 0;
    for (const auto& row : rows) {
      const double v = steps ? row.steps_per_s : row.tasks_per_min;
      if (std::isfinite(v)) max_value = std::max(max_value, v);
    }
    const double step = nice_step(max_value > 0 ? max_value * 1.1 : 1.0, 5);
    const double top_value = std::ceil((max_value > 0 ? max_value * 1.1 : 1.0) / step) * step;
    auto y_of = [&](double v) { return y0 + top + (1.0 - v / top_value) * plot_height; };

    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{} in the active "
        "window, by concurrency</text>\n",
        left, y0 + 20, steps ? "steps/s" : "tasks/min");
    for (double v = 0; v <= top_value + 1e-9; v += step) {
      const double y = y_of(v);
      svg += fmt::format(
          "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n"
          "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#444\">{}</text>\n",
          left, left + plot_width, y, y, left - 6, y + 4, format_tick(v));
    }
    // Legend.
    // Legend on its own row under the title, each entry as wide as its name.
    int lx = left;
    for (std::size_t s = 0; s < systems.size(); ++s) {
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" "
          "y=\"{}\">{}</text>\n",
          lx, y0 + 28, kPalette[s % kPaletteSize], lx + 16, y0 + 38, escape_xml(systems[s]));
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
        const double x = gx + s * bar_width;
        if (!std::isfinite(v)) {
          svg += fmt::format(
              "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#888\">n/a</text>\n",
              x + bar_width / 2, y_of(0) - 4);
          continue;
        }
        const double y = y_of(v);
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
            "<title>{} C={}: {:.2f}</title></rect>\n<text x=\"{:.1f}\" y=\"{:.1f}\" "
            "text-anchor=\"middle\">{:.2f}</text>\n",
            x + 1, y, std::max(bar_width - 2, 1.0), y_of(0) - y, kPalette[s % kPaletteSize],
            escape_xml(systems[s]), concurrencies[g], v, x + bar_width / 2, y - 4, v);
      }
      svg += fmt::format(
          "<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">C = {}</text>\n",
          left + g * group_width + group_width / 2, y0 + top + plot_height + 18, concurrencies[g]);
    }
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#888\"/>\n",
                       left, left + plot_width, y_of(0), y_of(0));
  }
  svg += "</svg>\n";
  return write_file(out_svg, svg);
}

}  // namespace agentsched::analysis
