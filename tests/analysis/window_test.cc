// Active window, counts, rates and breakdown on hand-made runs (fixtures/README.md). Times:
// 2026-01-05 10:00:00 UTC = 1767607200.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/window.h"
#include "test_support.h"

namespace agentsched::analysis {
namespace {

using testing::fixture;
using testing::ScratchDir;

constexpr double k10h = 1767607200.0;

// basic_run, threshold 70%:
// KV: 0.10 @00:00, 0.70 @00:05 (equal, not above), 0.7012 @00:10 (first above), NaN @00:15
// (skipped), 0.95 @00:20, 0.50 @00:40 (a dip does not split the window), 0.80 @01:10 (last
// above), 0.30 @01:15, 0.7 @01:25 (equal), 0.02 @05:00. Window [10:00:10, 10:01:10] = 60 s.
// FINISHED: 00:09.999 (before by 1 ms), 00:10.000 (= start: inside), 00:40.500 (glued after
// debug text: inside), 01:10.000 (= end: inside), 01:10.001 (after), 05:00.000 (after).
// -> before 1, inside 3, after 2, total 6; tasks/min = 3 / (60 / 60) = 3.
// step_complete: 00:05 (before), 00:10 agent->env, 00:20 env->agent, 00:30 agent->user,
// 00:31 user->agent, 00:50 agent->env (glued after an llm_call record), 01:00 env->agent,
// 01:10 agent->user (= end), 01:12 (after); a garbled step line (bad timestamp) is skipped.
// -> before 1, inside 7, after 1, total 9; steps/s = 7 / 60.
TEST(Window, BasicRun) {
  auto report = analyze_window(fixture("basic_run"), 70.0);
  ASSERT_TRUE(report) << report.error().message;
  const WindowReport& r = *report;
  EXPECT_TRUE(r.has_window);
  EXPECT_EQ(r.window_start_unix, k10h + 10);
  EXPECT_EQ(r.window_end_unix, k10h + 70);
  EXPECT_EQ(r.window_seconds, 60.0);
  EXPECT_EQ(r.tasks_in_window, 3u);
  EXPECT_EQ(r.steps_in_window, 7u);
  EXPECT_EQ(r.tasks_per_min, 3.0);
  EXPECT_EQ(r.steps_per_s, 7.0 / 60.0);
  EXPECT_EQ(r.tasks_before, 1u);
  EXPECT_EQ(r.tasks_after, 2u);
  EXPECT_EQ(r.tasks_total, 6u);
  EXPECT_EQ(r.steps_before, 1u);
  EXPECT_EQ(r.steps_after, 1u);
  EXPECT_EQ(r.steps_total, 9u);
  EXPECT_EQ(*r.first_task_unix, k10h + 9.999);
  EXPECT_EQ(*r.last_task_unix, k10h + 300);
  EXPECT_EQ(*r.last_step_unix, k10h + 72);
  EXPECT_EQ(*r.gap_window_end_to_last_task_s, 230.0);
  EXPECT_TRUE(window_problem(r).empty());

  // Inside the window per edge: agent->env 2, agent->user 2, env->agent 2, user->agent 1.
  ASSERT_EQ(r.steps_by_edge.size(), 4u);
  EXPECT_EQ(r.steps_by_edge[0].edge, "agent->env");
  EXPECT_EQ(r.steps_by_edge[0].steps_in_window, 2u);
  EXPECT_EQ(r.steps_by_edge[0].steps_per_s, 2.0 / 60.0);
  EXPECT_EQ(r.steps_by_edge[1].edge, "agent->user");
  EXPECT_EQ(r.steps_by_edge[2].edge, "env->agent");
  EXPECT_EQ(r.steps_by_edge[3].edge, "user->agent");
  EXPECT_EQ(r.steps_by_edge[3].steps_in_window, 1u);

  ASSERT_TRUE(r.whole_run);
  EXPECT_EQ(r.whole_run->ok, 5);
  EXPECT_EQ(r.whole_run->error, 1);
  EXPECT_EQ(r.whole_run->total, 6);
  EXPECT_EQ(r.whole_run->elapsed_s, 330.0);
  EXPECT_EQ(r.whole_run->tasks_per_min, 1.09);
  EXPECT_EQ(r.max_concurrency, 4);
  EXPECT_EQ(r.total_tasks, 8);

  // driver.log: 39 lines; line 19 (bad timestamp) is garbled; line 20 (an llm_call with
  // duration_ms=abc) is garbled only for readers of latencies, not for this step count; line 22
  // holds two records.
  EXPECT_EQ(r.driver_log.lines, 39u);
  EXPECT_EQ(r.driver_log.garbled_lines, 1u);
  EXPECT_EQ(r.driver_log.first_garbled_line_numbers, (std::vector<std::size_t>{19}));
  EXPECT_EQ(r.driver_log.glued_lines, 1u);
  EXPECT_EQ(r.kv.samples, 9u);
  EXPECT_EQ(r.kv.nan_samples, 1u);
  EXPECT_EQ(r.kv.other_metric_rows, 2u);
  EXPECT_EQ(r.kv.garbled_rows, 1u);
  EXPECT_EQ(r.kv.samples_above_threshold, 3u);
  EXPECT_EQ(r.kv.max_usage, 0.95);
}

// Threshold equality: the highest sample is 0.95, so at 95% nothing is strictly above.
TEST(Window, NoSampleAboveThreshold) {
  auto report = analyze_window(fixture("basic_run"), 95.0);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->has_window);
  EXPECT_TRUE(std::isnan(report->tasks_per_min));
  EXPECT_TRUE(std::isnan(report->steps_per_s));
  EXPECT_EQ(report->tasks_in_window, 0u);
  EXPECT_EQ(report->tasks_total, 6u);  // totals do not need a window
  EXPECT_EQ(report->steps_total, 9u);
  EXPECT_FALSE(report->gap_window_end_to_last_task_s);
  EXPECT_NE(window_problem(*report).find("no KV sample above 95%"), std::string::npos);
  EXPECT_NE(window_problem(*report).find("highest 95.00%"), std::string::npos);
}

// At 70.12% the sample 0.7012 is no longer above; 0.95 @00:20 and 0.80 @01:10 remain.
TEST(Window, ThresholdMovesTheStart) {
  auto report = analyze_window(fixture("basic_run"), 70.12);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->window_start_unix, k10h + 20);
  EXPECT_EQ(report->window_end_unix, k10h + 70);
  // Tasks inside [00:20, 01:10]: 00:40.500 and 01:10.000.
  EXPECT_EQ(report->tasks_in_window, 2u);
  EXPECT_EQ(report->tasks_per_min, 2.0 / (50.0 / 60.0));
}

