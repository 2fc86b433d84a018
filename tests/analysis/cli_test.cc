// The built `agentsched analyze ...` binary on fixtures: JSON for machines, exit codes and
// one-line errors for people.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "command_runner.h"
#include "test_support.h"

namespace agentsched::analysis {
namespace {

using testing::fixture;
using testing::ScratchDir;

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout, or stdout + stderr when asked
};

// `prefix` goes before the binary (e.g. "timeout 60 ").
Outcome run_agentsched(const std::string& arguments, bool merge_stderr = false,
                       const std::string& prefix = "") {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on a chain of operator+.
  std::string command = prefix;
  command += "'";
  command += AGENTSCHED_BINARY;
  command += "' ";
  command += arguments;
  command += merge_stderr ? " 2>&1" : " 2>/dev/null";
  const auto r = test_commands::run_shell(command);
  return Outcome{r.exit_code, r.out};
}

std::string quoted(const std::filesystem::path& path) {
  std::string text = "'";  // appended, not "'" + ...: GCC 12 warns falsely (-Wrestrict)
  text += path.string();
  text += "'";
  return text;
}

TEST(Cli, WindowJson) {
  Outcome o =
      run_agentsched("analyze window --threshold 70 --json " + quoted(fixture("basic_run")) +
                     " one=" + quoted(fixture("one_sample_run")));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const boost::json::value doc = boost::json::parse(o.out);
  EXPECT_EQ(doc.at("threshold_percent").as_double(), 70.0);
  const auto& runs = doc.at("runs").as_array();
  ASSERT_EQ(runs.size(), 2u);
  const auto& basic = runs[0].as_object();
  EXPECT_EQ(basic.at("name").as_string(), "basic_run");
  EXPECT_EQ(basic.at("window_start_unix").as_double(), 1767607210.0);
  EXPECT_EQ(basic.at("window_start").as_string(), "2026-01-05 10:00:10.000");
  EXPECT_EQ(basic.at("window_seconds").as_double(), 60.0);
  EXPECT_EQ(basic.at("tasks_in_window").as_int64(), 3);
  EXPECT_EQ(basic.at("steps_in_window").as_int64(), 7);
  EXPECT_EQ(basic.at("tasks_per_min").as_double(), 3.0);
  // Boost.JSON's default parser may be off by an ulp; the text itself is the shortest exact one.
  EXPECT_DOUBLE_EQ(basic.at("steps_per_s").as_double(), 7.0 / 60.0);
  EXPECT_NE(o.out.find("\"steps_per_s\": 0.11666666666666667,"), std::string::npos);
  EXPECT_EQ(basic.at("whole_run").at("tasks_per_min").as_double(), 1.09);
  EXPECT_EQ(basic.at("driver_log").at("garbled_lines").as_int64(), 1);
  // Zero-length window: rates are null, with the reason.
  const auto& one = runs[1].as_object();
  EXPECT_EQ(one.at("name").as_string(), "one");
  EXPECT_TRUE(one.at("tasks_per_min").is_null());
  EXPECT_TRUE(one.at("steps_per_s").is_null());
  EXPECT_NE(one.at("note").as_string().find("zero length"), boost::json::string::npos);
}

TEST(Cli, BottleneckJson) {
  Outcome o = run_agentsched("analyze bottleneck --json x=" + quoted(fixture("basic_run")));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const boost::json::value doc = boost::json::parse(o.out);
  const auto& run = doc.at("runs").as_array().at(0);
  const auto& latencies = run.at("latencies");
  EXPECT_TRUE(latencies.at("from_global_log").as_bool());
  EXPECT_EQ(latencies.at("llm_call").at("p50_ms").as_double(), 151500.0);
  EXPECT_EQ(latencies.at("llm_calls_over_300s").as_int64(), 2);
  EXPECT_TRUE(latencies.at("expert_call").at("mean_ms").is_null());
  EXPECT_EQ(latencies.at("slowest_llm_calls").as_array().at(0).at("task").as_string(), "retail:3");
  EXPECT_EQ(run.at("window").at("steps_by_edge").as_array().size(), 4u);
}

TEST(Cli, CompareTables) {
  Outcome o = run_agentsched("analyze compare thunderreact_c4=" + quoted(fixture("basic_run")) +
                             " baseline_c4=" + quoted(fixture("multiport_run")));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("| 4 | 3.00 | 12.00 | baseline |"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("| 4 | 0.12 | 0.30 | baseline |"), std::string::npos) << o.out;
}

TEST(Cli, StuckAndManifestJson) {
  Outcome stuck =
      run_agentsched("analyze stuck --json --expected-total 5 " + quoted(fixture("stuck_run")));
  ASSERT_EQ(stuck.exit_code, 0) << stuck.out;
  const boost::json::value s = boost::json::parse(stuck.out);
  EXPECT_EQ(s.at("tasks_missing").as_int64(), 2);
  EXPECT_EQ(s.at("unfinished").as_array().at(0).at("task").as_string(), "airline:2");
  EXPECT_EQ(s.at("last_good_task").as_string(), "2026-01-05 10:00:50.000");

  Outcome manifest = run_agentsched("analyze manifest --json " + quoted(fixture("basic_run")));
  ASSERT_EQ(manifest.exit_code, 0) << manifest.out;
  const boost::json::value m = boost::json::parse(manifest.out);
  const auto& run = m.at("runs").as_array().at(0);
  EXPECT_EQ(run.at("files").as_array().at(0).at("lines").as_int64(), 39);
  EXPECT_EQ(run.at("files").as_array().at(0).at("sha256").as_string().size(), 64u);
  EXPECT_EQ(run.at("window").at("tasks_per_min").as_double(), 3.0);
}

TEST(Cli, PlotWritesBothCharts) {
  ScratchDir dir;
  Outcome o = run_agentsched("analyze plot --json --out " + quoted(dir.path()) +
                             " tr_c4=" + quoted(fixture("basic_run")) +
                             " base_c4=" + quoted(fixture("multiport_run")));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "kv_usage.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "throughput.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "throughput.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "latency.svg"));
}

TEST(Cli, WindowSkipsWhatIsNotARunFolder) {
  // `analyze window runs/matrix/*` also names the matrix's summary.md and SVGs.
  ScratchDir dir;
  dir.copy_fixture("basic_run", "baseline_c4");
  dir.write("summary.md", "# tables\n");
  dir.write("kv_usage.svg", "<svg/>");
  std::filesystem::create_directories(dir.path() / "notes");
  Outcome o = run_agentsched("analyze window " + quoted(dir.path()) + "/*", true);
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("summary.md: not a run folder (a file)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("kv_usage.svg: not a run folder (a file)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("notes: not a run folder (no kv_cache_timeseries.csv and no driver.log)"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("baseline_c4 "), std::string::npos) << o.out;  // the run's table row

  // Nothing left to analyse is an error, not an empty table.
  Outcome none = run_agentsched("analyze window " + quoted(dir.path() / "summary.md"), true);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.out.find("no run folder among the arguments"), std::string::npos) << none.out;
  // A run named explicitly is never skipped silently.
  Outcome named = run_agentsched("analyze window x=" + quoted(dir.path() / "summary.md"), true);
  EXPECT_EQ(named.exit_code, 1);
  EXPECT_NE(named.out.find("x: not a folder: "), std::string::npos) << named.out;
}

// `analyze tasks` picks its run folders as the other analyze commands do.
TEST(Cli, TasksSkipsWhatIsNotARunFolderAndNamesAMissingOne) {
  ScratchDir dir;
  dir.copy_fixture("basic_run", "baseline_c4");
  dir.write("summary.md", "# tables\n");
  Outcome o = run_agentsched("analyze tasks " + quoted(dir.path()) + "/*", true);
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("summary.md: not a run folder (a file)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("baseline_c4 "), std::string::npos) << o.out;
  Outcome missing = run_agentsched("analyze tasks " + quoted(dir.path() / "nope"), true);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("no such folder"), std::string::npos) << missing.out;
}

TEST(Cli, HelpSaysWhatEachCommandTakes) {
  Outcome stuck = run_agentsched("analyze stuck --help");
  EXPECT_NE(stuck.out.find("run TEXT REQUIRED"), std::string::npos) << stuck.out;
  EXPECT_EQ(stuck.out.find("runs TEXT"), std::string::npos) << stuck.out;
  Outcome two = run_agentsched(
      "analyze stuck " + quoted(fixture("stuck_run")) + " " + quoted(fixture("basic_run")), true);
  EXPECT_NE(two.exit_code, 0);
  Outcome plot = run_agentsched("analyze plot --help");
  EXPECT_NE(plot.out.find("Print the written files as JSON"), std::string::npos) << plot.out;
  EXPECT_EQ(plot.out.find("instead of tables"), std::string::npos) << plot.out;
}

TEST(Cli, CompareAndPlotReadSeedFolders) {
  ScratchDir dir;
  dir.copy_fixture("basic_run", "baseline_c4_s1");
  dir.copy_fixture("multiport_run", "baseline_c4_s2");
  dir.copy_fixture("basic_run", "thunderreact_c4_s1");
  dir.copy_fixture("basic_run", "thunderreact_c4_s2");
  Outcome o = run_agentsched("analyze compare " + quoted(dir.path()) + "/*_s*");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("| C | baseline | thunderreact | winner |"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("tie (ranges overlap): baseline, thunderreact"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("baseline_c4_s"), std::string::npos) << o.out;  // not a system

  const auto plots = dir.path() / "plots";
  Outcome p = run_agentsched("analyze plot --json --out " + quoted(plots) + " " +
                             quoted(dir.path()) + "/*_s*");
  ASSERT_EQ(p.exit_code, 0) << p.out;
  const boost::json::value doc = boost::json::parse(p.out);
  EXPECT_EQ(doc.at("latency_plot").as_string(), (plots / "latency.svg").string());
  const std::string svg = testing::read_file(plots / "throughput.svg");
  EXPECT_NE(svg.find("class=\"errorbar\""), std::string::npos);
  const std::string kv = testing::read_file(plots / "kv_usage.svg");
  EXPECT_NE(kv.find(">baseline, C = 4</text>"), std::string::npos);
  EXPECT_NE(kv.find(">seed 2</text>"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(plots / "kv_usage.csv"));
}

// analyze report: seeds folded into cells, a NAME=PATH name kept (and escaped), the page's path
// printed; a glob's stray file skipped, a missing folder an error, two runs of one cell refused.
TEST(Cli, AnalyzeReportWritesOnePageForAnyRuns) {
  ScratchDir dir;
  dir.copy_fixture("basic_run", "baseline_c4_s1");
  dir.copy_fixture("multiport_run", "baseline_c4_s2");
  dir.copy_fixture("basic_run", "thunderreact_c4_s1");
  dir.write("notes.txt", "not a run");
  const auto page = dir.path() / "out.html";
  Outcome o = run_agentsched("analyze report --out " + quoted(page) + " " + quoted(dir.path()) +
                             "/*_s* " + quoted(dir.path() / "notes.txt") + " '<b>_c8='" +
                             quoted(dir.path() / "thunderreact_c4_s1"));
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_EQ(o.out, page.string() + "\n");
  const std::string html = testing::read_file(page);
  EXPECT_NE(html.find("<h3>baseline_c4_s2</h3>"), std::string::npos);
  EXPECT_NE(html.find("<h3>&lt;b&gt;_c8</h3>"), std::string::npos);
  EXPECT_EQ(html.find("<b>_c8"), std::string::npos);
  EXPECT_NE(html.find("id=\"run-4\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"run-5\""), std::string::npos);  // notes.txt skipped
  EXPECT_NE(html.find("<th>baseline</th><th>thunderreact</th>"), std::string::npos);

  Outcome missing = run_agentsched(
      "analyze report --out " + quoted(page) + " " + quoted(dir.path() / "nope"), true);
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("no such folder"), std::string::npos) << missing.out;
  Outcome twice = run_agentsched("analyze report --out " + quoted(page) +
                                     " a_c4_s1=" + quoted(dir.path() / "baseline_c4_s1") +
                                     " a_c4_s1=" + quoted(dir.path() / "baseline_c4_s2"),
                                 true);
  EXPECT_EQ(twice.exit_code, 1) << twice.out;
  EXPECT_NE(twice.out.find("a second run of system a, concurrency 4, seed 1"), std::string::npos)
      << twice.out;
}

TEST(Cli, ClearErrors) {
  ScratchDir dir;
  Outcome missing = run_agentsched("analyze window " + quoted(dir.path() / "nope"), true);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("agentsched: error: nope: no such folder: "), std::string::npos)
      << missing.out;

  Outcome none =
      run_agentsched("analyze window --threshold 95 " + quoted(fixture("basic_run")), true);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.out.find("no KV sample above 95%"), std::string::npos) << none.out;

