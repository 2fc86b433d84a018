// Run names, the comparison tables, and the SVG charts.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/compare.h"
#include "analysis/matrix_summary.h"
#include "analysis/plot.h"
#include "analysis/spread.h"
#include "test_support.h"

namespace agentsched::analysis {
namespace {

using testing::fixture;
using testing::read_file;
using testing::ScratchDir;

TEST(RunNames, NameEqualsPathOrFolderName) {
  NamedRun a = parse_named_run("TR64=runs/x");
  EXPECT_EQ(a.name, "TR64");
  EXPECT_EQ(a.dir, "runs/x");
  NamedRun b = parse_named_run("runs/thunderreact_c64/");
  EXPECT_EQ(b.name, "thunderreact_c64");
  EXPECT_EQ(parse_named_run("baseline_c32").name, "baseline_c32");
  // A sweep's folders are named knob=value: a path through one is a path, not NAME=PATH.
  NamedRun c = parse_named_run("runs/sweep/arrival-rate=0.05/baseline_c32_s1");
  EXPECT_EQ(c.name, "baseline_c32_s1");
  EXPECT_EQ(c.dir, "runs/sweep/arrival-rate=0.05/baseline_c32_s1");
  ScratchDir scratch;
  const std::filesystem::path run = scratch.path() / "kv-blocks=4000";
  std::filesystem::create_directories(run);
  const std::filesystem::path here = std::filesystem::current_path();
  std::filesystem::current_path(scratch.path());
  NamedRun d = parse_named_run("kv-blocks=4000");  // exists here: a folder, not NAME=PATH
  std::filesystem::current_path(here);
  EXPECT_EQ(d.name, "kv-blocks=4000");
  EXPECT_EQ(d.dir, "kv-blocks=4000");
}

TEST(RunNames, SystemAndConcurrency) {
  auto check = [](std::string_view name, const std::string& system, std::optional<int> c) {
    SystemAndConcurrency s = split_run_name(name);
    EXPECT_EQ(s.system, system) << name;
    EXPECT_EQ(s.concurrency, c) << name;
  };
  check("thunderreact_c64", "thunderreact", 64);
  check("baseline-c128", "baseline", 128);
  check("continuum_32", "continuum", 32);
  check("TR64", "TR", 64);
  check("ours_c8", "ours", 8);
  check("baseline", "baseline", std::nullopt);
  check("64", "64", std::nullopt);  // no system left: not a split
}

TEST(RunNames, SeedSuffixOfMatrixFolders) {
  // `sim matrix --seeds` names folders <system>_c<C>_s<seed>: the seed is not the concurrency.
  SystemAndConcurrency s = split_run_name("baseline_c32_s1");
  EXPECT_EQ(s.system, "baseline");
  EXPECT_EQ(s.concurrency, 32);
  EXPECT_EQ(s.seed, 1u);
  s = split_run_name("thunderreact-c128-s12");
  EXPECT_EQ(s.system, "thunderreact");
  EXPECT_EQ(s.concurrency, 128);
  EXPECT_EQ(s.seed, 12u);
  s = split_run_name("baseline_c32");
  EXPECT_EQ(s.system, "baseline");
  EXPECT_EQ(s.concurrency, 32);
  EXPECT_EQ(s.seed, std::nullopt);
  s = split_run_name("TR64");
  EXPECT_EQ(s.concurrency, 64);
  EXPECT_EQ(s.seed, std::nullopt);
  s = split_run_name("runs2");  // no separator before the 's': a name with a number
  EXPECT_EQ(s.system, "runs");
  EXPECT_EQ(s.concurrency, 2);
  EXPECT_EQ(s.seed, std::nullopt);
  s = split_run_name("ours_s3");  // seed without concurrency
  EXPECT_EQ(s.system, "ours");
  EXPECT_EQ(s.concurrency, std::nullopt);
  EXPECT_EQ(s.seed, 3u);
}

TEST(Spread, MeanMinMaxSkippingNonFinite) {
  const Spread s = spread_of({1.0, 2.0, 6.0, std::nan(""), INFINITY});
  EXPECT_EQ(s.n, 3u);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_EQ(s.min, 1.0);
  EXPECT_EQ(s.max, 6.0);
  const Spread none = spread_of({std::nan("")});
  EXPECT_EQ(none.n, 0u);
  EXPECT_TRUE(std::isnan(none.mean));
}

Spread range(double mean, double min, double max, std::size_t n = 3) {
  return Spread{mean, min, max, n};
}
Spread single(double v) {
  return Spread{v, v, v, 1};
}

TEST(Winner, EqualValuesTie) {
  EXPECT_EQ(
      decide_winner(
          {{"baseline", single(0.95)}, {"continuum", single(0.95)}, {"thunderreact", single(0.95)}},
          true, 2)
          .text(),
      "tie (equal): baseline, continuum, thunderreact");
  // Equal as printed is equal: a table never crowns one of two values it shows the same.
  EXPECT_EQ(decide_winner({{"a", single(0.949)}, {"b", single(0.951)}}, true, 2).text(),
            "tie (equal): b, a");
  // One seed, different values: the best wins.
  EXPECT_EQ(decide_winner({{"a", single(0.90)}, {"b", single(0.95)}}, true, 2).text(), "b");
  EXPECT_EQ(decide_winner({{"a", single(0.90)}, {"b", single(0.95)}}, false, 2).text(), "a");
  EXPECT_EQ(decide_winner({{"a", Spread{NAN, NAN, NAN, 0}}}, true, 2).text("-"), "-");
}

TEST(Winner, OverlappingRangesTie) {
  const Verdict v = decide_winner(
      {{"a", range(3.0, 2.5, 3.5)}, {"b", range(2.8, 2.0, 3.0)}, {"c", range(1, 0.9, 1.1)}}, true,
      2);
  EXPECT_EQ(v.kind, Verdict::Kind::kTieOverlap);
  EXPECT_EQ(v.text(), "tie (ranges overlap): a, b");  // c is clear of a: not in the tie
  // Touching ranges overlap.
  EXPECT_EQ(
      decide_winner({{"a", range(3.0, 2.5, 3.5)}, {"b", range(2.0, 1.5, 2.5)}}, true, 2).text(),
      "tie (ranges overlap): a, b");
}

TEST(Winner, ClearGapWins) {
  EXPECT_EQ(
      decide_winner({{"a", range(3.0, 2.9, 3.1)}, {"b", range(2.0, 1.9, 2.1)}}, true, 2).text(),
      "a");
  // Lower is better (latency): the lowest mean with a clear gap.
  EXPECT_EQ(
      decide_winner({{"a", range(3.0, 2.9, 3.1)}, {"b", range(2.0, 1.9, 2.1)}}, false, 1).text(),
      "b");
}

// basic_run: 3.00 tasks/min, 7/60 = 0.1167 steps/s; multiport_run: 12.00, 0.30; one_sample_run:
// zero-length window (n/a).
TEST(Compare, TablesAndWinners) {
  std::vector<NamedRun> runs{{"thunderreact_c4", fixture("basic_run")},
                             {"baseline_c4", fixture("multiport_run")},
                             {"thunderreact_c8", fixture("one_sample_run")}};
  auto table = build_compare_table(runs, 70.0);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->systems, (std::vector<std::string>{"thunderreact", "baseline"}));
  EXPECT_EQ(table->concurrencies, (std::vector<int>{4, 8}));
  EXPECT_EQ(table->winner(4, false), "baseline");
  EXPECT_EQ(table->winner(4, true), "baseline");
  EXPECT_EQ(table->winner(8, false), "-");
  // C = 8: one_sample_run's window has zero length and its log no closing line: the row
  // falls back to whole-run figures, which it does not have either.
  const std::string note =
      "\n(whole run): some run of the row has no active-window rate, so the row shows "
      "whole-run figures (the driver's closing line) for every run\n";
  EXPECT_EQ(render_compare_markdown(*table, false),
            "| C | thunderreact | baseline | winner |\n"
            "| ---: | ---: | ---: | --- |\n"
            "| 4 | 3.00 | 12.00 | baseline |\n"
            "| 8 (whole run) | n/a | - | - |\n" +
                note);
  EXPECT_EQ(render_compare_markdown(*table, true),
            "| C | thunderreact | baseline | winner |\n"
            "| ---: | ---: | ---: | --- |\n"
            "| 4 | 0.12 | 0.30 | baseline |\n"
            "| 8 (whole run) | n/a | - | - |\n" +
                note);
  const std::string csv = render_compare_csv(*table);
  EXPECT_NE(csv.find("4,baseline,baseline_c4,12,0.3,10,2,3,,,\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("8,thunderreact,thunderreact_c8,,,0,1,1,,,\n"), std::string::npos) << csv;
}

TEST(Compare, TiesAndConcurrencyFromTheLog) {
  // Same run under two names: equal values tie. Without a number in the name, the
  // concurrency comes from the driver's max_concurrency=4.
  std::vector<NamedRun> runs{{"a", fixture("basic_run")}, {"b_c4", fixture("basic_run")}};
  auto table = build_compare_table(runs, 70.0);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->concurrencies, (std::vector<int>{4}));
  EXPECT_EQ(table->winner(4, false), "tie (equal): a, b");
}

TEST(Compare, SeedFoldersAggregate) {
  // Two seeds per cell: baseline 3.00 and 12.00 (mean 7.50), thunderreact 3.00 twice. The
  // ranges overlap (3.00 lies in 3.00-12.00): a tie, not "baseline".
  std::vector<NamedRun> runs{{"baseline_c4_s1", fixture("basic_run")},
                             {"baseline_c4_s2", fixture("multiport_run")},
                             {"thunderreact_c4_s1", fixture("basic_run")},
                             {"thunderreact_c4_s2", fixture("basic_run")}};
  auto table = build_compare_table(runs, 70.0);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->systems, (std::vector<std::string>{"baseline", "thunderreact"}));
  EXPECT_EQ(table->concurrencies, (std::vector<int>{4}));
  EXPECT_EQ(table->seed_count, 2u);
  const Spread b = table->cell(4, "baseline", false);
  EXPECT_EQ(b.n, 2u);
  EXPECT_DOUBLE_EQ(b.mean, 7.5);
  EXPECT_DOUBLE_EQ(b.min, 3.0);
  EXPECT_DOUBLE_EQ(b.max, 12.0);
  EXPECT_EQ(table->winner(4, false), "tie (ranges overlap): baseline, thunderreact");
  const std::string md = render_compare_markdown(*table, false);
  EXPECT_NE(md.find("| 4 | 7.50 (3.00-12.00) | 3.00 (3.00-3.00) | tie (ranges overlap): "
                    "baseline, thunderreact |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("mean (min-max) over 2 seeds"), std::string::npos) << md;
  EXPECT_NE(render_compare_csv(*table).find(",baseline_c4_s2,12,0.3,10,2,3,2,"), std::string::npos);
  // The same seed twice is a duplicate.
  auto duplicate = build_compare_table(
      {{"a_c4_s1", fixture("basic_run")}, {"a_c4_s1", fixture("multiport_run")}}, 70.0);
  ASSERT_FALSE(duplicate);
  EXPECT_NE(duplicate.error().message.find("seed 1"), std::string::npos);
}

TEST(Compare, NoWindowFallsBackToWholeRunLabelled) {
  // At 95% basic_run has no window: its row shows the driver's whole-run 1.09 tasks/min,
  // marked, instead of "n/a".
  auto table = build_compare_table({{"a_c4", fixture("basic_run")}}, 95.0);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_TRUE(table->row_whole_run(4));
  const std::string md = render_compare_markdown(*table, false);
  EXPECT_NE(md.find("| 4 (whole run) | 1.09 | a |"), std::string::npos) << md;
  EXPECT_NE(md.find("(whole run): some run of the row has no active-window rate"),
            std::string::npos)
      << md;
}

TEST(Compare, Errors) {
  auto duplicate = build_compare_table(
      {{"x_c4", fixture("basic_run")}, {"x_c4", fixture("multiport_run")}}, 70.0);
  ASSERT_FALSE(duplicate);
  EXPECT_NE(duplicate.error().message.find("two runs"), std::string::npos);
  auto unreadable = build_compare_table({{"x_c4", fixture("absent")}}, 70.0);
  ASSERT_FALSE(unreadable);
  EXPECT_NE(unreadable.error().message.find("x_c4: "), std::string::npos);
  ScratchDir dir;
  const auto run = dir.copy_fixture("one_sample_run", "nameless");  // no max_concurrency line
  auto nameless = build_compare_table({{"nameless", run}}, 70.0);
  ASSERT_FALSE(nameless);
  EXPECT_NE(nameless.error().message.find("cannot tell the concurrency"), std::string::npos);
}

std::size_t count(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

TEST(Plot, KvPlotPanelsWindowAndTaskMarks) {
  ScratchDir dir;
  const auto out = dir.path() / "plots/kv.svg";
  Status written = write_kv_plot(
      {{"basic <run>", fixture("basic_run")}, {"two ports", fixture("multiport_run")}}, 70.0, out);
  ASSERT_TRUE(written) << written.error().message;
  const std::string svg = read_file(out);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href="), std::string::npos);              // self-contained
  EXPECT_NE(svg.find("basic &lt;run&gt;"), std::string::npos);  // labels escaped
  // One polyline per port: 1 + 2; one shaded window per panel.
  EXPECT_EQ(count(svg, "<polyline"), 3u);
  EXPECT_EQ(count(svg, "<title>active window, "), 2u);
  // Task marks: 6 finished tasks in basic_run, 4 in multiport_run (one "M" per tick).
  EXPECT_NE(svg.find("<title>6 finished tasks</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>4 finished tasks</title>"), std::string::npos);
  EXPECT_NE(svg.find("3 tasks inside, 3.00 tasks/min"), std::string::npos);
  EXPECT_NE(svg.find("2 tasks inside, 12.00 tasks/min"), std::string::npos);
}

TEST(Plot, KvPlotErrors) {
  ScratchDir dir;
  EXPECT_FALSE(write_kv_plot({}, 70.0, dir.path() / "kv.svg"));
  Status missing = write_kv_plot({{"gone", dir.path() / "absent"}}, 70.0, dir.path() / "kv.svg");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("gone: "), std::string::npos);
  // A run without a window is drawn, unshaded.
  ASSERT_TRUE(write_kv_plot({{"r", fixture("basic_run")}}, 99.0, dir.path() / "kv.svg"));
  const std::string svg = read_file(dir.path() / "kv.svg");
  EXPECT_EQ(count(svg, "<title>active window, "), 0u);
  EXPECT_NE(svg.find("no sample above 99%"), std::string::npos);
}

TEST(Plot, ThroughputChart) {
  ScratchDir dir;
  const auto out = dir.path() / "throughput.svg";
  const double nan = std::nan("");
  ASSERT_TRUE(write_throughput_chart({{"baseline", 32, 3.36, 2.95},
                                      {"thunderreact", 32, 3.77, 2.97},
                                      {"continuum", 32, 3.55, 2.83},
                                      {"baseline", 64, nan, nan}},
                                     out));
  const std::string svg = read_file(out);
  // 3 bars with values per chart (tasks/min, steps/s) and one "n/a" per chart.
  EXPECT_EQ(count(svg, "<rect x="), 3u * 2 + 3u * 2);  // bars + legend squares
  EXPECT_EQ(count(svg, ">n/a</text>"), 2u);
  EXPECT_NE(svg.find(">3.77</text>"), std::string::npos);
  EXPECT_NE(svg.find(">2.97</text>"), std::string::npos);
  EXPECT_NE(svg.find("C = 64"), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"errorbar\""), 0u);  // one seed: no error bars
  EXPECT_FALSE(write_throughput_chart({}, out));
}

TEST(Plot, ThroughputErrorBarsOverSeeds) {
  ScratchDir dir;
  const auto out = dir.path() / "throughput.svg";
  ThroughputRow a{"baseline", 32, 3.0, 2.0, 2.5, 3.5, 1.8, 2.2, 3, false};
  ThroughputRow b{"thunderreact", 32, 4.0, 2.5, 3.9, 4.1, 2.4, 2.6, 3, false};
  ThroughputRow c{"baseline", 64, 1.09, 0.5, 1.0, 1.2, 0.4, 0.6, 3, true};
  ASSERT_TRUE(write_throughput_chart({a, b, c}, out));
  const std::string svg = read_file(out);
  // One error bar per bar and chart, with the range in its tooltip.
  EXPECT_EQ(count(svg, "class=\"errorbar\""), 3u * 2);
  EXPECT_NE(svg.find("baseline C=32: min 2.50, max 3.50 over 3 seeds"), std::string::npos);
  EXPECT_NE(svg.find("mean over 3 seeds"), std::string::npos);
  EXPECT_NE(svg.find(">(whole run)</text>"), std::string::npos);  // the fallback row, labelled
  const std::string csv = read_file(dir.path() / "throughput.csv");
  EXPECT_NE(csv.find("tasks_per_min,32,baseline,active_window,3,2.5,3.5,3\n"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("steps_per_s,64,baseline,whole_run,0.5,0.4,0.6,3\n"), std::string::npos)
      << csv;
}

TEST(Plot, KvGridSharesAxesAndWritesItsCsv) {
  ScratchDir dir;
  const auto out = dir.path() / "kv_usage.svg";
  KvPlotOptions options;
  options.smooth_seconds = 20;
  ASSERT_TRUE(write_kv_grid({{"baseline", "C = 4", "seed 1", fixture("basic_run")},
                             {"baseline", "C = 4", "seed 2", fixture("basic_run")},
                             {"baseline", "C = 8", "seed 1", fixture("basic_run")},
                             {"thunderreact", "C = 4", "seed 1", fixture("basic_run")}},
                            options, out));
  const std::string svg = read_file(out);
  // 2 rows x 2 columns; the empty cell says so. Axis titles once, a legend per seed.
  EXPECT_EQ(count(svg, ">no run</text>"), 1u);
  EXPECT_EQ(count(svg, "KV cache usage (%)</text>"), 1u);
  EXPECT_EQ(count(svg, "seconds since the run&#39;s first sample</text>"), 1u);
  EXPECT_NE(svg.find(">seed 2</text>"), std::string::npos);
  EXPECT_NE(svg.find("moving average over 20 s"), std::string::npos);
  // y tick labels on the first column only: "100" twice (two rows), not four times.
  EXPECT_EQ(count(svg, "text-anchor=\"end\">100</text>"), 2u);
  // The threshold label sits in the right margin, once per row.
  EXPECT_EQ(count(svg, ">70%</text>"), 2u);
  const std::string csv = read_file(dir.path() / "kv_usage.csv");
  EXPECT_EQ(csv.rfind("row,column,series,port,kind,seconds,value\n", 0), 0u);
  EXPECT_EQ(count(csv, ",window_start,"), 4u);
  EXPECT_EQ(count(csv, ",task_finished,"), 4u * 6);
  // Every drawn KV point is a CSV row.
  std::size_t points = 0;
  for (std::size_t at = svg.find("points=\""); at != std::string::npos;
       at = svg.find("points=\"", at + 1)) {
    const std::size_t end = svg.find('"', at + 8);
    points += count(svg.substr(at + 8, end - at - 8), ",");
  }
  EXPECT_EQ(count(csv, ",kv_usage_percent,"), points);
}

TEST(Plot, LatencyDistributions) {
  ScratchDir dir;
  const auto out = dir.path() / "latency.svg";
  std::vector<double> fast, slow;
  for (int i = 1; i <= 100; ++i) {
    fast.push_back(i * 10.0);
    slow.push_back(i * 1000.0);
  }
  ASSERT_TRUE(write_latency_plot(
      {{"baseline", 32, fast, 3, false}, {"ours", 32, slow, 3, false}, {"ours", 64, {}, 1, true}},
      "llm_call", out));
  const std::string svg = read_file(out);
  EXPECT_EQ(count(svg, "class=\"latency-box\""), 2u);
  EXPECT_EQ(count(svg, ">n/a</text>"), 1u);
  EXPECT_NE(svg.find("log scale"), std::string::npos);
  const std::string csv = read_file(dir.path() / "latency.csv");
  // p50 of 10..1000 ms is 505 ms; p99 is 990.1 ms.
  EXPECT_NE(csv.find("32,baseline,active_window,3,100,0.109,0.2575,0.505,0.7525,0.90"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("64,ours,whole_run,1,0,,,,,,,\n"), std::string::npos) << csv;
}

TEST(Plot, LineChartForSweeps) {
  ScratchDir dir;
  const auto out = dir.path() / "sweep.svg";
  LineChart chart;
  chart.title = "Sweep of kv_tokens";
  chart.x_label = "kv_tokens";
  chart.marker_x = 200000;
  chart.marker_label = "base";
  chart.panels.push_back({"tasks/min",
                          {{"baseline", {{100000, 2.0, 1.8, 2.2}, {200000, 3.0}, {300000, 3.5}}},
                           {"ours", {{100000, 2.5}, {200000, NAN}, {300000, 4.0, 3.9, 4.1}}}}});
  ASSERT_TRUE(write_line_chart(chart, out));
  const std::string svg = read_file(out);
  EXPECT_EQ(count(svg, "class=\"errorbar\""), 2u);
  EXPECT_EQ(count(svg, "<circle"), 5u + 2u);  // points + legend markers; NaN is no point
  EXPECT_NE(svg.find(">base</text>"), std::string::npos);
  EXPECT_NE(svg.find(">kv_tokens</text>"), std::string::npos);
  const std::string csv = read_file(dir.path() / "sweep.csv");
  EXPECT_NE(csv.find("tasks/min,baseline,100000,2,1.8,2.2\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("tasks/min,ours,200000,,,\n"), std::string::npos) << csv;
  EXPECT_FALSE(write_line_chart(LineChart{}, out));
}

TEST(MatrixSummary, SeedsTiesAndWholeRunFallback) {
  ScratchDir dir;
  std::vector<MatrixRun> runs{{"a", 4, 1, fixture("basic_run")},
                              {"a", 4, 2, fixture("multiport_run")},
                              {"b", 4, 1, fixture("basic_run")},
                              {"b", 4, 2, fixture("basic_run")}};
  auto summary = summarize_matrix(runs, 70.0);
  ASSERT_TRUE(summary) << summary.error().message;
  const std::string& md = summary->markdown;
  // a: 3.00 and 12.00, b: 3.00 twice: the ranges overlap.
  EXPECT_NE(md.find("| 4 | 7.50 (3.00-12.00) | 3.00 (3.00-3.00) | tie (ranges overlap): a, b |"),
            std::string::npos)
      << md;
  ASSERT_TRUE(write_matrix_plots(*summary, dir.path()));
  const std::string svg = read_file(dir.path() / "throughput.svg");
  EXPECT_EQ(count(svg, "class=\"errorbar\""), 2u * 2);  // two bars per chart, two charts
  EXPECT_NE(
      read_file(dir.path() / "throughput.csv").find("tasks_per_min,4,a,active_window,7.5,3,12,2"),
      std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "kv_usage.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "latency.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "latency.csv"));

  // At 95% no run has a window: the window tables say so and show whole-run figures.
  auto none = summarize_matrix({{"a", 4, 1, fixture("basic_run")}}, 95.0);
  ASSERT_TRUE(none);
  EXPECT_NE(none->markdown.find("### tasks/min, active window (no run has one: whole-run "
                                "figures)\n\n"
                                "| C | a | best |\n|---:|---:|---|\n| 4 | 1.09 | a |"),
            std::string::npos)
      << none->markdown;
  ASSERT_TRUE(write_matrix_plots(*none, dir.path()));
  const std::string whole_svg = read_file(dir.path() / "throughput.svg");
  EXPECT_NE(whole_svg.find("whole run (no run has an active window)"), std::string::npos);
  EXPECT_EQ(whole_svg.find(">n/a</text>"), std::string::npos);
}

}  // namespace
}  // namespace agentsched::analysis
