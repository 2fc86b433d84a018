// report.html in a real browser: Debian's chromium, headless, renders the page that `sim
// matrix` writes; the tests assert on the DOM it builds (the tables and their values, the
// charts, the sections, no script), save a screenshot and a printed PDF under the build
// folder. chromium is a test dependency like any other (scripts/setup.sh installs it): when it
// is missing these tests fail, saying so. CTest label: browser.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "analysis/html_report.h"
#include "analysis/test_support.h"
#include "browser_support.h"

namespace agentsched::analysis {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::ScratchDir;

using browser::count;
using browser::kChromium;
using browser::Outcome;
using browser::png_size;
using browser::quoted;
using browser::run;

// One matrix (2 systems x 2 concurrencies x 2 seeds, a short workload) and its page, shared by
// the tests of this file: simulating it once keeps them quick.
class BrowserReport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir();
    matrix_ = scratch_->path() / "matrix";
    matrix_run_ = run(fmt::format(
        "'{}' sim matrix --systems baseline,thunderreact -c 16,32 --seeds 1,2 --max-programs 40 "
        "--out {} 2>&1",
        AGENTSCHED_BINARY, quoted(matrix_)));
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(fs::exists(kChromium)) << browser::missing_chromium_message();
    ASSERT_EQ(matrix_run_.exit_code, 0) << matrix_run_.out;
    ASSERT_TRUE(fs::exists(matrix_ / "report.html")) << matrix_run_.out;
  }

  // chromium, headless, on the page; `arguments` pick what it does (dump the DOM, screenshot).
  // Its own diagnostics go to `log`.
  static Outcome chromium(const std::string& arguments, const fs::path& log) {
    return browser::chromium("file://" + (matrix_ / "report.html").string(), arguments,
                             scratch_->path() / "profile", log);
  }

  static fs::path output_dir() { return browser::output_dir(AGENTSCHED_BUILD_DIR); }

  static std::size_t run_folders() {
    std::size_t n = 0;
    for (const auto& entry : fs::directory_iterator(matrix_))
      if (entry.is_directory()) ++n;
    return n;
  }

  static inline ScratchDir* scratch_ = nullptr;
  static inline fs::path matrix_;
  static inline Outcome matrix_run_;
};

TEST_F(BrowserReport, RenderedDomHasTheTablesChartsAndSections) {
  const fs::path log = scratch_->path() / "dom.log";
  const Outcome dom = chromium("--dump-dom", log);
  ASSERT_EQ(dom.exit_code, 0) << read_file(log);
  const std::string& html = dom.out;
  ASSERT_NE(html.find("</html>"), std::string::npos) << html.substr(0, 500);

  // Sections: the four of the page and one per run folder.
  const std::size_t runs = run_folders();
  ASSERT_EQ(runs, 8u);
  for (const char* id :
       {"conditions", "comparison", "plots", "runs", "fig-throughput", "fig-latency", "fig-kv"})
    EXPECT_NE(html.find(fmt::format("id=\"{}\"", id)), std::string::npos) << id;
  for (std::size_t i = 1; i <= runs; ++i)
    EXPECT_NE(html.find(fmt::format("id=\"run-{}\"", i)), std::string::npos) << i;
  EXPECT_EQ(html.find(fmt::format("id=\"run-{}\"", runs + 1)), std::string::npos);

  // Charts: throughput, latency, the KV grid, and one KV chart per run -- parsed as SVG
  // elements by the browser (an <svg> the parser rejected would not be serialised as one).
  EXPECT_EQ(count(html, "<svg "), 3 + runs);
  EXPECT_GE(count(html, "<polyline"), 2 * runs);  // each run's KV line, in the grid and alone

  // Every cell of every summary.md table is a cell of the rendered page, verdicts marked.
  std::vector<std::string> notes;
  const auto tables = tables_from_markdown(read_file(matrix_ / "summary.md"), &notes);
  ASSERT_EQ(tables.size(), 7u);
  std::size_t ties = 0;
  for (const auto& table : tables) {
    EXPECT_NE(html.find(escape_html(table.title)), std::string::npos) << table.title;
    for (const auto& row : table.rows)
      for (std::size_t i = 0; i < row.size(); ++i) {
        const bool verdict = static_cast<int>(i) == table.verdict_column;
        const bool tie = row[i].rfind("tie", 0) == 0;
        if (verdict && tie) ++ties;
        const std::string cls =
            verdict ? (tie ? " class=\"verdict tie\"" : " class=\"verdict\"") : std::string();
        EXPECT_NE(html.find(fmt::format("<td{}>{}</td>", cls, escape_html(row[i]))),
                  std::string::npos)
            << table.title << ": " << row[i];
      }
  }
  EXPECT_EQ(count(html, "class=\"verdict tie\""), ties);

  // And the numbers are the runs' own: the mean over seeds of baseline at C = 32, from
  // summary.json, is a cell of the tasks/min table. At C = 16 (40 programs) KV never passes
  // 70%: that row holds whole-run figures, and is marked so.
  const auto summary = boost::json::parse(read_file(matrix_ / "summary.json")).as_object();
  double sum = 0;
  int n = 0;
  for (const auto& r : summary.at("runs").as_array()) {
    const auto& o = r.as_object();
    if (o.at("system").as_string() == "baseline" && o.at("concurrency").to_number<int>() == 32 &&
        o.at("tasks_per_min").is_number()) {
      sum += o.at("tasks_per_min").to_number<double>();
      ++n;
    }
  }
  ASSERT_EQ(n, 2);
  EXPECT_NE(html.find(fmt::format("<td>{:.2f} (", sum / n)), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"whole-run\"><td>16 (whole run)</td>"), std::string::npos);

  // Conditions and provenance came through, and nothing ran: no script in the page and no
  // script error in the browser's log.
  EXPECT_NE(html.find("git_commit"), std::string::npos);
  EXPECT_NE(html.find("profile.sha256"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  const std::string console = read_file(log);
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  EXPECT_EQ(console.find(":CONSOLE("), std::string::npos) << console;
}

TEST_F(BrowserReport, ScreenshotAndPrintAreWritten) {
  const fs::path png = output_dir() / "report.png";
  const fs::path pdf = output_dir() / "report.pdf";
  fs::remove(png);
  fs::remove(pdf);
  const fs::path log = scratch_->path() / "shot.log";
  const Outcome shot =
      chromium(fmt::format("--screenshot={} --window-size=1280,2000", quoted(png)), log);
  ASSERT_EQ(shot.exit_code, 0) << read_file(log);
  const std::string image = read_file(png);
  EXPECT_EQ(png_size(image), (std::pair<unsigned, unsigned>{1280, 2000}));
  // A blank page compresses to a few KB; tables, text and charts do not.
  EXPECT_GT(image.size(), 50'000u);

  const Outcome printed =
      chromium(fmt::format("--print-to-pdf={} --no-pdf-header-footer", quoted(pdf)), log);
  ASSERT_EQ(printed.exit_code, 0) << read_file(log);
  const std::string document = read_file(pdf);
  ASSERT_EQ(document.rfind("%PDF-", 0), 0u);
  // The print style starts each run on a page of its own: at least one page per run.
  EXPECT_GE(count(document, "/Type /Page\n") + count(document, "/Type /Page/") +
                count(document, "/Type /Page "),
            run_folders());
  std::printf("screenshot: %s\nprinted: %s\n", png.c_str(), pdf.c_str());
}

}  // namespace
}  // namespace agentsched::analysis
