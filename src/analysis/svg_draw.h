#pragma once
// The drawing helpers the SVG charts share (plot.cc: the KV grid and the writers;
// plot_charts.cc: throughput, latency and line charts): palette, text, axes, legends, files.
// Internal to the analysis layer.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/plot.h"
#include "core/result.h"

namespace agentsched::analysis::svg_draw {

inline constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                           "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
inline constexpr std::size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
inline constexpr const char* kThresholdColor = "#c00000";
inline constexpr double kInf = std::numeric_limits<double>::infinity();

inline const char* color(std::size_t i) {
  return kPalette[i % kPaletteSize];
}

// CSV field: quoted when it holds a separator, quote or line break.
inline std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

inline std::string csv_number(double v) {
  return std::isfinite(v) ? fmt::format("{}", v) : std::string();
}

inline std::string svg_open(int width, int height) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      width, height);
}

inline std::string text(double x, double y, std::string_view content,
                        std::string_view attributes = "") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\"{}{}>{}</text>\n", x, y,
                     attributes.empty() ? "" : " ", attributes, escape_markup(content));
}

// Text turned 90 degrees anticlockwise, centred on (x, y): a y-axis title.
inline std::string vertical_text(double x, double y, std::string_view content) {
  return fmt::format(
      "<text x=\"{0:.1f}\" y=\"{1:.1f}\" transform=\"rotate(-90 {0:.1f} {1:.1f})\" "
      "text-anchor=\"middle\" fill=\"#222\">{2}</text>\n",
      x, y, escape_markup(content));
}

// A "nice" tick step (1, 2 or 5 x 10^k) giving about `target` ticks over `span`.
inline double nice_step(double span, int target) {
  if (!(span > 0)) return 1;
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * magnitude;
}

inline std::string format_tick(double value) {
  if (std::fabs(value - std::round(value)) < 1e-9) return fmt::format("{:.0f}", value);
  return fmt::format("{:g}", value);
}

// Axis from 0 (or lo) to a nice top above `hi`.
struct LinearAxis {
  double lo = 0, hi = 1, step = 1;
};
inline LinearAxis nice_axis(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi <= lo) hi = lo + (lo == 0 ? 1 : std::fabs(lo) * 0.1);
  LinearAxis axis;
  axis.step = nice_step(hi - lo, target);
  axis.lo = std::floor(lo / axis.step + 1e-9) * axis.step;
  axis.hi = std::ceil(hi / axis.step - 1e-9) * axis.step;
  return axis;
}

inline Status write_file(const std::filesystem::path& path, const std::string& content) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(path.string() + ": cannot write");
  out << content;
  out.close();
  if (!out) return make_error(path.string() + ": write failed");
  return Ok{};
}

// The SVG and, beside it, the CSV of what it draws.
inline Status write_svg_and_csv(const std::filesystem::path& out_svg, const std::string& svg,
                                const std::string& csv) {
  if (auto st = write_file(out_svg, svg); !st) return st;
  std::filesystem::path csv_path = out_svg;
  csv_path.replace_extension(".csv");
  return write_file(csv_path, csv);
}

// Legend entries laid out left to right from (x, y), wrapping at `max_x`; returns the y of
// the last row. `swatch` draws a 16x10 sample at (x, y-9).
struct LegendEntry {
  std::string label;
  std::string swatch;  // SVG with {x} and {y} placeholders already substituted by the caller
};
inline int legend_width(const std::string& label) {
  return 24 + 7 * static_cast<int>(label.size()) + 18;
}

inline std::string line_swatch(double x, double y, const char* stroke, const char* dash = nullptr) {
  return fmt::format(
      "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
      "stroke-width=\"2\"{}/>\n",
      x, x + 18, y - 4, y - 4, stroke,
      dash ? fmt::format(" stroke-dasharray=\"{}\"", dash) : std::string());
}

inline std::vector<std::string> unique_in_order(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values)
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  return out;
}

}  // namespace agentsched::analysis::svg_draw
