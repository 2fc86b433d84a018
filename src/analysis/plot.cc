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

class FinishCollector final : public LogVisitor {
 public:
  FinishCollector() : LogVisitor(0) {}  // FINISHED lines only
  void on_task_finished(const TaskFinishedRecord& record) override {
    times.push_back(record.unix_time);
  }
  std::vector<double> times;
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

// Centred moving average over `seconds` (samples of one port, in time order).
std::vector<KvSample> smooth(const std::vector<KvSample>& samples, double seconds) {
  if (!(seconds > 0) || samples.size() < 3) return samples;
  std::vector<KvSample> out = samples;
  const double half = seconds / 2;
  std::size_t lo = 0, hi = 0;
  double sum = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double t = samples[i].unix_time;
    while (hi < samples.size() && samples[hi].unix_time <= t + half) sum += samples[hi++].usage;
    while (samples[lo].unix_time < t - half) sum -= samples[lo++].usage;
    out[i].usage = sum / static_cast<double>(hi - lo);
  }
  return out;
}

struct KvRunData {
  const KvPlotRun* run = nullptr;
  KvSeries series;
  ActiveWindow window;
  std::vector<double> finish_times;
  std::string driver_note;  // why there are no task marks, if there are none
  double t0 = 0;            // the run's first sample or finished task
  double t1 = 0;
};

}  // namespace

// ------------------------------------------------------------------------------ KV grid

Result<SvgChart> render_kv_grid(const std::vector<KvPlotRun>& runs, const KvPlotOptions& options) {
  if (runs.empty()) return make_error("no runs to plot");
  std::vector<KvRunData> data;
  std::vector<std::string> row_labels, column_labels, series_labels;
  for (const KvPlotRun& run : runs) {
    KvRunData d;
    d.run = &run;
    auto series = read_kv_csv(run_layout::kv_csv(run.dir));
    if (!series) {
      const std::string name = run.row + (run.column.empty() ? "" : " " + run.column) +
                               (run.series.empty() ? "" : " " + run.series);
      return make_error(fmt::format("{}: {}", name, series.error().message));
    }
    d.series = std::move(*series);
    d.window = find_active_window(d.series.samples, options.threshold_percent);
    FinishCollector finishes;
    if (auto scanned = scan_log(run_layout::driver_log(run.dir), finishes); scanned)
      d.finish_times = std::move(finishes.times);
    else
      d.driver_note = scanned.error().message;
    d.t0 = kInf;
    d.t1 = -kInf;
    for (const auto& s : d.series.samples) {
      d.t0 = std::min(d.t0, s.unix_time);
      d.t1 = std::max(d.t1, s.unix_time);
    }
    for (double t : d.finish_times) {
      d.t0 = std::min(d.t0, t);
      d.t1 = std::max(d.t1, t);
    }
    row_labels.push_back(run.row);
    column_labels.push_back(run.column);
    data.push_back(std::move(d));
  }
  row_labels = unique_in_order(row_labels);
  column_labels = unique_in_order(column_labels);

  // Line labels: the run's series, plus the port when a run has several.
  struct Line {
    std::size_t run;
    int port;
    std::string label;
  };
  std::vector<Line> lines;
  for (std::size_t i = 0; i < data.size(); ++i) {
    for (int port : data[i].series.ports) {
      std::string label = data[i].run->series;
      if (data[i].series.ports.size() > 1)
        label += (label.empty() ? "" : ", ") + fmt::format("port {}", port);
      lines.push_back({i, port, label});
      series_labels.push_back(label);
    }
  }
  series_labels = unique_in_order(series_labels);
  auto color_of = [&](const std::string& label) {
    return color(static_cast<std::size_t>(
        std::find(series_labels.begin(), series_labels.end(), label) - series_labels.begin()));
  };
  auto run_color = [&](std::size_t run) {
    for (const Line& l : lines)
      if (l.run == run) return color_of(l.label);
    return color(0);
  };

  // Shared x axis: the longest run.
  double span = 1;
  for (const auto& d : data) span = std::max(span, d.t1 - d.t0);
  const bool minutes = span > 1200;
  const double unit = minutes ? 60.0 : 1.0;
  const LinearAxis x_axis = nice_axis(0, span / unit, 6);
  const double x_span = x_axis.hi * unit;  // seconds at the right edge

  const int ncol = static_cast<int>(column_labels.size());
  const int nrow = static_cast<int>(row_labels.size());
  const int gap = 26;
  const int pw = ncol == 1 ? 820 : std::clamp((880 - (ncol - 1) * gap) / ncol, 200, 320);
  const int ph = nrow == 1 ? 200 : 140;
  const int left = 72, right = 46;
  const int header = 70;       // title, subtitle, legend
  const int panel_title = 20;  // above each panel
  const int row_pitch = panel_title + ph + 14;
  const int width = left + ncol * pw + (ncol - 1) * gap + right;
  const int grid_bottom = header + nrow * row_pitch;
  const int height = grid_bottom + 44;

  std::string svg = svg_open(width, height);
  std::string csv = "row,column,series,port,kind,seconds,value\n";
  svg += text(left, 20, options.title, "font-size=\"15\" font-weight=\"bold\"");
  std::string subtitle =
      fmt::format("active window: samples above {:g}% (shaded per run); axes shared by all panels",
                  options.threshold_percent);
  if (options.smooth_seconds > 0)
    subtitle += fmt::format("; lines: moving average over {:g} s (window from raw samples)",
                            options.smooth_seconds);
  svg += text(left, 38, subtitle, "fill=\"#444\"");
  csv += fmt::format(",,,,threshold_percent,,{}\n", options.threshold_percent);

  // Legend.
  {
    double lx = left;
    const double ly = 60;
    for (const auto& label : series_labels) {
      const std::string shown = label.empty() ? "KV usage" : label;
      svg += line_swatch(lx, ly, color_of(label));
      svg += text(lx + 24, ly, shown);
      lx += legend_width(shown);
    }
    svg += line_swatch(lx, ly, kThresholdColor, "6 4");
    const std::string threshold_label = fmt::format("threshold {:g}%", options.threshold_percent);
    svg += text(lx + 24, ly, threshold_label);
    lx += legend_width(threshold_label);
    svg += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{}\" width=\"18\" height=\"10\" fill=\"#888\" "
        "fill-opacity=\"0.25\"/>\n",
        lx, ly - 9);
    svg += text(lx + 24, ly, "active window");
    lx += legend_width("active window");
    svg += fmt::format("<path d=\"M{:.1f} {}v-10M{:.1f} {}v-10M{:.1f} {}v-10\" stroke=\"#444\"/>\n",
                       lx + 3, ly, lx + 9, ly, lx + 15, ly);
    svg += text(lx + 24, ly, "finished task");
  }

  for (int r = 0; r < nrow; ++r) {
    for (int c = 0; c < ncol; ++c) {
      const int px = left + c * (pw + gap);
      const int py = header + r * row_pitch + panel_title;
      std::vector<std::size_t> members;
      for (std::size_t i = 0; i < data.size(); ++i)
        if (data[i].run->row == row_labels[r] && data[i].run->column == column_labels[c])
          members.push_back(i);
      const std::string title =
          column_labels[c].empty() ? row_labels[r] : row_labels[r] + ", " + column_labels[c];
      svg += text(px, py - 6, title, "font-weight=\"bold\"");
      auto x_of = [&](double seconds) { return px + seconds / x_span * pw; };
      auto y_of = [&](double usage) { return py + (1.0 - usage) * ph; };

      // Grid and ticks: y labels on the first column, x labels on the bottom row only.
      for (int pct = 0; pct <= 100; pct += 25) {
        const double y = y_of(pct / 100.0);
        svg += fmt::format(
            "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e4e4e4\"/>\n", px,
            px + pw, y, y);
        if (c == 0) svg += text(px - 6, y + 4, fmt::format("{}", pct), "text-anchor=\"end\"");
      }
      for (double v = 0; v <= x_axis.hi + 1e-9; v += x_axis.step) {
        const double x = x_of(v * unit);
        svg += fmt::format(
            "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n", x,
            py, py + ph);
        svg += fmt::format(
            "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#888\"/>\n", x,
            py + ph, py + ph + 4);
        if (r == nrow - 1) svg += text(x, py + ph + 17, format_tick(v), "text-anchor=\"middle\"");
      }
      if (members.empty()) {
        svg += text(px + pw / 2.0, py + ph / 2.0, "no run", "text-anchor=\"middle\" fill=\"#888\"");
      }

      // Windows, shaded in the run's colour; their tooltip gives the figures of the tables.
      bool any_window = false;
      for (std::size_t i : members) {
        const KvRunData& d = data[i];
        std::size_t inside = 0;
        for (double t : d.finish_times)
          if (d.window.found && t >= d.window.start_unix && t <= d.window.end_unix) ++inside;
        const std::string who = d.run->series.empty() ? title : d.run->series;
        if (!d.window.found) continue;
        any_window = true;
        const double seconds = d.window.seconds();
        const std::string tip =
            fmt::format("active window, {}: {} .. {} UTC ({:.0f} s), {} tasks inside{}", who,
                        format_datetime(d.window.start_unix), format_datetime(d.window.end_unix),
                        seconds, inside,
                        seconds > 0 ? fmt::format(", {:.2f} tasks/min", inside / (seconds / 60.0))
                                    : std::string(", zero-length window"));
        const double xa = x_of(d.window.start_unix - d.t0);
        const double xb = x_of(d.window.end_unix - d.t0);
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\" "
            "fill-opacity=\"0.08\"><title>{}</title></rect>\n",
            xa, py, std::max(xb - xa, 1.0), ph, run_color(i), escape_markup(tip));
        csv += fmt::format("{},{},{},,window_start,{},\n", csv_field(d.run->row),
                           csv_field(d.run->column), csv_field(d.run->series),
                           d.window.start_unix - d.t0);
        csv += fmt::format("{},{},{},,window_end,{},\n", csv_field(d.run->row),
                           csv_field(d.run->column), csv_field(d.run->series),
                           d.window.end_unix - d.t0);
      }
      if (!members.empty() && !any_window) {
        // Below the threshold there is no data near the top edge: the note cannot cover a line.
        svg += text(px + 6, py + 14,
                    fmt::format("no window: no sample above {:g}%", options.threshold_percent),
                    "fill=\"#666\"");
      }

      // Threshold, labelled in the right margin of the last column, clear of every line.
      const double ty = y_of(options.threshold_percent / 100.0);
      svg += fmt::format(
          "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
          "stroke-dasharray=\"6 4\"/>\n",
          px, px + pw, ty, ty, kThresholdColor);
      if (c == ncol - 1)
        svg += text(px + pw + 4, ty + 4, fmt::format("{:g}%", options.threshold_percent),
                    fmt::format("fill=\"{}\"", kThresholdColor));

      // Lines.
      for (const Line& line : lines) {
        if (std::find(members.begin(), members.end(), line.run) == members.end()) continue;
        const KvRunData& d = data[line.run];
        std::vector<KvSample> samples;
        for (const auto& s : d.series.samples)
          if (s.port == line.port) samples.push_back(s);
        std::stable_sort(samples.begin(), samples.end(), [](const KvSample& a, const KvSample& b) {
          return a.unix_time < b.unix_time;
        });
        samples = decimate(smooth(samples, options.smooth_seconds), d.t0, x_span, pw);
        std::string points;
        points.reserve(samples.size() * 14);
        for (const auto& s : samples) {
          fmt::format_to(std::back_inserter(points), "{:.1f},{:.1f} ", x_of(s.unix_time - d.t0),
                         y_of(s.usage));
          csv += fmt::format("{},{},{},{},kv_usage_percent,{},{}\n", csv_field(d.run->row),
                             csv_field(d.run->column), csv_field(d.run->series), line.port,
                             s.unix_time - d.t0, s.usage * 100);
        }
        svg += fmt::format(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.3\" "
            "stroke-linejoin=\"round\" points=\"{}\"><title>{}port {}</title></polyline>\n",
            color_of(line.label), points,
            escape_markup(d.run->series.empty() ? std::string() : d.run->series + ", "), line.port);
      }

      // Finished tasks: ticks along the bottom edge, in the run's colour.
      for (std::size_t i : members) {
        const KvRunData& d = data[i];
        if (d.finish_times.empty()) {
          if (!d.driver_note.empty())
            svg += fmt::format("<desc>no task marks: {}</desc>\n", escape_markup(d.driver_note));
          continue;
        }
        std::string path;
        for (double t : d.finish_times) {
          fmt::format_to(std::back_inserter(path), "M{:.1f} {}v-7", x_of(t - d.t0), py + ph);
          csv += fmt::format("{},{},{},,task_finished,{},\n", csv_field(d.run->row),
                             csv_field(d.run->column), csv_field(d.run->series), t - d.t0);
        }
        svg += fmt::format(
            "<path d=\"{}\" stroke=\"{}\" stroke-opacity=\"0.7\" stroke-width=\"1\"><title>{} "
            "finished tasks</title></path>\n",
            path, run_color(i), d.finish_times.size());
      }
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n",
          px, py, pw, ph);
    }
  }
  // Axis titles, once for the whole grid.
  svg += vertical_text(16, header + nrow * row_pitch / 2.0, "KV cache usage (%)");
  svg += text(
      left + (ncol * pw + (ncol - 1) * gap) / 2.0, grid_bottom + 20,
      minutes ? "minutes since the run's first sample" : "seconds since the run's first sample",
      "text-anchor=\"middle\" fill=\"#222\"");
  svg += "</svg>\n";
  return SvgChart{std::move(svg), std::move(csv)};
}

