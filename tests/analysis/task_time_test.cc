// analyze tasks: task completion time from driver.log (analysis/task_time.h), with answers
// worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "analysis/task_time.h"
#include "fixture_files.h"

namespace agentsched::analysis {
namespace {

namespace fs = std::filesystem;

// The reference's format sample: retail:0 starts with the user simulator's opening message,
// which ended at 10:12:49.512 after 7,811.42 ms (so at 10:12:41.70058), and finishes at
// 10:17:40.551: 298.85042 s. telecom:1 failed (an expert's 500s); airline:2 finished, but
// none of its events is in the sample, so its start is unknown.
TEST(TaskTimes, FormatSampleAsWorkedOut) {
  auto r = analyze_task_times(test_fixtures::path("run-format"), 70);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->whole_run.n, 1u);
  EXPECT_NEAR(r->whole_run.p50_s, 298.85042, 1e-3);
  EXPECT_NEAR(r->whole_run.max_s, 298.85042, 1e-3);
  EXPECT_EQ(r->failed, 1u);
  EXPECT_EQ(r->unmeasured, 1u);
}

// Three tasks; KV above 70% from 10:01:00 to 10:03:00.
//   a: first event ends 10:00:10 after 10 s (starts 10:00:00), finishes 10:01:40: 100 s
//   b: starts 10:00:30 (an llm_call of 20 s ending 10:00:50), finishes 10:02:30: 120 s
//   c: starts 10:00:00 (user_sim of 60 s ending 10:01:00), finishes 10:05:00: 300 s (after
//      the window)
// Whole run: p50 120, max 300, mean 173.33; in the window: a and b, p50 110 (interpolated).
TEST(TaskTimes, WholeRunAndWindow) {
  const fs::path dir =
      fs::temp_directory_path() / ("agentsched_task_time_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto finished = [](const char* time, const char* domain, const char* id) {
    return std::string("2026-01-05 ") + time +
           " | INFO     | tau2.run:run_task:569 - FINISHED SIMULATION: Domain: " + domain +
           ", Task: " + id + ", Agent: LLMAgent, User: UserSimulator. Reward: 1.0\n";
  };
  std::ofstream(dir / "driver.log")
      << "[USER_JUDGE] 2026-01-05 10:00:10.000 task=d:a thread=1 type=user_sim step=1 "
         "model=u call_type=openai duration_ms=10000\n"
      << "[PROFILE] 2026-01-05 10:00:50.000 task=d:b thread=2 type=llm_call step=2 model=m "
         "call_type=vllm duration_ms=20000 input_tokens=1 output_tokens=1 has_tool_calls=False\n"
      << "[USER_JUDGE] 2026-01-05 10:01:00.000 task=d:c thread=3 type=user_sim step=1 "
         "model=u call_type=openai duration_ms=60000\n"
      << finished("10:01:40.000", "d", "a") << finished("10:02:30.000", "d", "b")
      << finished("10:05:00.000", "d", "c");
  std::ofstream kv(dir / "kv_cache_timeseries.csv");
  kv << "ts_iso,ts_unix,port,metric,value\n";
  const long t0 = 1767607200;  // 2026-01-05 10:00:00 UTC
  for (long t = 0; t <= 300; t += 30)
    kv << "x," << t0 + t << ",8000,vllm:kv_cache_usage_perc," << (t >= 60 && t <= 180 ? 0.9 : 0.1)
       << "\n";
  kv.close();
  auto r = analyze_task_times(dir, 70);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->whole_run.n, 3u);
  EXPECT_NEAR(r->whole_run.p50_s, 120, 1e-6);
  EXPECT_NEAR(r->whole_run.max_s, 300, 1e-6);
  EXPECT_NEAR(r->whole_run.mean_s, 520.0 / 3, 1e-6);
  ASSERT_TRUE(r->has_window);
  EXPECT_EQ(r->window.n, 2u);
  EXPECT_NEAR(r->window.p50_s, 110, 1e-6);
  EXPECT_NEAR(r->window.max_s, 120, 1e-6);
  EXPECT_FALSE(analyze_task_times(dir / "nope", 70).ok());
  fs::remove_all(dir);
}

// llm_calls over every call but each task's first: a's first call (300 s, held in a gateway)
// is left out, its two later calls (10 s, 30 s) count; b's only call is its first; c's two
// calls are logged out of order (the later one first), and its first (by start, 50 s) is the
// one left out. Later calls: 10, 30, 5 s -> n 3, max 30; in the window (10:05 to 10:10,
// by end time): a's 30 s call only. Failed tasks' calls count as well.
TEST(TaskTimes, LlmCallsButEachTasksFirst) {
  const fs::path dir =
      fs::temp_directory_path() / ("agentsched_task_calls_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto call = [](const char* time, const char* task, double ms) {
    return std::string("[PROFILE] 2026-01-05 ") + time + " task=" + task +
           " thread=1 type=llm_call step=2 model=m call_type=vllm duration_ms=" +
           std::to_string(ms) + " input_tokens=1 output_tokens=1 has_tool_calls=False\n";
  };
  std::ofstream(dir / "driver.log")
      << call("10:05:00.000", "d:a", 300000) << call("10:05:20.000", "d:a", 10000)
      << call("10:06:00.000", "d:a", 30000) << call("10:01:00.000", "d:b", 40000)
      << call("10:02:10.000", "d:c", 5000) << call("10:01:00.000", "d:c", 50000);
  std::ofstream kv(dir / "kv_cache_timeseries.csv");
  kv << "ts_iso,ts_unix,port,metric,value\n";
  const long t0 = 1767607200;  // 2026-01-05 10:00:00 UTC
  for (long t = 0; t <= 900; t += 30)
    kv << "x," << t0 + t << ",8000,vllm:kv_cache_usage_perc," << (t >= 330 && t <= 600 ? 0.9 : 0.1)
       << "\n";
  kv.close();
  auto r = analyze_task_times(dir, 70);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->later_calls.n, 3u);
  EXPECT_NEAR(r->later_calls.max_s, 30, 1e-6);
  EXPECT_NEAR(r->later_calls.p50_s, 10, 1e-6);
  ASSERT_TRUE(r->has_window);
  EXPECT_EQ(r->later_calls_window.n, 1u);
  EXPECT_NEAR(r->later_calls_window.max_s, 30, 1e-6);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsched::analysis
