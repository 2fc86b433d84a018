// The run-format sample (tests/fixtures/run-format): every line shape a reader must accept.
// Answers worked out by hand from the file:
// KV (threshold 70%): 0.012 @10:12:42, 0.455 @10:12:47, NaN @10:12:52 (skipped), 0.7 @10:12:57
// (equal: not above), 0.7012 @10:13:02 (first above; the gpu_cache_usage_perc twin is
// ignored), 0.98 @10:13:07 (last above), 0.31 @10:13:12.
// Window 10:13:02..10:13:07 = 1767607982..1767607987, 5 s.
// FINISHED: 10:16:11.204 (glued after "DEBUG: tool schema refreshed") and 10:17:40.551, both
// after the window. step_complete: 10:12:49.515 (before), 10:13:58.012, 10:13:58.013,
// 10:15:04.903 (after). So 0 tasks and 0 steps inside: 0 tasks/min, 0 steps/s.
#include <gtest/gtest.h>

#include "analysis/window.h"
#include "fixture_files.h"

namespace agentsched::analysis {
namespace {

const std::filesystem::path kSample = test_fixtures::path("run-format");

TEST(FormatSample, WindowAndBreakdown) {
  auto report = analyze_window(kSample, 70.0);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->has_window);
  EXPECT_EQ(report->window_start_unix, 1767607982.0);
  EXPECT_EQ(report->window_end_unix, 1767607987.0);
  EXPECT_EQ(report->window_seconds, 5.0);
  EXPECT_EQ(report->tasks_in_window, 0u);
  EXPECT_EQ(report->steps_in_window, 0u);
  EXPECT_EQ(report->tasks_per_min, 0.0);
  EXPECT_EQ(report->steps_per_s, 0.0);
  EXPECT_EQ(report->tasks_total, 2u);
  EXPECT_EQ(report->tasks_before, 0u);
  EXPECT_EQ(report->tasks_after, 2u);
  EXPECT_EQ(report->steps_total, 4u);
  EXPECT_EQ(report->steps_before, 1u);
  EXPECT_EQ(report->steps_after, 3u);
  // 2026-01-05 10:16:11.204 UTC = 1767607200 + 16 * 60 + 11.204
  ASSERT_TRUE(report->first_task_unix);
  EXPECT_EQ(*report->first_task_unix, 1767608171.204);
  EXPECT_EQ(*report->last_task_unix, 1767608260.551);
  EXPECT_DOUBLE_EQ(*report->gap_window_end_to_last_task_s, 1767608260.551 - 1767607987.0);
  ASSERT_TRUE(report->whole_run);
  EXPECT_EQ(report->whole_run->ok, 275);
  EXPECT_EQ(report->whole_run->error, 3);
  EXPECT_EQ(report->whole_run->total, 278);
  EXPECT_EQ(report->whole_run->elapsed_s, 5566.3);
  EXPECT_EQ(report->whole_run->tasks_per_min, 2.96);
  EXPECT_EQ(report->max_concurrency, 128);
  EXPECT_EQ(report->total_tasks, 278);
  EXPECT_EQ(report->kv.samples, 6u);
  EXPECT_EQ(report->kv.nan_samples, 1u);
  EXPECT_EQ(report->kv.other_metric_rows, 1u);
  EXPECT_EQ(report->kv.garbled_rows, 0u);
  EXPECT_EQ(report->kv.samples_above_threshold, 2u);
  EXPECT_EQ(report->driver_log.garbled_lines, 0u);
  EXPECT_EQ(report->driver_log.lines, 21u);
}

}  // namespace
}  // namespace agentsched::analysis
