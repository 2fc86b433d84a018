// Run names, the comparison tables, and the SVG charts.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/compare.h"
#include "analysis/plot.h"
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
  EXPECT_EQ(render_compare_markdown(*table, false),
            "| C | thunderreact | baseline | winner |\n"
            "| ---: | ---: | ---: | --- |\n"
            "| 4 | 3.00 | 12.00 | baseline |\n"
            "| 8 | n/a | - | - |\n");
  EXPECT_EQ(render_compare_markdown(*table, true),
            "| C | thunderreact | baseline | winner |\n"
            "| ---: | ---: | ---: | --- |\n"
            "| 4 | 0.12 | 0.30 | baseline |\n"
            "| 8 | n/a | - | - |\n");
  const std::string csv = render_compare_csv(*table);
  EXPECT_NE(csv.find("4,baseline,baseline_c4,12,0.3,10,2,3\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("8,thunderreact,thunderreact_c8,,,0,1,1\n"), std::string::npos) << csv;
}

TEST(Compare, TiesAndConcurrencyFromTheLog) {
  // Same run under two names: equal values tie. Without a number in the name, the
  // concurrency comes from the driver's max_concurrency=4.
  std::vector<NamedRun> runs{{"a", fixture("basic_run")}, {"b_c4", fixture("basic_run")}};
  auto table = build_compare_table(runs, 70.0);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->concurrencies, (std::vector<int>{4}));
  EXPECT_EQ(table->winner(4, false), "tie: a, b");
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
  EXPECT_EQ(count(svg, "active window </title>"), 2u);
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
  EXPECT_EQ(count(svg, "active window </title>"), 0u);
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
  EXPECT_FALSE(write_throughput_chart({}, out));
}

}  // namespace
}  // namespace agentsched::analysis
