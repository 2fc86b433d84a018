// `sim limit` (docs/sim.md, "Limits"): the admission bound swept over cap values, the ceiling
// on KV that never runs out, and systems as fractions of both -- run small through the binary.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/limit.h"
#include "sim/sim_cli_support.h"
#include "workload/workload_stats.h"

namespace agentsched {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using sim_cli::CommandResult;
using sim_cli::read_json;
using sim_cli::run_command;

double number(const json::value& v) {
  return v.is_null() ? NAN : v.to_number<double>();
}

TEST(Limit, CeilingBlocksGrowWithConcurrencyAndCoverTheLargestCall) {
  auto w = load_workload("tau2", 1, {});
  ASSERT_TRUE(w.ok()) << w.error().message;
  const std::int64_t at8 = ceiling_kv_blocks(*w, 8, 16);
  const std::int64_t at16 = ceiling_kv_blocks(*w, 16, 16);
  // Twice C calls of the largest size, each at least the prompt cap: 2 x 8 x 23000 / 16.
  EXPECT_GE(at8, 2 * 8 * w->prompt_cap_tokens / 16);
  EXPECT_GT(at16, at8);
  EXPECT_EQ(at16 - at8, at8 - ceiling_kv_blocks(*w, 0, 16));  // linear in C, heads once
}

TEST(Limit, SmallRunWritesTheReportAndTheLinesHold) {
  const fs::path out =
      fs::temp_directory_path() / ("agentsched_limit_test_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const auto r = run_command(
      "sim limit --max-programs 40 -c 8 --seeds 1 --caps 2,4 --systems baseline -j 2 --out " +
      out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f : {"limit.md", "limit.json", "limit.csv", "limit.svg"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  for (const char* d :
       {"cap=2/cap_c8", "cap=4/cap_c8", "ceiling/baseline_c8", "systems/baseline_c8"})
    EXPECT_TRUE(fs::exists(out / d / "driver.log")) << d;
  EXPECT_NE(r.output.find("best cap"), std::string::npos);

  const json::object root = read_json(out / "limit.json").as_object();
  const json::array& rows = root.at("per_concurrency").as_array();
  ASSERT_EQ(rows.size(), 1u);
  const json::object& row = rows[0].as_object();
  EXPECT_EQ(row.at("concurrency").to_number<int>(), 8);

  // The best cap is the cap of the curve's highest whole-run mean.
  const int best = row.at("best_cap").to_number<int>();
  const double best_whole = number(row.at("best_cap_whole_tasks_per_min").at("mean"));
  double highest = 0;
  int highest_cap = 0;
  for (const auto& p : row.at("curve").as_array()) {
    const double v = number(p.at("whole_tasks_per_min").at("mean"));
    EXPECT_GT(v, 0);
    if (v > highest) highest = v, highest_cap = p.at("cap").to_number<int>();
  }
  EXPECT_EQ(best, highest_cap);
  EXPECT_DOUBLE_EQ(best_whole, highest);

  // The ceiling never runs out of KV: no preemption, and running requests never need more
  // than half of it.
  EXPECT_EQ(number(row.at("ceiling_preemptions")), 0);
  EXPECT_LT(number(row.at("ceiling_peak_kv_usage")), 0.6);
  EXPECT_GT(number(row.at("ceiling_peak_kv_usage")), 0);

  // Compute is the only limit of the ceiling: nothing here beats it (2% for scheduling noise).
  const double ceiling = number(row.at("ceiling_whole_tasks_per_min").at("mean"));
  EXPECT_GE(ceiling, best_whole * 0.98);
  const json::array& systems = row.at("systems").as_array();
  ASSERT_EQ(systems.size(), 1u);
  const json::object& baseline = systems[0].as_object();
  EXPECT_EQ(baseline.at("system").as_string(), "baseline");
  const double whole = number(baseline.at("whole_tasks_per_min").at("mean"));
  EXPECT_GE(ceiling, whole * 0.98);
  EXPECT_NEAR(number(baseline.at("of_ceiling")), whole / ceiling, 1e-9);
  EXPECT_NEAR(number(baseline.at("of_best_cap")), whole / best_whole, 1e-9);

  // Cap 2 at C = 8 holds programs in the gateway; baseline never does.
  const json::object cap2 = read_json(out / "cap=2/cap_c8/agentsched/summary.json").as_object();
  EXPECT_GT(number(cap2.at("gateway_held_s")), 0);
  const json::object base =
      read_json(out / "systems/baseline_c8/agentsched/summary.json").as_object();
  EXPECT_EQ(number(base.at("gateway_held_s")), 0);

  // The curve's table: one row per (panel, series, cap), the ceiling dashed in the chart.
  std::ifstream csv(out / "limit.csv");
  std::stringstream text;
  text << csv.rdbuf();
  EXPECT_NE(text.str().find("C = 8"), std::string::npos);
  EXPECT_NE(text.str().find("ceiling, C = 8"), std::string::npos);
  std::ifstream svg(out / "limit.svg");
  std::stringstream drawing;
  drawing << svg.rdbuf();
  EXPECT_NE(drawing.str().find("stroke-dasharray=\"6 4\""), std::string::npos);
  // A second study into the same folder is refused before anything runs.
  const auto again =
      run_command("sim limit --max-programs 40 -c 8 --seeds 1 --caps 2 --out " + out.string());
  EXPECT_EQ(again.code, 1) << again.output;
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
  fs::remove_all(out);
}

TEST(Limit, RejectsABadCapList) {
  const auto r = run_command("sim limit --caps 0,4 --out /nonexistent/never");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--caps"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace agentsched
