// Simulator fidelity: the calibrated matrix at C = 32 and 64 against the reference's results
// (docs/reference-study.md section 5), the cost model against its measured anchor (section 8),
// and the
// study commands (sim sweep, sim report) that docs/fidelity.md is made with.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "model/cost_model.h"
#include "model/profile.h"
#include "sim/sim_cli_support.h"
#include "sim/study.h"

namespace agentsched {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("agentsched_fidelity_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir;
}

using sim_cli::CommandResult;
using sim_cli::read_json;
using sim_cli::run_command;

TEST(Fidelity, CostModelReproducesTheMeasuredAnchor) {
  // docs/reference-study.md section 8: H100, Qwen3-8B bf16, 4 concurrent: 7.4 ms per output token.
  auto h100 = load_profile("h100-qwen3-8b");
  ASSERT_TRUE(h100.ok()) << h100.error().message;
  BatchShape four;
  for (int i = 0; i < 4; ++i) four.add(1000, 1);
  EXPECT_NEAR(CostModel(*h100).step_seconds(four) * 1e3, 7.4, 7.4 * 0.05);
  // The reference machine shares the coefficients (one software stack) and its KV capacity
  // lies in the range the reference derives from memory arithmetic.
  auto rtx = load_profile(kDefaultProfile);
  ASSERT_TRUE(rtx.ok());
  EXPECT_EQ(rtx->cost.fixed_ms, h100->cost.fixed_ms);
  EXPECT_EQ(rtx->cost.weight_factor, h100->cost.weight_factor);
  EXPECT_EQ(rtx->cost.kv_factor, h100->cost.kv_factor);
  EXPECT_EQ(rtx->cost.compute_factor, h100->cost.compute_factor);
  EXPECT_GE(rtx->num_gpu_blocks(), 5900);
  EXPECT_LE(rtx->num_gpu_blocks(), 6450);
  // Decode on the 5090 is bounded below by its weight read (9.1 ms) and costs ~1.4x it.
  BatchShape one;
  one.add(1000, 1);
  const double decode_ms = CostModel(*rtx).step_seconds(one) * 1e3;
  EXPECT_GT(decode_ms, 9.1);
  EXPECT_LT(decode_ms, 9.1 * 1.5);
}

// The test the calibration is held to: `sim matrix` at C = 32 and 64 with the built-in profile
// and workload, three systems, seeds 1-3, active-window throughput within 12% of the
// reference (docs/reference-study.md section 5) and the reference's order of the systems at
// C = 32. At C = 64 only baseline is held: the model does not reproduce continuum's collapse
// (+33% / +41% against the measured 2.50 tasks/min, 1.89 steps/s) nor all of thunderreact's
// gain (-12% / -13%), and docs/fidelity-investigation.md records what was tried. When a
// mechanism closes those gaps, their rows join the list below.
TEST(Fidelity, CalibratedMatrixIsWithin12PercentOfTheReference) {
  const fs::path dir = temp_dir("matrix");
  const CommandResult r =
      run_command("sim matrix -c 32,64 --seeds 1,2,3 --no-plots --out " + dir.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const json::value summary = read_json(dir / "summary.json");
  std::map<std::pair<std::string, int>, std::vector<std::pair<double, double>>> by_cell;
  for (const auto& run : summary.at("runs").as_array()) {
    const auto& o = run.as_object();
    ASSERT_TRUE(o.at("ok").as_bool()) << json::serialize(o);
    ASSERT_TRUE(o.at("has_window").as_bool()) << json::serialize(o);
    by_cell[{std::string(o.at("system").as_string()),
             static_cast<int>(o.at("concurrency").to_number<double>())}]
        .emplace_back(o.at("tasks_per_min").to_number<double>(),
                      o.at("steps_per_s").to_number<double>());
  }
  struct Reference {
    const char* system;
    int concurrency;
    double tasks_per_min, steps_per_s;
  };
  std::map<std::string, double> tasks_at_32;
  for (const Reference ref :
       {Reference{"baseline", 32, 3.36, 2.95}, Reference{"continuum", 32, 3.55, 2.83},
        Reference{"thunderreact", 32, 3.77, 2.97}, Reference{"baseline", 64, 3.52, 2.82}}) {
    const auto& runs = by_cell[{ref.system, ref.concurrency}];
    ASSERT_EQ(runs.size(), 3u) << ref.system;
    double tasks = 0, steps = 0;
    for (const auto& [t, s] : runs) {
      tasks += t / 3;
      steps += s / 3;
    }
    EXPECT_NEAR(tasks, ref.tasks_per_min, 0.12 * ref.tasks_per_min)
        << ref.system << " C=" << ref.concurrency;
    EXPECT_NEAR(steps, ref.steps_per_s, 0.12 * ref.steps_per_s)
        << ref.system << " C=" << ref.concurrency;
    if (ref.concurrency == 32) tasks_at_32[ref.system] = tasks;
  }
  // The reference's order at C = 32: thunderreact > continuum > baseline.
  EXPECT_GT(tasks_at_32["thunderreact"], tasks_at_32["continuum"]);
  EXPECT_GT(tasks_at_32["continuum"], tasks_at_32["baseline"]);
  fs::remove_all(dir);
}

TEST(Fidelity, KnobsChangeWhatTheyNameAndRejectNonsense) {
  StudyConfig c;
  c.profile = *load_profile(kDefaultProfile);
  ASSERT_TRUE(set_knob(c, "kv-blocks", 4000).ok());
  EXPECT_EQ(c.kv_blocks, 4000);
  EXPECT_EQ(*knob_value(c, "kv-blocks"), 4000);
  ASSERT_TRUE(set_knob(c, "cost.compute_factor", 1.6).ok());
  EXPECT_EQ(c.profile.cost.compute_factor, 1.6);
  ASSERT_TRUE(set_knob(c, "engine.reserved_gib", 2.4).ok());
  EXPECT_LT(c.profile.num_gpu_blocks(), load_profile(kDefaultProfile)->num_gpu_blocks());
  ASSERT_TRUE(set_knob(c, "output-scale", 0.5).ok());
  EXPECT_EQ(c.tau2.output_scale, 0.5);
  ASSERT_TRUE(set_knob(c, "shared-heads", 0).ok());
  EXPECT_FALSE(c.share_heads);
  EXPECT_FALSE(set_knob(c, "no-such-knob", 1).ok());
  EXPECT_FALSE(set_knob(c, "cost.nope", 1).ok());
  EXPECT_FALSE(set_knob(c, "kv-blocks", 1.5).ok());
  EXPECT_FALSE(set_knob(c, "shared-heads", 2).ok());
  EXPECT_FALSE(set_knob(c, "wait-scale", 0).ok());
  EXPECT_FALSE(set_knob(c, "engine.gpu_memory_utilization", 0.4).ok());  // no room for KV
  auto axis = parse_sweep_axis("cost.kv_factor=1,1.3", c);
  ASSERT_TRUE(axis.ok()) << axis.error().message;
  EXPECT_EQ(axis->values, (std::vector<double>{1.0, 1.3}));
  EXPECT_FALSE(parse_sweep_axis("cost.kv_factor=1,x", c).ok());
  EXPECT_FALSE(parse_sweep_axis("cost.kv_factor=1,1", c).ok());
  EXPECT_FALSE(parse_sweep_axis("kv-blocks", c).ok());
}

TEST(Fidelity, SweepWritesOneMatrixPerValueAndATable) {
  const fs::path dir = temp_dir("sweep");
  const CommandResult r = run_command(
      "sim sweep --vary shared-heads=0,1 --systems baseline -c 8 --seeds 1 --out " + dir.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "shared-heads=0" / "baseline_c8" / "driver.log"));
  EXPECT_TRUE(fs::exists(dir / "shared-heads=1" / "baseline_c8" / "driver.log"));
  const json::value sweep = read_json(dir / "sweep.json");
  const auto& rows = sweep.at("rows").as_array();
  ASSERT_EQ(rows.size(), 2u);
  // Sharing the heads can only help the prefix cache.
  const double hits_distinct = rows[0].at("prefix_hit_rate").to_number<double>();
  const double hits_shared = rows[1].at("prefix_hit_rate").to_number<double>();
  EXPECT_TRUE(rows[1].at("base").as_bool());
  EXPECT_GT(hits_shared, hits_distinct);
  std::ifstream md(dir / "sweep.md");
  std::stringstream text;
  text << md.rdbuf();
  EXPECT_NE(text.str().find("| 1 (base) | baseline | 8 |"), std::string::npos) << text.str();

  const CommandResult bad =
      run_command("sim sweep --vary nope=1,2 --out " + (dir / "bad").string());
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("unknown knob 'nope'"), std::string::npos) << bad.output;
  EXPECT_EQ(std::count(bad.output.begin(), bad.output.end(), '\n'), 1) << bad.output;
  fs::remove_all(dir);
}

TEST(Fidelity, ReportWritesTheDocumentFromTheRuns) {
  const fs::path dir = temp_dir("report");
  const CommandResult r = run_command(
      "sim report --systems baseline -c 32 --seeds 1 --low-load 0 --no-sensitivity --out " +
      (dir / "runs").string() + " --doc " + (dir / "fidelity.md").string());
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream in(dir / "fidelity.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  for (const char* needle :
       {"# Simulator fidelity", "## Residuals at the reference points", "| baseline | 32 |",
        "## Calibration", "KV capacity", "## Predictions", "## Mechanisms", "decode p50"})
    EXPECT_NE(doc.find(needle), std::string::npos) << needle;
  EXPECT_NE(r.output.find("baseline C=32: tasks/min"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsched
