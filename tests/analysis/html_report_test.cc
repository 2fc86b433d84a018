// report.html's writer on hand-made inputs (analysis/html_report.h): escaping of every text
// that comes from files, ties and whole-run rows marked, the sections and figures present,
// nothing fetched from outside the page. The page in a real browser: browser/.
#include "analysis/html_report.h"

#include <gtest/gtest.h>

#include <regex>

#include "analysis/matrix_summary.h"
#include "analysis/test_support.h"

namespace agentsched::analysis {
namespace {

using testing::fixture;

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size()))
    ++n;
  return n;
}

TEST(HtmlReport, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(escape_html("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(escape_html("plain"), "plain");
}

HtmlReport hand_made_report() {
  HtmlReport r;
  r.title = "Matrix <1>";
  r.conditions = {{"command line", "agentsched sim matrix --out 'a&b' <script>alert(1)</script>"}};
  HtmlTable t;
  t.title = "tasks/min, active window";
  t.header = {"C", "baseline", "thunder<react>", "best"};
  t.verdict_column = 3;
  t.rows = {{"32", "10.00 (9.00-11.00)", "10.50 (10.00-11.00)",
             "tie (ranges overlap): thunder<react>, baseline"},
            {"64 (whole run)", "20.00", "25.00", "thunder<react>"}};
  t.note = "(whole run): some run of the row has no active window";
  r.comparison.push_back(t);
  r.figures.push_back({"fig-a", "a chart", "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>", ""});
  HtmlRunSection run;
  run.name = "run<&>\"x\"";
  run.facts = {{"active window", "none"}};
  r.runs.push_back(run);
  HtmlRunSection broken;
  broken.name = "broken";
  broken.error = "driver.log: <missing>";
  r.runs.push_back(broken);
  return r;
}

TEST(HtmlReport, EscapesRunNamesCommandsAndCells) {
  const std::string html = render_html_report(hand_made_report());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&#39;a&amp;b&#39;"), std::string::npos);
  EXPECT_NE(html.find("<h3>run&lt;&amp;&gt;&quot;x&quot;</h3>"), std::string::npos);
  EXPECT_NE(html.find("<th>thunder&lt;react&gt;</th>"), std::string::npos);
  EXPECT_NE(html.find("<title>Matrix &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("not analysed: driver.log: &lt;missing&gt;"), std::string::npos);
  // The only raw markup inlined is the SVG the page was given.
  EXPECT_NE(html.find("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"), std::string::npos);
}

TEST(HtmlReport, MarksTiesWinnersAndWholeRunRows) {
  const std::string html = render_html_report(hand_made_report());
  EXPECT_NE(html.find("<td class=\"verdict tie\">tie (ranges overlap): thunder&lt;react&gt;, "
                      "baseline</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"verdict\">thunder&lt;react&gt;</td>"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"whole-run\"><td>64 (whole run)</td>"), std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"whole-run\">"), 1u);
  EXPECT_NE(html.find("<p class=\"note\">(whole run): some run of the row"), std::string::npos);
}

TEST(HtmlReport, HasEverySectionAndNothingFromOutside) {
  const std::string html = render_html_report(hand_made_report());
  for (const char* id : {"conditions", "comparison", "plots", "runs", "run-1", "run-2", "fig-a"})
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_NE(html.find("@media print"), std::string::npos);
  // Offline: no script, stylesheet, image or frame from anywhere, no CSS url(); every link is
  // an anchor in the page.
  for (const char* banned : {"<script", "<link", "<img", "<iframe", "src=", "url(", "@import"})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator();
       ++it)
    EXPECT_EQ((*it)[1].str().front(), '#') << (*it)[1].str();
}

TEST(HtmlReport, ReadsMarkdownTablesWithTitlesNotesAndVerdicts) {
  std::vector<std::string> notes;
  const auto tables = tables_from_markdown(
      "## Simulated comparison\n\nbest: a system wins only when ...\n\n### tasks/min, active "
      "window\n\n| C | baseline | tr | best |\n|---:|---:|---:|---|\n| 32 | 1.00 | 2.00 | tr |\n"
      "| 64 (whole run) | 3.00 | 3.00 | tie (equal): baseline, tr |\n\n(whole run): why\n\n"
      "### steps/s\n\n| C | baseline | best |\n|---:|---:|---|\n| 32 | n/a | n/a |\n",
      &notes);
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].title, "tasks/min, active window");
  EXPECT_EQ(tables[0].header, (std::vector<std::string>{"C", "baseline", "tr", "best"}));
  EXPECT_EQ(tables[0].verdict_column, 3);
  ASSERT_EQ(tables[0].rows.size(), 2u);
  EXPECT_EQ(tables[0].rows[1][0], "64 (whole run)");
  EXPECT_EQ(tables[0].rows[1][3], "tie (equal): baseline, tr");
  EXPECT_EQ(tables[0].note, "(whole run): why");
  EXPECT_EQ(tables[1].title, "steps/s");
  EXPECT_EQ(tables[1].rows, (std::vector<std::vector<std::string>>{{"32", "n/a", "n/a"}}));
  EXPECT_EQ(notes, (std::vector<std::string>{"best: a system wins only when ..."}));
}

// From run folders: a run with a window and one without (the whole-run fallback labelled),
// each with its section, KV chart, latency and task tables; one SVG per chart.
TEST(HtmlReport, CollectsAMatrixOfFixtureRuns) {
  const std::vector<MatrixRun> runs = {{"baseline", 32, 1, fixture("basic_run")},
                                       {"thunderreact", 32, 1, fixture("stuck_run")}};
  auto summary = summarize_matrix(runs, 70);
  ASSERT_TRUE(summary) << summary.error().message;
  HtmlReportInput input;
  input.title = "fixtures";
  auto report = collect_matrix_report(*summary, input);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->runs.size(), 2u);
  EXPECT_EQ(report->runs[0].name, "basic_run");
  EXPECT_FALSE(report->runs[0].kv_svg.empty());
  ASSERT_GE(report->runs[0].tables.size(), 2u);
  EXPECT_EQ(report->runs[0].tables[0].title.rfind("Call latency (s), active window", 0), 0u);
  EXPECT_EQ(report->runs[0].tables[1].title.rfind("Task completion time", 0), 0u);
  ASSERT_FALSE(report->comparison.empty());
  const std::string html = render_html_report(*report);
  EXPECT_EQ(count(html, "<svg "), 3u + 2u);  // throughput, latency, KV grid; a KV chart per run
  EXPECT_NE(html.find("id=\"run-2\""), std::string::npos);
  EXPECT_NE(html.find("KV cache usage above 70%"), std::string::npos);
  if (!summary->whole_run_rows.empty()) EXPECT_NE(html.find("(whole run)"), std::string::npos);
}

TEST(HtmlReport, WholeRunFallbackIsLabelledInTheRunSection) {
  // stuck_run's KV stays low: no active window, so its figures are over the whole run.
  const std::vector<MatrixRun> runs = {{"baseline", 8, 0, fixture("stuck_run")}};
  auto summary = summarize_matrix(runs, 99.9);
  ASSERT_TRUE(summary) << summary.error().message;
  auto report = collect_matrix_report(*summary, {});
  ASSERT_TRUE(report) << report.error().message;
  const std::string html = render_html_report(*report);
  EXPECT_NE(html.find("none: no KV sample above 99.9%; the figures below are over the whole run"),
            std::string::npos);
  EXPECT_NE(html.find("Call latency (s), whole run"), std::string::npos);
  EXPECT_NE(html.find("no run has one: whole-run figures"), std::string::npos);
}

}  // namespace
}  // namespace agentsched::analysis
