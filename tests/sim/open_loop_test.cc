// Open-loop runs: programs start at their arrival times, not when a slot frees; the
// shared-prefix workload's repeated prompts hit the prefix cache; and the engine model against
// the published shared-prefix measurements of vLLM 0.15.1 on an H100 (docs/open-loop.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "analysis/request_latency.h"
#include "model/profile.h"
#include "sim/simulation.h"
#include "workload/shared_prefix.h"

namespace agentsched {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("agentsched_open_loop_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir;
}

// (task -> columns) of agentsched/timeline.csv, by header name.
std::vector<std::map<std::string, std::string>> timeline(const fs::path& run) {
  std::ifstream in(run / "agentsched" / "timeline.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string n; std::getline(header, n, ',');) names.push_back(n);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::map<std::string, std::string> row;
    std::size_t i = 0;
    for (std::string cell; std::getline(ss, cell, ',') && i < names.size();) row[names[i++]] = cell;
    rows.push_back(std::move(row));
  }
  return rows;
}

SimOptions options(std::shared_ptr<const Workload> w, const std::string& profile,
                   const fs::path& out) {
  SimOptions o;
  o.system = *find_system("baseline");
  o.concurrency = 1;  // unused in open loop
  o.profile = *load_profile(profile);
  o.workload = std::move(w);
  o.out_dir = out;
  return o;
}

TEST(OpenLoop, ProgramsStartAtTheirArrivalAndRepeatedPromptsHitTheCache) {
  SharedPrefixParams p;
  p.groups = 2;
  p.users = 3;
  p.system_tokens = 40;    // 2 full blocks shared by a group
  p.question_tokens = 30;  // 70-token prompt: 4 full blocks, 64 tokens can hit
  p.output_tokens = 20;
  p.stages = {{50, 4}};
  auto w = generate_shared_prefix(p, 7);
  ASSERT_TRUE(w.ok()) << w.error().message;
  const auto workload = std::make_shared<const Workload>(std::move(*w));
  const fs::path dir = temp_dir("arrivals");
  auto r = run_simulation(options(workload, "h100-llama31-8b", dir));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ok, static_cast<long>(workload->programs.size()));
  std::map<std::string, double> arrival;
  for (const auto& prog : workload->programs)
    arrival[prog.domain + ":" + prog.task_id] = prog.arrival_s;
  const auto rows = timeline(dir);
  ASSERT_EQ(rows.size(), workload->programs.size());
  int overlapping = 0, repeat_hits = 0;
  double last_finish = 0;
  for (const auto& row : rows) {
    // The call leaves the client when its program arrives (no opening user turn here).
    EXPECT_NEAR(std::stod(row.at("submitted_s")), arrival.at(row.at("task")), 1e-3)
        << row.at("task");
    overlapping += std::stod(row.at("submitted_s")) < last_finish;
    last_finish = std::max(last_finish, std::stod(row.at("finished_s")));
    const int n = std::stoi(row.at("task").substr(row.at("task").find(':') + 1));
    if (n >= 6 && std::stoi(row.at("cached_tokens")) == 64) ++repeat_hits;
  }
  EXPECT_GT(overlapping, 0) << "with C = 1 a closed loop would never overlap calls";
  // After the first pass over the 6 prompts a request finds its whole prompt but the last
  // token's block cached (the KV cache holds all of them).
  EXPECT_EQ(repeat_hits, static_cast<int>(rows.size()) - 6);
  fs::remove_all(dir);
}

TEST(OpenLoop, SharedPrefixRunsOnTheThreeLlamaProfiles) {
  SharedPrefixParams p;
  p.stages = {{5, 20}};
  auto w = generate_shared_prefix(p, 1);
  ASSERT_TRUE(w.ok());
  const auto workload = std::make_shared<const Workload>(std::move(*w));
  for (const char* profile : {"h100-llama31-8b", "a100-llama31-8b", "l40s-llama31-8b"}) {
    const fs::path dir = temp_dir(profile);
    auto r = run_simulation(options(workload, profile, dir));
    ASSERT_TRUE(r.ok()) << profile << ": " << r.error().message;
    auto lat = analysis::analyze_request_latency(dir);
    ASSERT_TRUE(lat.ok()) << lat.error().message;
    ASSERT_EQ(lat->stages.size(), 1u);
    EXPECT_EQ(lat->stages[0].requests, workload->programs.size());
    EXPECT_GT(lat->stages[0].tpot_mean_ms, 0) << profile;
    fs::remove_all(dir);
  }
}

// The published measurement (docs/open-loop.md): vLLM 0.15.1, Llama-3.1-8B-Instruct on an
// H100 SXM, G = 9, U = 5, S = 100, Q = 447, O = 248 with a realised mean output of ~237
// (9% of answers ending early reproduces it), 8 req/s for 600 s then 20 req/s for 600 s.
// The 8 req/s stage is held to the bounds for TPOT and E2E (10%). Not held, and
// reported in docs/open-loop.md: the 20 req/s stage (the model's steps at ~55 requests are
// ~24% slower than measured) and TTFT (the model leaves out the client's HTTP and tokenizer
// time, a near-constant ~12.5 ms at both rates).
// The published client-side measurements of vLLM 0.15.1 on an H100 (docs/open-loop.md):
// TPOT and E2E mean within 10%, TTFT mean within 30%, at both stages. Only the API server's
// time (cost.frontend_ms) was taken from them, from the 8 req/s stage's TTFT.
TEST(OpenLoop, SharedPrefixOnH100MatchesTheMeasuredStages) {
  SharedPrefixParams p;  // defaults: the "general" shape at 8:600,20:600
  p.early_stop_share = 0.09;
  auto w = generate_shared_prefix(p, 1);
  ASSERT_TRUE(w.ok());
  const fs::path dir = temp_dir("h100");
  auto r = run_simulation(
      options(std::make_shared<const Workload>(std::move(*w)), "h100-llama31-8b", dir));
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto lat = analysis::analyze_request_latency(dir);
  ASSERT_TRUE(lat.ok()) << lat.error().message;
  ASSERT_EQ(lat->stages.size(), 2u);
  struct Measured {
    double rate, ttft_ms, e2e_ms, tpot_ms;
  };
  const Measured measured[] = {{8, 25.2, 1893, 7.90}, {20, 29.9, 2278, 9.49}};
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& stage = lat->stages[i];
    const Measured& m = measured[i];
    EXPECT_NEAR(stage.offered_rate, m.rate, 1e-9);
    EXPECT_NEAR(stage.achieved_rate, m.rate, 0.05 * m.rate);  // the H100 keeps up with both
    EXPECT_NEAR(stage.ttft_mean_ms, m.ttft_ms, 0.30 * m.ttft_ms) << m.rate << " req/s";
    EXPECT_NEAR(stage.e2e_mean_ms, m.e2e_ms, 0.10 * m.e2e_ms) << m.rate << " req/s";
    EXPECT_NEAR(stage.tpot_mean_ms, m.tpot_ms, 0.10 * m.tpot_ms) << m.rate << " req/s";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsched
