// Readers of the artifact line formats (src/record): timestamps, log records found anywhere
// in a line, the chunked line reader across buffer boundaries, the KV CSV.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "record/driver_log_reader.h"
#include "record/kv_csv_reader.h"
#include "record/line_reader.h"
#include "test_support.h"

namespace agentsched {
namespace {

using analysis::testing::ScratchDir;

// 2026-01-05 00:00:00 UTC: 20458 days after 1970-01-01 -> 1767571200.
constexpr double kDay = 1767571200.0;

TEST(LogTimestamp, ExactToTheMillisecond) {
  std::size_t length = 0;
  auto t = parse_log_timestamp("2026-01-05 10:16:11.204 | INFO", length);
  ASSERT_TRUE(t);
  EXPECT_EQ(length, 23u);
  // Same double as parsing the decimal text directly: ms are integers divided once.
  EXPECT_EQ(*t, 1767608171.204);
  EXPECT_EQ(*parse_log_timestamp("2026-01-05 00:00:00", length), kDay);
  EXPECT_EQ(length, 19u);
  EXPECT_EQ(*parse_log_timestamp("2026-01-05T00:00:01,5", length), kDay + 1.5);
  EXPECT_FALSE(parse_log_timestamp("2026-01-05 10:00:3 task", length));
  EXPECT_FALSE(parse_log_timestamp("2026-13-05 10:00:00", length));
  EXPECT_FALSE(parse_log_timestamp("", length));
}

struct Recorded {
  std::vector<ProfileRecord> profiles;  // views into the test's own strings
  std::vector<double> finished;
  std::vector<std::string> finished_tasks;
  std::vector<TaskCompleteRecord> completes;
  std::vector<GlobalSummaryRecord> summaries;
  std::vector<std::string> messages;
};

class RecordingVisitor final : public LogVisitor {
 public:
  void on_profile(const ProfileRecord& r) override { seen.profiles.push_back(r); }
  void on_task_finished(const TaskFinishedRecord& r) override {
    seen.finished.push_back(r.unix_time);
    seen.finished_tasks.push_back(std::string(r.domain) + ":" + std::string(r.task_id));
  }
  void on_task_complete(const TaskCompleteRecord& r) override { seen.completes.push_back(r); }
  void on_global_summary(const GlobalSummaryRecord& r) override { seen.summaries.push_back(r); }
  void on_driver_message(const DriverMessageRecord& r) override {
    seen.messages.emplace_back(r.message);
  }
  Recorded seen;
};

bool scan(std::string_view line, RecordingVisitor& v, std::size_t& records, bool& glued) {
  return scan_log_line(line, v, records, glued);
}

TEST(LogLine, ProfileFields) {
  RecordingVisitor v;
  std::size_t records = 0;
  bool glued = false;
  const std::string line =
      "[PROFILE] 2026-01-05 10:13:58.007 task=retail:0 thread=139871203423936 type=llm_call "
      "step=2 model=/workspace/ckpt/nvidia/Nemotron-Orchestrator-8B call_type=vllm "
      "duration_ms=68490.12 input_tokens=6021 output_tokens=212 has_tool_calls=True";
  EXPECT_TRUE(scan(line, v, records, glued));
  EXPECT_FALSE(glued);
  ASSERT_EQ(v.seen.profiles.size(), 1u);
  const auto& r = v.seen.profiles[0];
  EXPECT_EQ(r.type, ProfileEventType::kLlmCall);
  EXPECT_EQ(r.task, "retail:0");
  EXPECT_EQ(r.step, 2);
  EXPECT_EQ(r.duration_ms, 68490.12);
  EXPECT_EQ(r.unix_time, 1767608038.007);
  EXPECT_FALSE(r.user_judge);
  EXPECT_EQ(find_field(r.fields, "output_tokens"), "212");
  EXPECT_EQ(find_field(r.fields, "absent"), std::nullopt);
}

TEST(LogLine, StepCompleteAndUserJudge) {
  RecordingVisitor v;
  std::size_t records = 0;
  bool glued = false;
  EXPECT_TRUE(
      scan("[PROFILE] 2026-01-05 10:13:58.012 task=retail:0 thread=1 type=step_complete step=2 "
           "total_duration_ms=68496.55 from_role=agent to_role=env",
           v, records, glued));
  EXPECT_TRUE(
      scan("[USER_JUDGE] 2026-01-05 10:12:49.512 task=retail:0 thread=1 type=user_sim step=1 "
           "model=gpt-5 call_type=openai duration_ms=7811.42",
           v, records, glued));
  ASSERT_EQ(v.seen.profiles.size(), 2u);
  EXPECT_EQ(v.seen.profiles[0].type, ProfileEventType::kStepComplete);
  EXPECT_EQ(v.seen.profiles[0].duration_ms, 68496.55);
  EXPECT_EQ(v.seen.profiles[0].from_role, "agent");
  EXPECT_EQ(v.seen.profiles[0].to_role, "env");
  EXPECT_EQ(v.seen.profiles[1].type, ProfileEventType::kUserSim);
  EXPECT_TRUE(v.seen.profiles[1].user_judge);
  EXPECT_EQ(v.seen.profiles[1].duration_ms, 7811.42);
  EXPECT_EQ(records, 2u);
}

TEST(LogLine, FinishedTimestampInTheMiddle) {
  RecordingVisitor v;
  std::size_t records = 0;
  bool glued = false;
  EXPECT_TRUE(scan(
      "DEBUG: tool schema refreshed2026-01-05 10:16:11.204 | INFO     | tau2.run:run_task:569 - "
      "FINISHED SIMULATION: Domain: airline, Task: 2, Agent: LLMAgent, User: UserSimulator. "
      "Reward: 0.0",
      v, records, glued));
  ASSERT_EQ(v.seen.finished.size(), 1u);
  EXPECT_EQ(v.seen.finished[0], 1767608171.204);
  EXPECT_EQ(v.seen.finished_tasks[0], "airline:2");
  // Digits of the debug text right before the timestamp do not confuse it.
  EXPECT_TRUE(scan(
      "retry 20262026-01-05 10:16:12.000 | INFO | FINISHED SIMULATION: Domain: retail, Task: 7,", v,
      records, glued));
  ASSERT_EQ(v.seen.finished.size(), 2u);
  EXPECT_EQ(v.seen.finished[1], 1767608172.0);
  EXPECT_EQ(v.seen.finished_tasks[1], "retail:7");
}

TEST(LogLine, FinishedWithoutInfoUsesNearestTimestamp) {
  RecordingVisitor v;
  std::size_t records = 0;
  bool glued = false;
  EXPECT_TRUE(scan("2026-01-05 10:00:01.500 - FINISHED SIMULATION: Domain: a, Task: 1,", v, records,
                   glued));
  ASSERT_EQ(v.seen.finished.size(), 1u);
  EXPECT_EQ(v.seen.finished[0], 1767607201.5);
  // No timestamp at all: garbled, nothing counted.
  EXPECT_FALSE(scan("FINISHED SIMULATION: Domain: a, Task: 2,", v, records, glued));
  EXPECT_EQ(v.seen.finished.size(), 1u);
}

// Durations take a fast path for plain decimals; it must give the very double from_chars gives.
TEST(LogLine, DurationsParseExactly) {
  std::uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  std::vector<std::string> texts{"0",
                                 "0.1",
                                 "7811.42",
                                 "123456789012345",
                                 "12345678901234.5",
                                 "1234567890123456.5",
                                 "1e3",
                                 "0.000001",
                                 "99999999999999.99"};
  for (int i = 0; i < 5000; ++i) {
    std::string text = std::to_string(next() % 100000000);
    const int decimals = static_cast<int>(next() % 7);
    if (decimals > 0) {
      text += '.';
      for (int d = 0; d < decimals; ++d) text += static_cast<char>('0' + next() % 10);
    }
    texts.push_back(text);
  }
  for (const auto& text : texts) {
    RecordingVisitor v;
    std::size_t records = 0;
    bool glued = false;
    const std::string line =
        "[PROFILE] 2026-01-05 10:00:00.000 task=a:1 type=llm_call step=1 duration_ms=" + text;
    ASSERT_TRUE(scan(line, v, records, glued)) << text;
    double expected = 0;
    std::from_chars(text.data(), text.data() + text.size(), expected);
    ASSERT_EQ(v.seen.profiles.at(0).duration_ms, expected) << text;
  }
}

TEST(LogLine, GluedRecordsAreBothRead) {
  RecordingVisitor v;
  std::size_t records = 0;
  bool glued = false;
  EXPECT_TRUE(
      scan("[PROFILE] 2026-01-05 10:00:50.000 task=t:4 thread=1 type=llm_call step=3 model=m "
           "duration_ms=300000.00 has_tool_calls=True[PROFILE] 2026-01-05 10:00:50.000 task=t:4 "
           "thread=1 type=step_complete step=5 total_duration_ms=1.00 from_role=agent to_role=env",
           v, records, glued));
  EXPECT_TRUE(glued);
  ASSERT_EQ(v.seen.profiles.size(), 2u);
  EXPECT_EQ(v.seen.profiles[0].type, ProfileEventType::kLlmCall);
  EXPECT_EQ(v.seen.profiles[0].duration_ms, 300000.0);
  EXPECT_EQ(find_field(v.seen.profiles[0].fields, "has_tool_calls"), "True");
  EXPECT_EQ(v.seen.profiles[1].type, ProfileEventType::kStepComplete);
  EXPECT_EQ(v.seen.profiles[1].to_role, "env");
}

TEST(LogLine, GarbledRecordsAreRejected) {
  RecordingVisitor v;
  std::size_t records = 0;
  bool glued = false;
  EXPECT_FALSE(
      scan("[PROFILE] 2026-01-05 10:00:3 task=a:1 type=step_complete step=9", v, records, glued));
  EXPECT_FALSE(
      scan("[PROFILE] 2026-01-05 10:00:33.000 task=a:1 type=llm_call step=4 "
           "duration_ms=abc",
           v, records, glued));
  EXPECT_FALSE(scan("[PROFILE] 2026-01-05 10:00:33.000 task=a:1 type=llm_call step=4 model=m", v,
                    records, glued));  // cut before duration_ms
  EXPECT_FALSE(scan("[PROFILE] 2026-01-05 10:00:33.000 task=a:1 step=4", v, records, glued));
  EXPECT_FALSE(scan("[PROFILE] 2026-01-05 10:00:33.000 task=a:1 type=step_complete step=x", v,
                    records, glued));
  EXPECT_TRUE(v.seen.profiles.empty());
  // Lines without any marker are not garbled, just not records.
  EXPECT_TRUE(scan("Traceback (most recent call last):", v, records, glued));
  EXPECT_TRUE(scan("", v, records, glued));
  EXPECT_EQ(records, 0u);
}

// A visitor reading only steps neither gets nor validates other records: a cut llm_call line
// is garbled for a latency reader, not for a step counter. A bad timestamp is garbled for all.
TEST(LogLine, VisitorReadsOnlyTheTypesItWants) {
  class StepsOnly final : public LogVisitor {
   public:
    StepsOnly() : LogVisitor(bit(ProfileEventType::kStepComplete)) {}
    void on_profile(const ProfileRecord& r) override { types.push_back(r.type); }
    std::vector<ProfileEventType> types;
  } steps;
  std::size_t records = 0;
  bool glued = false;
  EXPECT_TRUE(
      scan_log_line("[PROFILE] 2026-01-05 10:00:33.000 task=a:1 type=llm_call step=4 "
                    "duration_ms=abc",
                    steps, records, glued));
  EXPECT_TRUE(
      scan_log_line("[PROFILE] 2026-01-05 10:00:34.000 task=a:1 type=step_complete "
                    "step=5 from_role=agent to_role=env",
                    steps, records, glued));
  EXPECT_FALSE(scan_log_line("[PROFILE] 2026-01-05 10:00:3 task=a:1 type=llm_call step=4", steps,
                             records, glued));
  EXPECT_EQ(steps.types, std::vector<ProfileEventType>{ProfileEventType::kStepComplete});
}

TEST(LogLine, DriverLines) {
  RecordingVisitor v;
  std::size_t records = 0;
  bool glued = false;
  EXPECT_TRUE(
      scan("[2026-01-05 11:45:30] Global evaluation complete: ok=275 error=3 total=278 "
           "elapsed_s=5566.3 tasks_per_min=2.96",
           v, records, glued));
  ASSERT_EQ(v.seen.summaries.size(), 1u);
  EXPECT_EQ(v.seen.summaries[0].ok, 275);
  EXPECT_EQ(v.seen.summaries[0].error, 3);
  EXPECT_EQ(v.seen.summaries[0].total, 278);
  EXPECT_EQ(v.seen.summaries[0].elapsed_s, 5566.3);
  EXPECT_EQ(v.seen.summaries[0].tasks_per_min, 2.96);
  EXPECT_FALSE(
      scan("[2026-01-05 11:45:30] Global evaluation complete: ok=275 error=3", v, records, glued));
  EXPECT_TRUE(
      scan("[TAU2_TASK_COMPLETE] domain=telecom trial=0 task_id=1 status=error "
           "completed_global=3 total_global=278",
           v, records, glued));
  ASSERT_EQ(v.seen.completes.size(), 1u);
  EXPECT_EQ(v.seen.completes[0].status, "error");
  EXPECT_EQ(v.seen.completes[0].completed_global, 3);
  EXPECT_TRUE(
      scan("[2026-01-05 10:12:41] Scheduling mode: global (round-robin) "
           "total_tasks=278 max_concurrency=128",
           v, records, glued));
  ASSERT_EQ(v.seen.messages.size(), 1u);
  EXPECT_EQ(find_field(v.seen.messages[0], "max_concurrency"), "128");
}

TEST(LineReader, LinesAcrossChunkBoundaries) {
  ScratchDir dir;
  // Lines of every length 0..2999 cross the 1 MiB buffer edge at arbitrary offsets; one line
  // is longer than the buffer; CRLF endings are stripped; the last line has no '\n'.
  std::string content;
  std::vector<std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    expected.push_back(std::string(static_cast<std::size_t>(i), static_cast<char>('a' + i % 26)));
  }
  expected.push_back(std::string(LineReader::kChunkBytes + 12345, 'x'));
  for (int i = 0; i < 500; ++i) expected.push_back("crlf line " + std::to_string(i));
  expected.push_back("last line without newline");
  for (std::size_t i = 0; i < expected.size(); ++i) {
    content += expected[i];
    if (i + 1 == expected.size()) break;
    content += (i > 3000 && i < 3501) ? "\r\n" : "\n";
  }
  const auto path = dir.write("lines.txt", content);
  auto reader = LineReader::open(path);
  ASSERT_TRUE(reader) << reader.error().message;
  std::string_view line;
  std::size_t n = 0;
  while (reader->next(line)) {
    ASSERT_LT(n, expected.size());
    ASSERT_EQ(line, expected[n]) << "line " << n + 1;
    ++n;
  }
  EXPECT_EQ(n, expected.size());
  EXPECT_EQ(reader->line_number(), expected.size());
  EXPECT_EQ(reader->bytes_read(), content.size());
  EXPECT_FALSE(reader->failed());
}

TEST(LineReader, MissingFileAndDirectory) {
  ScratchDir dir;
  auto missing = LineReader::open(dir.path() / "nope.log");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no such file"), std::string::npos);
  auto directory = LineReader::open(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("directory"), std::string::npos);
}

TEST(ScanLog, EmptyFileIsAnError) {
  ScratchDir dir;
  LogVisitor nothing;
  auto scanned = scan_log(dir.write("driver.log", ""), nothing);
  ASSERT_FALSE(scanned);
  EXPECT_NE(scanned.error().message.find("empty file"), std::string::npos);
}

TEST(KvCsv, ReadsUsageRowsOnly) {
  auto series = read_kv_csv(analysis::testing::fixture("basic_run") / "kv_cache_timeseries.csv");
  ASSERT_TRUE(series) << series.error().message;
  // 13 data rows: 9 usable, 1 NaN, 2 gpu_cache_usage_perc, 1 garbled (line 13).
  EXPECT_EQ(series->rows, 13u);
  EXPECT_EQ(series->samples.size(), 9u);
  EXPECT_EQ(series->nan_samples, 1u);
  EXPECT_EQ(series->other_metric_rows, 2u);
  EXPECT_EQ(series->garbled_rows, 1u);
  EXPECT_EQ(series->first_garbled_line_numbers, std::vector<std::size_t>{13});
  EXPECT_EQ(series->ports, std::vector<int>{8000});
  EXPECT_EQ(series->samples[1].usage, 0.70);
  EXPECT_EQ(series->samples[2].unix_time, 1767607210.0);
}

TEST(KvCsv, Errors) {
  ScratchDir dir;
  const std::string header = "ts_iso,ts_unix,port,metric,value\n";
  auto message = [&](const std::string& content) {
    auto series = read_kv_csv(dir.write("kv.csv", content));
    return series ? std::string("ok") : series.error().message;
  };
  EXPECT_NE(message("").find("empty file"), std::string::npos);
  EXPECT_NE(message(header).find("no usable kv_cache_usage_perc sample"), std::string::npos);
  EXPECT_NE(
      message(header + "2026-01-05T10:00:00+00:00,1767607200,8000,vllm:kv_cache_usage_perc,NaN\n")
          .find("1 NaN"),
      std::string::npos);
  EXPECT_NE(
      message(header + "2026-01-05T10:00:00+00:00,1767607200,8000,vllm:gpu_cache_usage_perc,0.5\n")
          .find("1 other metrics"),
      std::string::npos);
  EXPECT_NE(message("time,value\n1,2\n").find("expected header"), std::string::npos);
  // Percentages instead of fractions are not usage samples.
  EXPECT_NE(message(header + "x,1767607200,8000,vllm:kv_cache_usage_perc,70.5\n").find("1 garbled"),
            std::string::npos);
  auto missing = read_kv_csv(dir.path() / "absent.csv");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no such file"), std::string::npos);
}

TEST(KvCsv, IsoTimeWhenUnixTimeIsMissing) {
  ScratchDir dir;
  auto series =
      read_kv_csv(dir.write("kv.csv",
                            "ts_iso,ts_unix,port,metric,value\n2026-01-05T10:00:05+00:00,,8000,"
                            "vllm:kv_cache_usage_perc,0.5\n2026-01-05T10:00:05+02:00,,8000,vllm:kv_"
                            "cache_usage_perc,0.5\n"));
  ASSERT_TRUE(series) << series.error().message;
  ASSERT_EQ(series->samples.size(), 1u);
  EXPECT_EQ(series->samples[0].unix_time, 1767607205.0);
  EXPECT_EQ(series->garbled_rows, 1u);  // a non-UTC offset is refused, not misread
}

}  // namespace
}  // namespace agentsched
