// Latency stats: the percentile definition, and the basic_run / multiport_run answers.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/bottleneck.h"
#include "analysis/latency.h"
#include "test_support.h"

namespace agentsched::analysis {
namespace {

using testing::fixture;
using testing::ScratchDir;

// numpy.percentile(x, q) with its default (linear) method: h = (n - 1) q, interpolate between
// x[floor(h)] and the next.
TEST(Percentile, LinearInterpolationLikeNumpy) {
  EXPECT_EQ(percentile_sorted({1, 2, 3, 4}, 0.9), 3.7);  // h = 2.7
  EXPECT_EQ(percentile_sorted({15, 20, 35, 40, 50}, 0.5), 35.0);
  EXPECT_EQ(percentile_sorted({15, 20, 35, 40, 50}, 0.9), 46.0);  // h = 3.6: 40 + 0.6 * 10
  EXPECT_EQ(percentile_sorted({7}, 0.99), 7.0);
  EXPECT_EQ(percentile_sorted({1, 2}, 1.0), 2.0);
  EXPECT_EQ(percentile_sorted({1, 2}, 0.0), 1.0);
  EXPECT_TRUE(std::isnan(percentile_sorted({}, 0.5)));
}

TEST(LatencyStats, EmptyAndUnsorted) {
  LatencyStats empty = compute_latency_stats({});
  EXPECT_EQ(empty.n, 0u);
  EXPECT_TRUE(std::isnan(empty.mean));
  EXPECT_TRUE(std::isnan(empty.p99));
  EXPECT_TRUE(std::isnan(empty.max));
  LatencyStats s = compute_latency_stats({30, 10, 20});
  EXPECT_EQ(s.n, 3u);
  EXPECT_EQ(s.mean, 20.0);
  EXPECT_EQ(s.p50, 20.0);
  EXPECT_EQ(s.p90, 28.0);  // h = 1.8: 20 + 0.8 * 10
  EXPECT_EQ(s.min, 10.0);
  EXPECT_EQ(s.max, 30.0);
}

// basic_run, window [10:00:10, 10:01:10], latencies from logs/tau2_global.log:
// llm_call inside: 1000 @00:12, 2000 @00:25, 3000 @00:45, 300000 @00:50 (the glued line),
// 400000 @00:55, 1300000 @01:10 (= end). Outside: 999999 @00:05, 5000 @02:00; a garbled one
// (duration_ms=abc) is skipped. Sorted inside: [1000, 2000, 3000, 300000, 400000, 1300000]:
// mean 2006000 / 6; p50: h = 2.5 -> 3000 + 0.5 * 297000 = 151500; p90: h = 4.5 -> 400000 +
// 0.5 * 900000 = 850000; p99: h = 4.95 -> 400000 + 0.95 * 900000 = 1255000.
// Over 300 s (strictly): 400000, 1300000 -> 2 (300000 is not over); over 1200 s: 1.
// user_sim inside: 7811.42 @00:30 only (2000 @01:30 is after): n = 1, every stat 7811.42.
// expert_call: only 2031.55 @02:00.5, after: n = 0.
TEST(Latency, BasicRunInsideWindow) {
  auto report = analyze_latencies(fixture("basic_run"), 70.0, LatencyScope::kActiveWindow);
  ASSERT_TRUE(report) << report.error().message;
  const LatencyReport& r = *report;
  EXPECT_TRUE(r.from_global_log);
  EXPECT_EQ(r.source_file, fixture("basic_run") / "logs/tau2_global.log");
  EXPECT_TRUE(r.source_note.empty());
  EXPECT_EQ(r.scope, LatencyScope::kActiveWindow);
  EXPECT_EQ(r.llm_call.n, 6u);
  EXPECT_EQ(r.llm_call.mean, 2006000.0 / 6.0);
  EXPECT_EQ(r.llm_call.p50, 151500.0);
  EXPECT_EQ(r.llm_call.p90, 850000.0);
  EXPECT_DOUBLE_EQ(r.llm_call.p99, 1255000.0);
  EXPECT_EQ(r.llm_call.min, 1000.0);
  EXPECT_EQ(r.llm_call.max, 1300000.0);
  EXPECT_EQ(r.llm_calls_over_300s, 2u);
  EXPECT_EQ(r.llm_calls_over_1200s, 1u);
  EXPECT_EQ(r.user_sim.n, 1u);
  EXPECT_EQ(r.user_sim.mean, 7811.42);
  EXPECT_EQ(r.user_sim.p50, 7811.42);
  EXPECT_EQ(r.user_sim.p99, 7811.42);
  EXPECT_EQ(r.user_sim.min, 7811.42);
  EXPECT_EQ(r.expert_call.n, 0u);
  EXPECT_TRUE(std::isnan(r.expert_call.mean));

  // Slowest first, with task and step.
  ASSERT_EQ(r.slowest_llm_calls.size(), 6u);
  EXPECT_EQ(r.slowest_llm_calls[0].duration_ms, 1300000.0);
  EXPECT_EQ(r.slowest_llm_calls[0].task, "retail:3");
  EXPECT_EQ(r.slowest_llm_calls[0].step, 7);
  EXPECT_EQ(r.slowest_llm_calls[0].unix_time, 1767607270.0);
  EXPECT_EQ(r.slowest_llm_calls[1].task, "retail:5");
  EXPECT_EQ(r.slowest_llm_calls[1].step, 6);
  EXPECT_EQ(r.slowest_llm_calls[2].duration_ms, 300000.0);
  EXPECT_EQ(r.slowest_llm_calls[2].task, "telecom:4");
  EXPECT_EQ(r.slowest_llm_calls[5].duration_ms, 1000.0);
  // The global log's bad-timestamp step line and its duration_ms=abc llm_call line.
  EXPECT_EQ(r.source_log.garbled_lines, 2u);
}

// Whole run: llm_call [1000, 2000, 3000, 5000, 300000, 400000, 999999, 1300000]:
// p50: h = 3.5 -> 5000 + 0.5 * 295000 = 152500; over 300 s: 400000, 999999, 1300000 -> 3.
TEST(Latency, BasicRunWholeRun) {
  auto report = analyze_latencies(fixture("basic_run"), 70.0, LatencyScope::kWholeRun);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->scope, LatencyScope::kWholeRun);
  EXPECT_EQ(report->llm_call.n, 8u);
  EXPECT_EQ(report->llm_call.p50, 152500.0);
  EXPECT_EQ(report->llm_calls_over_300s, 3u);
  EXPECT_EQ(report->llm_calls_over_1200s, 1u);
  EXPECT_EQ(report->user_sim.n, 2u);
  EXPECT_EQ(report->expert_call.n, 1u);
  EXPECT_EQ(report->expert_call.max, 2031.55);
  ASSERT_EQ(report->slowest_llm_calls.size(), 8u);
  EXPECT_EQ(report->slowest_llm_calls[1].duration_ms, 999999.0);
  EXPECT_EQ(report->slowest_llm_calls[1].task, "retail:0");
}

// The same lines from driver.log when the global log is empty: same answers, and the report
// says where they came from.
TEST(Latency, FallsBackToDriverLogWhenGlobalLogIsEmpty) {
  ScratchDir dir;
  const auto run = dir.copy_fixture("basic_run", "run");
  dir.write("run/logs/tau2_global.log", "");
  auto report = analyze_latencies(run, 70.0, LatencyScope::kActiveWindow);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->from_global_log);
  EXPECT_EQ(report->source_file, run / "driver.log");
  EXPECT_NE(report->source_note.find("is empty"), std::string::npos);
  EXPECT_EQ(report->llm_call.n, 6u);
  EXPECT_EQ(report->llm_call.p50, 151500.0);
  EXPECT_EQ(report->user_sim.n, 1u);
}

// multiport_run has no logs/ folder: llm_call inside [00:05, 00:15] = 100 @00:06, 300 @00:14;
// p90: h = 0.9 -> 100 + 0.9 * 200 = 280; p99: 100 + 0.99 * 200 = 298.
TEST(Latency, FallsBackToDriverLogWhenGlobalLogIsAbsent) {
  auto report = analyze_latencies(fixture("multiport_run"), 70.0, LatencyScope::kActiveWindow);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->from_global_log);
  EXPECT_NE(report->source_note.find("is absent"), std::string::npos);
  EXPECT_EQ(report->llm_call.n, 2u);
  EXPECT_EQ(report->llm_call.mean, 200.0);
  EXPECT_EQ(report->llm_call.p50, 200.0);
  EXPECT_EQ(report->llm_call.p90, 280.0);
  EXPECT_EQ(report->llm_call.p99, 298.0);
}

TEST(Latency, WindowScopeNeedsAWindow) {
  auto report = analyze_latencies(fixture("basic_run"), 95.0, LatencyScope::kActiveWindow);
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message.find("no KV sample above 95%"), std::string::npos);
}

// Bottleneck = window (per-edge steps from driver.log) + latencies (global log), the two logs
// scanned at once.
TEST(Bottleneck, BasicRun) {
  auto report = analyze_bottleneck(fixture("basic_run"), 70.0);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->window.steps_in_window, 7u);
  EXPECT_EQ(report->window.steps_by_edge.size(), 4u);
  EXPECT_EQ(report->latencies.llm_call.n, 6u);
  EXPECT_EQ(report->latencies.llm_calls_over_300s, 2u);
  auto whole = analyze_bottleneck(fixture("basic_run"), 95.0, LatencyScope::kWholeRun);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_FALSE(whole->window.has_window);
  EXPECT_EQ(whole->latencies.llm_call.n, 8u);
  EXPECT_FALSE(analyze_bottleneck(fixture("basic_run"), 95.0));
}

}  // namespace
}  // namespace agentsched::analysis