// multiport_run: rows of port 8001 first. Above 70%: 8001 0.90 @00:15, 8000 0.75 @00:05.
// Window = earliest..latest of those = [00:05, 00:15] = 10 s, although in file order the first
// row above is the later one.
// FINISHED: 00:04.999 (before), 00:05.000, 00:15.000 (inside), 00:15.001 (after).
// step_complete: 00:06, 00:07, 00:14 (inside), 00:20 (after).
// tasks/min = 2 / (10 / 60) = 12; steps/s = 3 / 10 = 0.3.
TEST(Window, SeveralPortsInOneCsv) {
  auto report = analyze_window(fixture("multiport_run"), 70.0);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->window_start_unix, k10h + 5);
  EXPECT_EQ(report->window_end_unix, k10h + 15);
  EXPECT_EQ(report->tasks_in_window, 2u);
  EXPECT_EQ(report->tasks_before, 1u);
  EXPECT_EQ(report->tasks_after, 1u);
  EXPECT_EQ(report->steps_in_window, 3u);
  EXPECT_EQ(report->steps_after, 1u);
  EXPECT_EQ(report->tasks_per_min, 12.0);
  EXPECT_EQ(report->steps_per_s, 0.3);
  EXPECT_EQ(report->kv.ports, (std::vector<int>{8000, 8001}));
  EXPECT_EQ(report->kv.samples, 9u);
  EXPECT_EQ(report->kv.nan_samples, 1u);
  EXPECT_FALSE(report->whole_run);
  EXPECT_EQ(report->max_concurrency, 2);
}