  Outcome garbled = run_agentsched("analyze breakdown " + quoted(fixture("basic_run")), true);
  EXPECT_EQ(garbled.exit_code, 0);
  EXPECT_NE(garbled.out.find("skipped 1 garbled line(s) (first at line 19)"), std::string::npos)
      << garbled.out;
  EXPECT_NE(garbled.out.find("gap from window end to last task  230.0 s"), std::string::npos)
      << garbled.out;

  Outcome range =
      run_agentsched("analyze window --threshold 150 " + quoted(fixture("basic_run")), true);
  EXPECT_NE(range.exit_code, 0);

  // Number bounds name the bound, not the whole range of a double.
  Outcome negative = run_agentsched(
      "sim run --system baseline -c 2 --host-kv-gib -1 --out " + quoted(dir.path() / "r"), true);
  EXPECT_EQ(negative.exit_code, 2);
  EXPECT_NE(negative.out.find("agentsched: error: --host-kv-gib: '-1' must be at least 0"),
            std::string::npos)
      << negative.out;
  Outcome not_number = run_agentsched(
      "sim run --system baseline -c 2 --kv-blocks x --out " + quoted(dir.path() / "r"), true);
  EXPECT_EQ(not_number.exit_code, 2);
  EXPECT_NE(not_number.out.find("--kv-blocks: 'x' is not a number"), std::string::npos)
      << not_number.out;
}

