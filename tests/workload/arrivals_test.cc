// Open-loop arrivals and the shared-prefix workload (workload/arrivals.h, shared_prefix.h).
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sstream>

#include "workload/arrivals.h"
#include "workload/shared_prefix.h"
#include "workload/trace.h"

namespace agentsched {
namespace {

TEST(Arrivals, ParsesRatesAndStagesAndNamesTheBadStage) {
  auto one = parse_arrival_stages("0.05");
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].rate_per_s, 0.05);
  EXPECT_TRUE(std::isinf((*one)[0].duration_s));
  auto two = parse_arrival_stages("8:600,20:600");
  ASSERT_TRUE(two.ok()) << two.error().message;
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].rate_per_s, 20);
  EXPECT_EQ((*two)[1].duration_s, 600);
  EXPECT_EQ(format_arrival_stages(*two), "8:600,20:600");
  for (const char* bad : {"", "x", "0", "-1", "8:0", "8:600,", "8,20:600", "8:600,y:1", "8:nan"}) {
    auto r = parse_arrival_stages(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = parse_arrival_stages("8:600,y:1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("stage 2"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("'y'"), std::string::npos) << r.error().message;
}

TEST(Arrivals, PoissonStagesHaveTheirRatesAndStayInside) {
  const std::vector<ArrivalStage> stages = {{8, 600}, {20, 600}};
  const auto times = poisson_arrivals(stages, 3, 1'000'000);
  std::size_t first = 0, second = 0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    ASSERT_GE(times[i], 0);
    ASSERT_LT(times[i], 1200);
    if (i) ASSERT_GT(times[i], times[i - 1]);
    (times[i] < 600 ? first : second) += 1;
  }
  // 4,800 and 12,000 expected; a Poisson count's standard deviation is its root (~69, ~110).
  EXPECT_NEAR(static_cast<double>(first), 4800, 4 * 69.3);
  EXPECT_NEAR(static_cast<double>(second), 12000, 4 * 109.5);
  EXPECT_EQ(poisson_arrivals(stages, 3, 1'000'000), times);  // deterministic
  EXPECT_NE(poisson_arrivals(stages, 4, 1'000'000), times);
  EXPECT_EQ(poisson_arrivals(stages, 3, 10).size(), 10u);
  EXPECT_EQ(stage_of(stages, 0), 0u);
  EXPECT_EQ(stage_of(stages, 599.9), 0u);
  EXPECT_EQ(stage_of(stages, 600), 1u);
  EXPECT_EQ(stage_of(stages, 1200), 2u);
}

SharedPrefixParams small() {
  SharedPrefixParams p;
  p.groups = 2;
  p.users = 3;
  p.system_tokens = 40;
  p.question_tokens = 30;
  p.output_tokens = 5;
  p.stages = {{10, 20}};
  return p;
}

TEST(SharedPrefix, CyclesThroughTheGroupsUsersPromptsInOrder) {
  auto w = generate_shared_prefix(small(), 1);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_GT(w->programs.size(), 12u);
  EXPECT_TRUE(w->open_loop());
  // g0u0, g0u1, g0u2, g1u0, g1u1, g1u2, then g0u0 again.
  const char* order[] = {"shared-prefix:g0:u0", "shared-prefix:g0:u1", "shared-prefix:g0:u2",
                         "shared-prefix:g1:u0", "shared-prefix:g1:u1", "shared-prefix:g1:u2"};
  std::set<std::string> job_ids;
  for (std::size_t n = 0; n < w->programs.size(); ++n) {
    const ProgramScript& p = w->programs[n];
    EXPECT_EQ(p.content_key, order[n % 6]) << n;
    EXPECT_EQ(p.domain, n % 6 < 3 ? "group0" : "group1");
    EXPECT_EQ(p.head_tokens, 40);
    ASSERT_EQ(p.turns.size(), 1u);
    EXPECT_EQ(p.turns[0].new_tokens, 30);
    EXPECT_EQ(p.turns[0].output_tokens, 5);
    EXPECT_EQ(p.turns[0].action, TurnAction::kEnd);
    EXPECT_GE(p.arrival_s, 0);
    EXPECT_LT(p.arrival_s, 20);
    job_ids.insert(p.job_id);
  }
  EXPECT_EQ(job_ids.size(), w->programs.size());  // every request its own program
  for (auto bad : {&SharedPrefixParams::groups, &SharedPrefixParams::question_tokens}) {
    SharedPrefixParams p = small();
    p.*bad = 0;
    EXPECT_FALSE(generate_shared_prefix(p, 1).ok());
  }
  SharedPrefixParams endless = small();
  endless.stages = {{10}};
  EXPECT_FALSE(generate_shared_prefix(endless, 1).ok());
}

TEST(SharedPrefix, EarlyStopsLowerTheMeanOutputOnly) {
  SharedPrefixParams p = small();
  p.output_tokens = 200;
  p.stages = {{100, 100}};
  p.early_stop_share = 0.5;
  auto w = generate_shared_prefix(p, 1);
  ASSERT_TRUE(w.ok());
  double sum = 0;
  for (const auto& prog : w->programs) {
    ASSERT_GE(prog.turns[0].output_tokens, 1);
    ASSERT_LE(prog.turns[0].output_tokens, 200);
    sum += prog.turns[0].output_tokens;
  }
  // Half run to 200, half stop uniformly in [1, 200): mean ~150.
  EXPECT_NEAR(sum / static_cast<double>(w->programs.size()), 150, 5);
}

TEST(Trace, OpenLoopFieldsRoundTripAndOrderIsChecked) {
  auto w = generate_shared_prefix(small(), 2);
  ASSERT_TRUE(w.ok());
  std::stringstream buffer;
  ASSERT_TRUE(write_trace(*w, buffer).ok());
  auto back = read_trace(buffer, "mem");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(format_arrival_stages(back->arrival_stages), "10:20");
  EXPECT_EQ(back->programs[4].content_key, w->programs[4].content_key);
  EXPECT_NEAR(back->programs[4].arrival_s, w->programs[4].arrival_s, 1e-6);
  std::ostringstream again;
  ASSERT_TRUE(write_trace(*back, again).ok());
  EXPECT_EQ(buffer.str(), again.str());

  const std::string header =
      R"({"format":"agentsched-workload","version":1,"programs":2,"arrivals":"1:10"})"
      "\n";
  auto program = [](double t) {
    return R"({"domain":"d","task_id":"0","job_id":"j)" + std::to_string(t) +
           R"(","head_tokens":10,"first_user_latency_s":0,"arrival_s":)" + std::to_string(t) +
           R"(,"turns":[{"new":5,"out":3,"action":"end"}]})"
           "\n";
  };
  std::istringstream backwards(header + program(5) + program(2));
  auto r = read_trace(backwards, "t.jsonl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("program 2"), std::string::npos) << r.error().message;
  std::istringstream no_stages(R"({"format":"agentsched-workload","version":1,"programs":1})"
                               "\n" +
                               program(1));
  EXPECT_FALSE(read_trace(no_stages, "t.jsonl").ok());
}

TEST(Arrivals, AssignGivesTau2ProgramsArrivalTimesAndDropsLateOnes) {
  Workload w;
  for (int i = 0; i < 100; ++i) {
    ProgramScript p;
    p.job_id = "j" + std::to_string(i);
    w.programs.push_back(p);
  }
  ASSERT_TRUE(assign_arrivals(w, {{1, 30}}, 1).ok());
  EXPECT_TRUE(w.open_loop());
  EXPECT_LT(w.programs.size(), 60u);  // ~30 arrive in 30 s at 1/s
  EXPECT_GT(w.programs.size(), 10u);
  for (const auto& p : w.programs) EXPECT_LT(p.arrival_s, 30);
  Workload none = w;
  EXPECT_FALSE(assign_arrivals(none, {{1e-9, 1}}, 1).ok());  // nobody arrives
}

}  // namespace
}  // namespace agentsched
