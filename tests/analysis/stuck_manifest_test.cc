// analyze stuck and analyze manifest on hand-made runs; SHA-256 against FIPS 180-4 vectors.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/manifest.h"
#include "analysis/sha256.h"
#include "analysis/stuck.h"
#include "test_support.h"

namespace agentsched::analysis {
namespace {

using testing::fixture;
using testing::ScratchDir;

constexpr double k10h = 1767607200.0;

// stuck_run (total_tasks=5 in driver.log):
// retail:0 FINISHED 00:30; retail:3 failed (TASK_COMPLETE status=error) 00:40; telecom:1
// FINISHED 00:50 (last good task); airline:2 steps 00:42, 00:45, last event llm_call step 3
// at 00:55, never ends; a fifth task never appears.
// -> finished 2, ended 3, errored 1, missing 5 - 3 = 2, unfinished [airline:2], never
// started 1. After 00:50: 1 event (the llm_call), 0 steps.
// KV: 0.30 @00:00, 0.80 @00:10, 0.85 @00:20, 0.90 @00:30, 0.75 @00:40, 0.72 @00:50,
// 0.04 @01:00, 0.02 @01:10, 0.01 @01:20, 0.01 @01:30, 0.01 @02:00.
// Around 00:50 +- 60 s = [09:59:50, 10:01:50]: the first 10 samples, mean 4.40 / 10 = 0.44,
// 5 above 70%. During the stall (after 00:50): 0.04, 0.02, 0.01, 0.01, 0.01: n 5, max 0.04,
// mean 0.018. Stall = last sample 02:00 - 00:50 = 70 s.
TEST(Stuck, StuckRun) {
  auto report = analyze_stuck(fixture("stuck_run"), 70.0, std::nullopt);
  ASSERT_TRUE(report) << report.error().message;
  const StuckReport& r = *report;
  EXPECT_EQ(r.expected_total, 5);
  EXPECT_EQ(r.tasks_finished, 2u);
  EXPECT_EQ(r.tasks_ended, 3u);
  EXPECT_EQ(r.tasks_errored, 1u);
  EXPECT_EQ(r.tasks_missing, 2);
  ASSERT_EQ(r.unfinished.size(), 1u);
  EXPECT_EQ(r.unfinished[0].task, "airline:2");
  EXPECT_EQ(r.unfinished[0].last_event_type, "llm_call");
  EXPECT_EQ(r.unfinished[0].last_step, 3);
  EXPECT_EQ(r.unfinished[0].last_event_unix, k10h + 55);
  EXPECT_EQ(r.unfinished[0].steps, 2u);
  EXPECT_EQ(r.never_started, 1);
  EXPECT_FALSE(r.run_completed);
  EXPECT_EQ(*r.last_good_task_unix, k10h + 50);
  EXPECT_EQ(*r.last_step_unix, k10h + 45);
  EXPECT_EQ(*r.last_event_unix, k10h + 55);
  EXPECT_EQ(r.events_after_last_good_task, 1u);
  EXPECT_EQ(r.steps_after_last_good_task, 0u);
  EXPECT_EQ(r.samples_around.size(), 10u);
  EXPECT_EQ(r.kv_around.n, 10u);
  EXPECT_DOUBLE_EQ(r.kv_around.mean, 0.44);
  EXPECT_EQ(r.kv_around.above_threshold, 5u);
  EXPECT_EQ(r.kv_during_stall.n, 5u);
  EXPECT_EQ(r.kv_during_stall.max, 0.04);
  EXPECT_EQ(r.kv_during_stall.min, 0.01);
  EXPECT_DOUBLE_EQ(r.kv_during_stall.mean, 0.018);
  EXPECT_EQ(*r.stall_seconds, 70.0);
  EXPECT_NE(r.diagnosis.find("stalled"), std::string::npos) << r.diagnosis;
}

TEST(Stuck, ExpectedTotalOverridesTheDriver) {
  auto report = analyze_stuck(fixture("stuck_run"), 70.0, 10L, 5.0);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->expected_total, 10);
  EXPECT_EQ(report->tasks_missing, 7);
  EXPECT_EQ(report->never_started, 6);
  // +- 5 s around 00:50: the 00:50 sample only.
  EXPECT_EQ(report->kv_around.n, 1u);
  EXPECT_EQ(report->kv_around.max, 0.72);
}

// basic_run completed: every task of its [PROFILE] lines has a FINISHED line (retail:0 00:09.999,
// airline:2 00:40.5, telecom:4 01:10, retail:3 01:10.001, retail:5 05:00).
TEST(Stuck, CompletedRun) {
  auto report = analyze_stuck(fixture("basic_run"), 70.0, std::nullopt);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->run_completed);
  EXPECT_TRUE(report->unfinished.empty());
  EXPECT_EQ(report->tasks_finished, 6u);
  EXPECT_EQ(report->tasks_ended, 7u);   // 6 FINISHED + retail:6 (error)
  EXPECT_EQ(report->tasks_missing, 1);  // total_tasks=8
}

TEST(Sha256, KnownVectors) {
  auto hex = [](std::string_view text) {
    Sha256 h;
    h.update(text);
    return h.hex_digest();
  };
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Fed in uneven pieces: same digest as at once.
  Sha256 pieces;
  const std::string million(1000000, 'a');
  for (std::size_t i = 0; i < million.size(); i += 997)
    pieces.update(std::string_view(million).substr(i, 997));
  EXPECT_EQ(pieces.hex_digest(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Manifest, ListsFilesWithHashesAndSummary) {
  ScratchDir dir;
  dir.write("run/driver.log",
            "[2026-01-05 10:05:30] Global evaluation complete: ok=1 error=0 total=1 "
            "elapsed_s=1.0 tasks_per_min=60.00\n");
  dir.write("run/kv_cache_timeseries.csv", "abc");  // 3 bytes, one line without '\n'
  auto manifest = build_manifest("r", dir.path() / "run");
  ASSERT_TRUE(manifest) << manifest.error().message;
  ASSERT_EQ(manifest->files.size(), 5u);
  EXPECT_EQ(manifest->files[0].role, "driver_log");
  EXPECT_TRUE(manifest->files[0].present);
  EXPECT_EQ(manifest->files[0].lines, 1u);
  EXPECT_FALSE(manifest->files[1].present);  // logs/tau2_global.log
  EXPECT_EQ(manifest->files[2].bytes, 3u);
  EXPECT_EQ(manifest->files[2].lines, 1u);
  EXPECT_EQ(manifest->files[2].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(manifest->files[3].present);
  // agentsched/config.json (the run's provenance): absent from the reference's folders.
  EXPECT_EQ(manifest->files[4].role, "config_json");
  EXPECT_FALSE(manifest->files[4].present);
  ASSERT_TRUE(manifest->summary_line);
  EXPECT_EQ(*manifest->summary_line,
            "Global evaluation complete: ok=1 error=0 total=1 elapsed_s=1.0 tasks_per_min=60.00");
}

TEST(Manifest, Errors) {
  ScratchDir dir;
  EXPECT_FALSE(build_manifest("x", dir.path() / "absent"));
  std::filesystem::create_directories(dir.path() / "empty_run");
  auto empty = build_manifest("x", dir.path() / "empty_run");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("none of"), std::string::npos);
}

}  // namespace
}  // namespace agentsched::analysis
