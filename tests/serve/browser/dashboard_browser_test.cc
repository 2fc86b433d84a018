// The router's GET /dashboard in a real browser: an engine emulator and a router in front of
// it as processes, a few programs registered through the router, then Debian's chromium,
// headless, loads the page from the router and runs its script against the live endpoints.
// The tests assert on the DOM it builds (the backend's row, the programs, the policy, the rate
// lines, no script error) and save a screenshot under build/browser/. CTest label: browser.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "browser_support.h"
#include "serve/router_test_util.h"

namespace agentsched::serve {
namespace {

namespace fs = std::filesystem;
using namespace agentsched::testing;
using browser::kChromium;
using browser::Outcome;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The text between `open` (searched from `from`) and the next `close`; "" if absent.
std::string between(const std::string& html, const std::string& open, const std::string& close) {
  const auto start = html.find(open);
  if (start == std::string::npos) return {};
  const auto end = html.find(close, start + open.size());
  if (end == std::string::npos) return {};
  return html.substr(start + open.size(), end - start - open.size());
}

// One engine, one router (thunderreact, so the policy table has parameters; both at the
// engine's time scale) and three programs
// left registered, shared by the tests of this file.
class DashboardBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = start_engine().release();
    router_ = start_router({engine_->url()}, {"--policy", "thunderreact", "--time-scale", "200"})
                  .release();
    scratch_ = fs::temp_directory_path() / fmt::format("agentsched-dashboard-{}", ::getpid());
    fs::create_directories(scratch_);
  }
  static void TearDownTestSuite() {
    delete router_;
    delete engine_;
    router_ = nullptr;
    engine_ = nullptr;
    std::error_code ignored;
    fs::remove_all(scratch_, ignored);
  }

  void SetUp() override {
    ASSERT_TRUE(fs::exists(kChromium)) << browser::missing_chromium_message();
    ASSERT_GT(engine_->port(), 0);
    ASSERT_GT(router_->port(), 0);
    // Programs stay registered until released or idle past --program-ttl (an hour): none is
    // released here, so the page must list them. Registered once for the suite.
    if (!registered_) {
      for (const char* id : kPrograms) {
        const auto r = call(router_->port(), "POST", "/v1/chat/completions",
                            chat_body(fmt::format(R"("job_id":{})",
                                                  boost::json::serialize(boost::json::string(id))),
                                      16));
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 200) << r->body;
      }
      registered_ = true;
    }
    // The backend's row shows a poll once there has been one.
    ASSERT_TRUE(wait_until([&] {
      const auto b = get_json(router_->port(), "/backends");
      return b.is_object() && b.at("backends").at(0).at("polled_at_s").to_number<double>() >= 0;
    }));
  }

  static std::string dashboard_url() {
    return fmt::format("http://127.0.0.1:{}/dashboard", router_->port());
  }

  // The page after its script has run for five seconds of virtual time (two refreshes or
  // more; virtual time waits for the fetches to the router to finish).
  static Outcome chromium(const std::string& arguments, const fs::path& log) {
    return browser::chromium(dashboard_url(), "--virtual-time-budget=5000 " + arguments,
                             scratch_ / "profile", log, 60);
  }

  // Markup in an id would be shown, not parsed: the page writes values as text.
  static constexpr const char* kPrograms[] = {"dashboard:agent-1", "dashboard:agent-2",
                                              "dashboard:<i>escaped</i>&more"};
  static inline ServiceProcess* engine_ = nullptr;
  static inline ServiceProcess* router_ = nullptr;
  static inline fs::path scratch_;
  static inline bool registered_ = false;
};