// one_sample_run: only 0.71 @00:05 is above 70% (0.7 @00:10 is equal). Window [00:05, 00:05]:
// zero length. The task and the step at exactly 00:05.000 are inside; 00:05.001 is after.
TEST(Window, OneSampleWindowHasNoRate) {
  auto report = analyze_window(fixture("one_sample_run"), 70.0);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->has_window);
  EXPECT_EQ(report->window_start_unix, k10h + 5);
  EXPECT_EQ(report->window_end_unix, k10h + 5);
  EXPECT_EQ(report->window_seconds, 0.0);
  EXPECT_EQ(report->tasks_in_window, 1u);
  EXPECT_EQ(report->tasks_after, 1u);
  EXPECT_EQ(report->steps_in_window, 1u);
  EXPECT_TRUE(std::isnan(report->tasks_per_min));
  EXPECT_TRUE(std::isnan(report->steps_per_s));
  EXPECT_NE(window_problem(*report).find("zero length"), std::string::npos);
}

TEST(Window, FindActiveWindowDirectly) {
  std::vector<KvSample> samples{{100, 1, 0.2}, {105, 1, 0.8}, {110, 1, 0.7}, {95, 2, 0.9}};
  ActiveWindow w = find_active_window(samples, 70.0);
  ASSERT_TRUE(w.found);
  EXPECT_EQ(w.start_unix, 95.0);
  EXPECT_EQ(w.end_unix, 105.0);
  EXPECT_FALSE(find_active_window(samples, 90.0).found);
  EXPECT_FALSE(find_active_window({}, 70.0).found);
  // 0 % threshold: every sample above 0 counts, a sample of exactly 0 does not.
  EXPECT_EQ(find_active_window({{1, 1, 0.0}, {2, 1, 0.01}, {3, 1, 0.0}}, 0.0).end_unix, 2.0);
}

TEST(Window, Errors) {
  ScratchDir dir;
  auto message = [](const std::filesystem::path& run) {
    auto report = analyze_window(run, 70.0);
    return report ? std::string("ok") : report.error().message;
  };
  EXPECT_NE(message(dir.path() / "absent").find("no such file"), std::string::npos);

  const std::string csv =
      "ts_iso,ts_unix,port,metric,value\n"
      "2026-01-05T10:00:00+00:00,1767607200,8000,vllm:kv_cache_usage_perc,0.9\n";
  dir.write("no_log/kv_cache_timeseries.csv", csv);
  EXPECT_NE(message(dir.path() / "no_log").find("driver.log: no such file"), std::string::npos);

  dir.write("empty_log/kv_cache_timeseries.csv", csv);
  dir.write("empty_log/driver.log", "");
  EXPECT_NE(message(dir.path() / "empty_log").find("driver.log: empty file"), std::string::npos);

  dir.write("nan_csv/kv_cache_timeseries.csv",
            "ts_iso,ts_unix,port,metric,value\n"
            "2026-01-05T10:00:00+00:00,1767607200,8000,vllm:kv_cache_usage_perc,NaN\n");
  dir.write("nan_csv/driver.log", "x\n");
  EXPECT_NE(message(dir.path() / "nan_csv").find("no usable kv_cache_usage_perc sample"),
            std::string::npos);

  auto bad_threshold = analyze_window(fixture("basic_run"), 120.0);
  ASSERT_FALSE(bad_threshold);
  EXPECT_NE(bad_threshold.error().message.find("threshold"), std::string::npos);
}

}  // namespace
}  // namespace agentsched::analysis
