// analyze latency: TTFT, E2E and TPOT per arrival stage (analysis/request_latency.h), on a
// hand-made run whose answers are worked out below.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "analysis/request_latency.h"

namespace agentsched::analysis {
namespace {

namespace fs = std::filesystem;

class RequestLatency : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentsched_request_latency_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "agentsched");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / "agentsched" / name) << text;
  }
  static constexpr const char* kHeader =
      "task,step,backend,submitted_s,forwarded_s,first_scheduled_s,first_token_s,finished_s,"
      "gateway_held_s,engine_waiting_s,prefill_s,decode_s,prompt_tokens,cached_tokens,"
      "computed_prompt_tokens,output_tokens,preemptions\n";
  static std::string row(double submitted, double first_token, double finished, int output) {
    return "g:0,2,0," + std::to_string(submitted) + ",0,0," + std::to_string(first_token) + "," +
           std::to_string(finished) + ",0,0,0,0,10,0,10," + std::to_string(output) + ",0\n";
  }
  fs::path dir_;
};

// Stages 2/s for 10 s, then 4/s for 10 s.
//   r1 at 1.0: first token 1.1, done 2.0, 10 tokens: TTFT 100, E2E 1000, TPOT 900 / 9 = 100
//   r2 at 5.0: 5.3, 6.5, 4 tokens:                  TTFT 300, E2E 1500, TPOT 1200 / 3 = 400
//   r3 at 12.0: 12.2, 21.0 (after the last stage), 2 tokens: TTFT 200, E2E 9000, TPOT 8800
//   r4 at 15.0: 15.05, 16.0, 1 token:               TTFT 50, E2E 1000, no TPOT
// Stage 0: r1, r2: TTFT mean 200, p90 100 + 0.9 x 200 = 280; E2E mean 1250; TPOT mean 250;
//   achieved 2 finished in [0, 10) / 10 s = 0.2.
// Stage 1: r3, r4: TTFT mean 125; E2E mean 5000, p90 1000 + 0.9 x 8000 = 8200; TPOT 8800
//   (r4 has one token); achieved: only r4 finished inside [10, 20): 0.1.
TEST_F(RequestLatency, PerStageFiguresAsWorkedOut) {
  write("config.json", R"({"tool":"agentsched sim","arrivals":"2:10,4:10"})");
  write("timeline.csv", std::string(kHeader) + row(1.0, 1.1, 2.0, 10) + row(5.0, 5.3, 6.5, 4) +
                            row(12.0, 12.2, 21.0, 2) + row(15.0, 15.05, 16.0, 1));
  auto r = analyze_request_latency(dir_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->arrivals, "2:10,4:10");
  ASSERT_EQ(r->stages.size(), 2u);
  const StageLatency& a = r->stages[0];
  EXPECT_EQ(a.requests, 2u);
  EXPECT_DOUBLE_EQ(a.start_s, 0);
  EXPECT_DOUBLE_EQ(a.end_s, 10);
  EXPECT_DOUBLE_EQ(a.offered_rate, 2);
  EXPECT_NEAR(a.achieved_rate, 0.2, 1e-12);
  EXPECT_NEAR(a.ttft_mean_ms, 200, 1e-6);
  EXPECT_NEAR(a.ttft_p90_ms, 280, 1e-6);
  EXPECT_NEAR(a.e2e_mean_ms, 1250, 1e-6);
  EXPECT_NEAR(a.tpot_mean_ms, 250, 1e-6);
  const StageLatency& b = r->stages[1];
  EXPECT_EQ(b.requests, 2u);
  EXPECT_DOUBLE_EQ(b.offered_rate, 4);
  EXPECT_NEAR(b.achieved_rate, 0.1, 1e-12);
  EXPECT_NEAR(b.ttft_mean_ms, 125, 1e-6);
  EXPECT_NEAR(b.e2e_mean_ms, 5000, 1e-6);
  EXPECT_NEAR(b.e2e_p90_ms, 8200, 1e-6);
  EXPECT_NEAR(b.tpot_mean_ms, 8800, 1e-6);
}

TEST_F(RequestLatency, ClosedLoopRunIsOneStageToTheLastFinish) {
  write("config.json", R"({"tool":"agentsched sim"})");
  write("timeline.csv", std::string(kHeader) + row(1.0, 1.1, 2.0, 10) + row(5.0, 5.3, 6.5, 4));
  auto r = analyze_request_latency(dir_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->arrivals.empty());
  ASSERT_EQ(r->stages.size(), 1u);
  EXPECT_TRUE(std::isnan(r->stages[0].offered_rate));
  EXPECT_DOUBLE_EQ(r->stages[0].end_s, 6.5);
  EXPECT_EQ(r->stages[0].requests, 2u);
}

TEST_F(RequestLatency, BadInputNamesFileAndLine) {
  auto missing = analyze_request_latency(dir_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("timeline.csv"), std::string::npos);
  write("timeline.csv", std::string(kHeader) + row(1.0, 1.1, 2.0, 10) +
                            "g:1,2,0,abc,0,0,1,2,0,0,0,0,10,0,10,3,0\n");
  auto bad = analyze_request_latency(dir_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("timeline.csv:3"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("submitted_s"), std::string::npos) << bad.error().message;
  write("timeline.csv", "task,submitted_s\ng:0,1\n");  // the shared reader wants every column
  auto short_header = analyze_request_latency(dir_);
  ASSERT_FALSE(short_header.ok());
  EXPECT_NE(short_header.error().message.find("timeline.csv:1: no column 'step'"),
            std::string::npos)
      << short_header.error().message;
  write("timeline.csv", std::string(kHeader) + "g:0,2,0,1\n");
  auto short_row = analyze_request_latency(dir_);
  ASSERT_FALSE(short_row.ok());
  EXPECT_NE(short_row.error().message.find("timeline.csv:2: 4 fields, the header has 17"),
            std::string::npos)
      << short_row.error().message;
  write("timeline.csv", std::string(kHeader) + row(3.0, 2.0, 4.0, 3));
  EXPECT_FALSE(analyze_request_latency(dir_).ok());  // first token before submission
  EXPECT_FALSE(analyze_request_latency(dir_ / "nope").ok());
}

}  // namespace
}  // namespace agentsched::analysis
