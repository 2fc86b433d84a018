// agentsched's own run files, one schema for sim and live (record/timeline.h,
// record/run_config.h), and the data files the fidelity report is built from
// (analysis/report_data.h).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/report_data.h"
#include "record/run_config.h"
#include "record/timeline.h"

namespace agentsched {
namespace {

namespace fs = std::filesystem;

class RunFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentsched_run_files_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "agentsched");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string read(const std::string& name) {
    std::ifstream in(dir_ / "agentsched" / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

TEST_F(RunFiles, TimelineRoundTripsWithUnknownCellsEmpty) {
  auto w = TimelineWriter::create(dir_);
  ASSERT_TRUE(w.ok()) << w.error().message;
  TimelineRow sim{"airline:1", 3,   0,   1,   1.25, 1.5, 2,  3.0004, 0.25,
                  0.5,         0.1, 1.4, 900, 64,   836, 20, 1};
  (*w)->write(sim);
  TimelineRow live;  // what a client knows
  live.task = "retail:7";
  live.step = 2;
  live.submitted_s = 4;
  live.finished_s = 6.5;
  live.prompt_tokens = 100;
  live.output_tokens = 9;
  (*w)->write(live);
  ASSERT_TRUE((*w)->close().ok());
  EXPECT_EQ(read("timeline.csv"),
            "task,step,backend,submitted_s,forwarded_s,first_scheduled_s,first_token_s,"
            "finished_s,gateway_held_s,engine_waiting_s,prefill_s,decode_s,prompt_tokens,"
            "cached_tokens,computed_prompt_tokens,output_tokens,preemptions\n"
            "airline:1,3,0,1.000,1.250,1.500,2.000,3.000,0.250,0.500,0.100,1.400,900,64,836,20,1\n"
            "retail:7,2,,4.000,,,,6.500,,,,,100,,,9,\n");
  auto rows = read_timeline(dir_);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].cached_tokens, 64);
  EXPECT_EQ((*rows)[1].step, 2);
  EXPECT_EQ((*rows)[1].backend, -1);
  EXPECT_TRUE(std::isnan((*rows)[1].first_token_s));
  EXPECT_EQ((*rows)[1].cached_tokens, -1);
  EXPECT_DOUBLE_EQ((*rows)[1].finished_s, 6.5);
}

TEST_F(RunFiles, LiveConfigAndSummaryHaveEverySimKeyInOrder) {
  RunConfig sim;
  sim.tool = "agentsched sim";
  sim.system = "baseline";
  sim.engine_policy = "fcfs";
  sim.gateway_policy = "passthrough";
  sim.gateway_params.emplace();
  sim.profile = "p";
  sim.num_gpu_blocks = 10;
  sim.backends = 1;
  sim.kv_sample_interval_s = 5;
  sim.metrics_interval_s = 0.5;
  sim.metrics_delay_s = 0.005;
  sim.virtual_start = "2026-01-05 10:00:00";
  ASSERT_TRUE(write_run_config(dir_, sim).ok());
  const auto sim_keys = boost::json::parse(read("config.json")).as_object();
  RunConfig live;
  live.tool = "agentsched drive";
  live.live.emplace().endpoint = "http://127.0.0.1:1";
  live.provenance_json = R"({"git_commit":"abc"})";
  ASSERT_TRUE(write_run_config(dir_, live).ok());
  const auto live_keys = boost::json::parse(read("config.json")).as_object();
  ASSERT_GT(live_keys.size(), sim_keys.size());
  auto it = live_keys.begin();
  for (const auto& [key, value] : sim_keys) {
    EXPECT_EQ(it->key(), key);
    ++it;
  }
  EXPECT_TRUE(live_keys.at("profile").is_null());
  EXPECT_EQ(live_keys.at("endpoint").as_string(), "http://127.0.0.1:1");
  EXPECT_EQ((live_keys.end() - 1)->key(), "provenance");

  RunSummary s;
  s.gateway_held_s = 1;
  s.max_gateway_hold_s = 1;
  s.backends.emplace().push_back({});
  ASSERT_TRUE(write_run_summary(dir_, s).ok());
  const auto sim_summary = boost::json::parse(read("summary.json")).as_object();
  RunSummary l;
  l.live.emplace().retries = 2;
  ASSERT_TRUE(write_run_summary(dir_, l).ok());
  const auto live_summary = boost::json::parse(read("summary.json")).as_object();
  for (const auto& [key, value] : sim_summary) EXPECT_TRUE(live_summary.contains(key)) << key;
  EXPECT_TRUE(live_summary.at("backends").is_null());
  EXPECT_EQ(live_summary.at("retries").as_int64(), 2);
}

TEST(ReportData, BuiltInReferenceAndProseLoad) {
  auto ref = analysis::builtin_reference_study();
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(ref->results.size(), 6u);
  EXPECT_EQ(ref->results.front().system, "baseline");
  EXPECT_DOUBLE_EQ(ref->results.front().tasks_per_min, 3.36);
  EXPECT_DOUBLE_EQ(ref->call_latency_ms.p50, 4020);
  auto text = analysis::builtin_fidelity_template();
  ASSERT_TRUE(text.ok()) << text.error().message;
  auto verdict = text->fill("verdict_within", {{"tolerance", "12"}});
  ASSERT_TRUE(verdict.ok()) << verdict.error().message;
  EXPECT_EQ(*verdict, "All residuals are within ±12%.");
  EXPECT_FALSE(text->fill("verdict_within").ok());  // a figure without its value
  EXPECT_FALSE(text->fill("no_such_section").ok());
}

TEST(ReportData, ReferenceErrorsNameFileAndKey) {
  const std::string lat =
      "[call_latency_ms]\np10 = 1\np50 = 2\np90 = 3\np99 = 4\nmax = 5\ndecode_p50 = 1\n"
      "prefill_p50 = 1\n";
  const std::string result =
      "[[result]]\nsystem = \"baseline\"\nconcurrency = 32\ntasks_per_min = 3.0\n"
      "steps_per_s = 2.0\n";
  ASSERT_TRUE(analysis::parse_reference_study(result + lat, "r.toml").ok());
  const std::pair<std::string, std::string> cases[] = {
      {lat, "r.toml: no [[result]] tables"},
      {result, "r.toml: no [call_latency_ms] table"},
      {result + result + lat, "r.toml: result 2: baseline at concurrency 32 given twice"},
      {"[[result]]\nsystem = \"b\"\nconcurrency = 32\ntasks_per_min = 3.0\n" + lat,
       "r.toml: result 1: missing 'steps_per_s'"},
      {"[[result]]\nsystem = \"b\"\nconcurrency = 32\ntasks_per_min = -3.0\nsteps_per_s = 1\n" +
           lat,
       "r.toml: result 1: 'tasks_per_min' must be a positive number"},
      {result + lat + "typo = 1\n", "r.toml: [call_latency_ms]: unknown key 'typo'"},
      {"[[result]]\nsystem = \"b\"\nconcurrency = 0\ntasks_per_min = 3.0\nsteps_per_s = 1\n" + lat,
       "r.toml: result 1: 'concurrency' must be a positive integer"},
  };
  for (const auto& [text, message] : cases) {
    auto r = analysis::parse_reference_study(text, "r.toml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().message, message);
  }
  // A syntax error names the line and the column.
  auto bad = analysis::parse_reference_study(lat + "x = = 1\n", "r.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("r.toml:9:", 0), 0u) << bad.error().message;
}

}  // namespace
}  // namespace agentsched