// Every mistake on the command line: one prefix, exit status 2, the unknown word named and
// the nearest valid one suggested. CLI11 alone answered "A subcommand is required" (106) to
// `simm` and "--system is required" to `--sytem`.
TEST(Cli, UsageErrorsNameTheWordAndSuggestTheNearest) {
  const std::pair<std::string, std::string> cases[] = {
      {"simm", "agentsched: error: unknown command 'simm' for 'agentsched' (did you mean 'sim'?)"},
      {"analyze windw",
       "agentsched: error: unknown command 'windw' for 'agentsched analyze' (did you mean "
       "'window'?)"},
      {"sim run --sytem baseline -c 2 --out /nonexistent/x",
       "agentsched: error: unknown option '--sytem' for 'agentsched sim run' (did you mean "
       "'--system'?)"},
      {"sim", "agentsched: error: 'agentsched sim' needs a command: run, matrix"},
      {"sim run --system baseline -c two --out /nonexistent/x", "agentsched: error: "},
      {"sim run --system baseline -c 2 --param budget --out /nonexistent/x",
       "agentsched: error: --param 'budget': expected name=value"},
      {"drive --endpoint http://127.0.0.1:1 -c 2 --param budget=0 --out /nonexistent/x",
       "agentsched: error: --param needs --system"},
      {"sim matrix --threshold 150 --out /nonexistent/x", "agentsched: error: --threshold"},
      {"help simm",
       "agentsched: error: unknown command 'simm' for 'agentsched' (did you mean "
       "'sim'?)"},
  };
  for (const auto& [arguments, expected] : cases) {
    Outcome o = run_agentsched(arguments, true);
    EXPECT_EQ(o.exit_code, 2) << arguments << "\n" << o.out;
    EXPECT_EQ(o.out.rfind(expected, 0), 0u) << arguments << "\n" << o.out;
  }
}