Status write_kv_plot(const std::vector<std::pair<std::string, std::filesystem::path>>& runs,
                     double threshold_percent, const std::filesystem::path& out_svg) {
  std::vector<KvPlotRun> grid;
  for (const auto& [label, dir] : runs) grid.push_back({label, "", "", dir});
  KvPlotOptions options;
  options.threshold_percent = threshold_percent;
  return write_kv_grid(grid, options, out_svg);
}

// ------------------------------------------------------------------------------ writers

namespace {
Status write_chart(const Result<SvgChart>& chart, const std::filesystem::path& out_svg) {
  if (!chart) return chart.error();
  return write_svg_and_csv(out_svg, chart->svg, chart->csv);
}
}  // namespace

Status write_kv_grid(const std::vector<KvPlotRun>& runs, const KvPlotOptions& options,
                     const std::filesystem::path& out_svg) {
  return write_chart(render_kv_grid(runs, options), out_svg);
}

Status write_throughput_chart(const std::vector<ThroughputRow>& rows,
                              const std::filesystem::path& out_svg) {
  return write_chart(render_throughput_chart(rows), out_svg);
}

Status write_latency_plot(const std::vector<LatencyBox>& boxes, const std::string& title,
                          const std::filesystem::path& out_svg) {
  return write_chart(render_latency_plot(boxes, title), out_svg);
}

Status write_line_chart(const LineChart& chart, const std::filesystem::path& out_svg) {
  return write_chart(render_line_chart(chart), out_svg);
}

std::string escape_markup(std::string_view text) {
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
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace agentsched::analysis