TEST_F(DashboardBrowser, RenderedDomShowsBackendProgramsPolicyAndRates) {
  const fs::path log = scratch_ / "dom.log";
  const Outcome dom = chromium("--dump-dom", log);
  ASSERT_EQ(dom.exit_code, 0) << read_text(log);
  const std::string& html = dom.out;
  ASSERT_NE(html.find("</html>"), std::string::npos) << html.substr(0, 500);

  // The refresh went through (the status line says when, not that it failed).
  const std::string refresh = between(html, "<span id=\"refresh\" class=\"muted\">", "</span>");
  EXPECT_EQ(refresh.rfind("updated ", 0), 0u) << between(html, "<header>", "</header>");

  // The backend's row: its URL, up, a KV usage percentage with its bar, a recent poll.
  const std::string row = between(html, "<tr id=\"backend-0\">", "</tr>");
  ASSERT_FALSE(row.empty()) << html;
  EXPECT_NE(row.find(fmt::format("<td>{}</td>", engine_->url())), std::string::npos) << row;
  EXPECT_NE(row.find("<td class=\"up\">up</td>"), std::string::npos) << row;
  const std::string kv = between(row, "<td class=\"num kv\">", "<span class=\"bar\">");
  EXPECT_NE(kv.find(" %"), std::string::npos) << row;
  const double kv_percent = std::stod(kv);
  EXPECT_GE(kv_percent, 0.0);
  EXPECT_LE(kv_percent, 100.0);
  EXPECT_NE(row.find(" s ago</td>"), std::string::npos) << row;
  EXPECT_EQ(browser::count(html, "<tr id=\"backend-"), 1u);  // one backend, one row

  // The programs table: every program by its job_id, placed on the backend, idle, one step.
  const std::string programs = between(html, "<table id=\"programs-table\">", "</table>");
  // (Each id cell also carries the id as its title, for ids cut short.)
  EXPECT_EQ(browser::count(programs, "<td class=\"job-id\" title=\""), 3u) << programs;
  EXPECT_NE(programs.find("\">dashboard:agent-1</td>"), std::string::npos);
  EXPECT_NE(programs.find("\">dashboard:agent-2</td>"), std::string::npos);
  EXPECT_NE(programs.find("\">dashboard:&lt;i&gt;escaped&lt;/i&gt;&amp;more</td>"),
            std::string::npos)
      << programs;
  EXPECT_EQ(html.find("<i>escaped</i>"), std::string::npos);
  EXPECT_EQ(browser::count(programs, "<td class=\"state-idle\">idle</td>"), 3u) << programs;
  EXPECT_EQ(browser::count(programs, fmt::format("<td>{}</td>", engine_->url())), 3u);
  EXPECT_NE(html.find("(3 tracked, 0 calls held)"), std::string::npos);

  // The policy and its parameters.
  EXPECT_NE(html.find("<strong id=\"policy-name\">thunderreact</strong>"), std::string::npos);
  const std::string params = between(html, "<table id=\"params-table\">", "</table>");
  EXPECT_GE(browser::count(params, "<tr>"), 3u) << params;  // header row and parameters
  EXPECT_EQ(params.find("(no parameters)"), std::string::npos);

  // Rates: two or more refreshes gave the plots their lines; the counters count the three
  // calls and no error.
  EXPECT_EQ(browser::count(html, "<svg "), 2u);
  for (const char* line : {"request-line", "error-line"}) {
    const std::string tag = between(html, fmt::format("<polyline id=\"{}\"", line), ">");
    const std::string points = between(tag, "points=\"", "\"");
    EXPECT_FALSE(points.empty()) << line << ": " << tag;
  }
  EXPECT_NE(html.find("3 requests, 0 errors, 0 held now"), std::string::npos)
      << between(html, "<div id=\"totals\">", "</div>");
  EXPECT_NE(html.find("<td>bad_request</td>"), std::string::npos);

  // No script error, no blocked load, no failed fetch.
  const std::string console = read_text(log);
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  EXPECT_EQ(console.find("Content Security Policy"), std::string::npos) << console;
  EXPECT_EQ(html.find("class=\"stale\""), std::string::npos);  // the failed-refresh mark
  // The browser asked the router for nothing it would have proxied (no /favicon.ico): the
  // backend saw the three calls only.
  EXPECT_EQ(get_json(router_->port(), "/backends").at("backends").at(0).at("requests"), 3);
}

TEST_F(DashboardBrowser, ScreenshotIsWritten) {
  const fs::path png = browser::output_dir(AGENTSCHED_BUILD_DIR) / "dashboard.png";
  fs::remove(png);
  const fs::path log = scratch_ / "shot.log";
  const Outcome shot =
      chromium(fmt::format("--screenshot={} --window-size=1280,1000", browser::quoted(png)), log);
  ASSERT_EQ(shot.exit_code, 0) << read_text(log);
  const std::string image = read_text(png);
  EXPECT_EQ(browser::png_size(image), (std::pair<unsigned, unsigned>{1280, 1000}));
  // A blank page compresses to a few KB; tables and text do not.
  EXPECT_GT(image.size(), 30'000u);
  std::printf("screenshot: %s\n", png.c_str());
}

}  // namespace
}  // namespace agentsched::serve