TEST(Cli, HelpCommandAndExitStatusAreDocumented) {
  Outcome top = run_agentsched("help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("Exit status: 0 success; 1 the command failed"), std::string::npos)
      << top.out;
  Outcome run = run_agentsched("help sim run");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("--system"), std::string::npos) << run.out;
  // --param lists every policy's parameters with their defaults, in sim and router alike.
  EXPECT_NE(run.out.find("thunderreact:"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("    budget="), std::string::npos) << run.out;
  Outcome router = run_agentsched("router --help");
  EXPECT_EQ(router.exit_code, 0);
  EXPECT_NE(router.out.find("    budget="), std::string::npos) << router.out;
  EXPECT_EQ(router.out.find("sim --help"), std::string::npos) << router.out;
  Outcome version = run_agentsched("--version");
  EXPECT_NE(version.out.find("(commit "), std::string::npos) << version.out;
}

// A simulated run records what made it; a second run into its folder is refused without
// calling the finished folder incomplete; `check --watch` ends on DONE and measures the
// run's virtual times to the run's end.
TEST(Cli, SimRunProvenanceRefusalAndCheck) {
  ScratchDir dir;
  const std::string out = quoted(dir.path() / "run");
  const std::string args = "sim run --system thunderreact -c 2 --max-programs 3 --out " + out;
  Outcome first = run_agentsched(args, true);
  ASSERT_EQ(first.exit_code, 0) << first.out;

  std::ifstream in(dir.path() / "run" / "agentsched" / "config.json");
  std::stringstream text;
  text << in.rdbuf();
  const boost::json::value config = boost::json::parse(text.str());
  const auto& provenance = config.at("provenance");
  EXPECT_FALSE(provenance.at("git_commit").as_string().empty());
  const auto& words = provenance.at("command_line").as_array();
  ASSERT_GE(words.size(), 4u);
  EXPECT_EQ(words.at(1).as_string(), "sim");
  EXPECT_EQ(words.back().as_string(), (dir.path() / "run").string());
  EXPECT_EQ(provenance.at("profile").at("sha256").as_string().size(), 64u);
  EXPECT_EQ(provenance.at("workload").at("sha256").as_string().size(), 64u);
  // The workload as loaded (--max-programs limits the run, which config.json says elsewhere).
  EXPECT_EQ(provenance.at("workload").at("programs").as_int64(), 278);

  Outcome again = run_agentsched(args, true);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("already holds a run"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("incomplete"), std::string::npos) << again.out;

  Outcome manifest = run_agentsched("analyze manifest --json " + out);
  ASSERT_EQ(manifest.exit_code, 0) << manifest.out;
  bool config_hashed = false;
  const boost::json::value m = boost::json::parse(manifest.out);
  for (const auto& f : m.at("runs").at(0).at("files").as_array())
    if (f.at("role").as_string() == "config_json")
      config_hashed = f.at("present").as_bool() && f.at("sha256").as_string().size() == 64;
  EXPECT_TRUE(config_hashed) << manifest.out;

  // `timeout` turns a watch that never ends into exit status 124.
  Outcome watch = run_agentsched("check --watch 0.2 --run-dir " + out, true, "timeout 60 ");
  EXPECT_EQ(watch.exit_code, 0) << watch.out;
  EXPECT_NE(watch.out.find("verdict: DONE"), std::string::npos) << watch.out;
  EXPECT_NE(watch.out.find("before the run ended"), std::string::npos) << watch.out;
  EXPECT_EQ(watch.out.find(" h ago"), std::string::npos) << watch.out;
}

// A bad --outage is refused before anything is written: exit 2, the reason, no run folder.
TEST(Cli, SimOutageRefusedBeforeTheRunFolder) {
  ScratchDir dir;
  const std::string out = quoted(dir.path() / "run");
  Outcome unknown = run_agentsched(
      "sim run --system thunderreact -c 2 --backends 2 --outage 5:10:20 --out " + out, true);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.out.find("no backend 5 (backends are 0 to 1)"), std::string::npos)
      << unknown.out;
  Outcome all_down = run_agentsched(
      "sim matrix --systems thunderreact -c 2 --backends 2 "
      "--outage 0:10:20 --outage 1:15:30 --out " +
          out,
      true);
  EXPECT_EQ(all_down.exit_code, 2);
  EXPECT_NE(all_down.out.find("no backend is up at 15 s"), std::string::npos) << all_down.out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "run"));
}

}  // namespace
}  // namespace agentsched::analysis
