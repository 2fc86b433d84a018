#include <gtest/gtest.h>

#include <sstream>

#include "workload/conversation.h"
#include "workload/shared_head.h"
#include "workload/tau2_generator.h"
#include "workload/trace.h"
#include "workload/workload_stats.h"

namespace agentsched {
namespace {

TEST(Conversation, AppendOnlyPromptsShareLeadingBlocks) {
  Conversation c(7, 100, 23000);  // head 100 tokens: 6 full blocks + 4
  const RenderedPrompt first = c.render(16);
  EXPECT_EQ(first.tokens, 100);
  ASSERT_EQ(first.block_hashes.size(), 6u);
  c.append(40);
  const RenderedPrompt second = c.render(16);
  EXPECT_EQ(second.tokens, 140);
  ASSERT_EQ(second.block_hashes.size(), 8u);
  // Blocks 0..5 hold the same tokens in both prompts.
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(first.block_hashes[i], second.block_hashes[i]);
  EXPECT_FALSE(second.cut);
}

TEST(Conversation, DifferentProgramsDoNotShareContent) {
  Conversation a(1, 64, 23000), b(2, 64, 23000);
  EXPECT_NE(a.render(16).block_hashes[0], b.render(16).block_hashes[0]);
}

TEST(Conversation, CutKeepsHeadFirstMessageAndLatest) {
  // cap 200: head 64 + first 32 + messages of 50 each.
  Conversation c(3, 64, 200);
  c.append(32);
  const auto before = c.render(16);
  for (int i = 0; i < 4; ++i) c.append(50);  // full = 64 + 32 + 200 = 296 > 200
  const RenderedPrompt p = c.render(16);
  EXPECT_TRUE(p.cut);
  // 64 + 32 + the latest two messages (100) = 196 <= 200; three would be 246.
  EXPECT_EQ(p.tokens, 196);
  // Head and first message (96 tokens = 6 full blocks) are still a shared prefix...
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(before.block_hashes[i], p.block_hashes[i]);
  // ...but past the cut the prompt no longer extends the uncut conversation.
  Conversation uncut(3, 64, 100000);
  uncut.append(32);
  for (int i = 0; i < 4; ++i) uncut.append(50);
  EXPECT_NE(uncut.render(16).block_hashes[6], p.block_hashes[6]);
}

TEST(Tau2, HasTheReferenceTaskMixInRoundRobinOrder) {
  auto w = generate_tau2({}, 1);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->programs.size(), 278u);
  EXPECT_EQ(w->programs[0].domain, "retail");
  EXPECT_EQ(w->programs[1].domain, "telecom");
  EXPECT_EQ(w->programs[2].domain, "airline");
  EXPECT_EQ(w->programs[3].domain, "retail");
  EXPECT_EQ(w->programs[3].task_id, "1");
  // After airline's 50 tasks the order alternates retail, telecom.
  EXPECT_EQ(w->programs[150].domain, "retail");
  EXPECT_EQ(w->programs[151].domain, "telecom");
  const WorkloadStats s = compute_stats(*w);
  EXPECT_EQ(s.programs_per_domain.at("retail"), 114u);
  EXPECT_EQ(s.programs_per_domain.at("telecom"), 114u);
  EXPECT_EQ(s.programs_per_domain.at("airline"), 50u);
  EXPECT_EQ(w->programs[0].job_id.rfind("tau2:retail:0:", 0), 0u);
}

TEST(Tau2, StatisticsMatchTheReferenceWithinTolerance) {
  // docs/reference-study.md section 3, averaged over three seeds.
  double steps = 0, users = 0, experts = 0, gpt_share = 0, user_p50 = 0, user_p90 = 0, gpt_p50 = 0,
         qwen_p50 = 0;
  for (int seed = 1; seed <= 3; ++seed) {
    const WorkloadStats s = compute_stats(*generate_tau2({}, seed));
    steps += s.steps_per_task / 3;
    users += s.user_calls_per_task / 3;
    experts += s.expert_calls_per_task / 3;
    gpt_share += s.expert_share.at("openai/gpt-oss-20b") / 3;
    user_p50 += s.user_latency_ms.p50 / 3;
    user_p90 += s.user_latency_ms.p90 / 3;
    gpt_p50 += s.expert_latency_ms.at("openai/gpt-oss-20b").p50 / 3;
    qwen_p50 += s.expert_latency_ms.at("Qwen/Qwen3-32B-FP8").p50 / 3;
  }
  EXPECT_NEAR(steps, 48, 48 * 0.10);
  EXPECT_NEAR(users, 14, 14 * 0.10);
  EXPECT_NEAR(experts, 8.5, 8.5 * 0.10);
  EXPECT_NEAR(gpt_share, 0.70, 0.05);
  EXPECT_NEAR(user_p50, 9608, 9608 * 0.10);
  EXPECT_NEAR(user_p90, 23388, 23388 * 0.10);
  EXPECT_NEAR(gpt_p50, 1774, 1774 * 0.12);
  EXPECT_NEAR(qwen_p50, 4593, 4593 * 0.12);
}

TEST(Tau2, SameSeedSameWorkloadOtherSeedOther) {
  std::ostringstream a, b, c;
  ASSERT_TRUE(write_trace(*generate_tau2({}, 5), a).ok());
  ASSERT_TRUE(write_trace(*generate_tau2({}, 5), b).ok());
  ASSERT_TRUE(write_trace(*generate_tau2({}, 6), c).ok());
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str(), c.str());
}

TEST(Tau2, ShapeOptionsScaleTurnsAndWaits) {
  Tau2Params twice;
  twice.turns_scale = 2.0;
  Tau2Params short_waits;
  short_waits.wait_scale = 0.25;
  const WorkloadStats base = compute_stats(*generate_tau2({}, 1));
  const WorkloadStats longer = compute_stats(*generate_tau2(twice, 1));
  const WorkloadStats faster = compute_stats(*generate_tau2(short_waits, 1));
  EXPECT_NEAR(longer.llm_calls_per_task / base.llm_calls_per_task, 2.0, 0.25);
  EXPECT_NEAR(faster.user_latency_ms.p50 / base.user_latency_ms.p50, 0.25, 0.01);
  Tau2Params bad;
  bad.wait_scale = 0;
  EXPECT_FALSE(generate_tau2(bad, 1).ok());
}

TEST(Tau2, OutputTokensFollowTheCalibratedQuantiles) {
  // tau2_generator.h derives them from docs/reference-study.md section 3 (docs/fidelity.md): median
  // 56, p90 135, p99 985, never past the 8,000-token maximum.
  const WorkloadStats s = compute_stats(*generate_tau2({}, 1));
  EXPECT_NEAR(s.output_tokens.p50, 56, 56 * 0.1);
  EXPECT_NEAR(s.output_tokens.p90, 135, 135 * 0.1);
  EXPECT_NEAR(s.output_tokens.p99, 985, 985 * 0.25);
  EXPECT_LE(s.output_tokens.max, 8000);
  // The prompt starts at the domain heads (5.8k-8.6k) and grows ~310 tokens a turn.
  EXPECT_GT(s.prompt_tokens.p50, 9000);
  EXPECT_LT(s.prompt_tokens.p50, 12500);
}

TEST(Tau2, OutputAndToolResultScales) {
  Tau2Params more_output, bigger_tools, bad;
  more_output.output_scale = 2.0;
  bigger_tools.tool_result_scale = 2.0;
  const Workload base = *generate_tau2({}, 1);
  const Workload out2 = *generate_tau2(more_output, 1);
  const Workload tools2 = *generate_tau2(bigger_tools, 1);
  ASSERT_EQ(base.programs.size(), out2.programs.size());
  // Same draws, scaled: every output doubles up to the cap, every tool result doubles.
  for (std::size_t i = 0; i < base.programs.size(); ++i)
    for (std::size_t k = 0; k < base.programs[i].turns.size(); ++k) {
      const AgentTurn& a = base.programs[i].turns[k];
      EXPECT_NEAR(out2.programs[i].turns[k].output_tokens, std::min(2 * a.output_tokens, 8000),
                  1)  // the scale applies before rounding
          << "program " << i << " turn " << k;
      if (k > 0 && base.programs[i].turns[k - 1].action == TurnAction::kTool) {
        EXPECT_NEAR(tools2.programs[i].turns[k].new_tokens, 2.0 * a.new_tokens,
                    2.0 * static_cast<double>(base.programs[i].turns[k - 1].tools.size()));
      }
    }
  bad.output_scale = 0;
  EXPECT_FALSE(generate_tau2(bad, 1).ok());
  bad = {};
  bad.tool_result_scale = -1;
  EXPECT_FALSE(generate_tau2(bad, 1).ok());
}

TEST(SharedHead, ProgramsOfADomainShareTheHeadBlocksOnly) {
  // Heads of 100 tokens: 6 full blocks, the 7th mixes head and first message.
  Conversation a(1, 100, 23000), b(2, 100, 23000), c(3, 100, 23000);
  a.append(40);
  b.append(40);
  c.append(40);
  RenderedPrompt pa = a.render(16), pb = b.render(16), pc = c.render(16);
  ASSERT_NE(pa.block_hashes[0], pb.block_hashes[0]);  // Conversation alone shares nothing
  share_head_blocks(pa, shared_head_key("retail", 100), 100, 16);
  share_head_blocks(pb, shared_head_key("retail", 100), 100, 16);
  share_head_blocks(pc, shared_head_key("airline", 100), 100, 16);
  ASSERT_EQ(pa.block_hashes.size(), 8u);
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(pa.block_hashes[i], pb.block_hashes[i]) << i;
    EXPECT_NE(pa.block_hashes[i], pc.block_hashes[i]) << i;
  }
  for (std::size_t i = 6; i < 8; ++i) EXPECT_NE(pa.block_hashes[i], pb.block_hashes[i]) << i;
  EXPECT_NE(shared_head_key("retail", 100), shared_head_key("retail", 101));
  // A later prompt of the same program still extends the earlier one.
  a.append(50);
  RenderedPrompt later = a.render(16);
  share_head_blocks(later, shared_head_key("retail", 100), 100, 16);
  for (std::size_t i = 0; i < pa.block_hashes.size(); ++i)
    EXPECT_EQ(pa.block_hashes[i], later.block_hashes[i]) << i;
}

TEST(Trace, RoundTripsExactly) {
  auto w = generate_tau2({}, 2);
  std::stringstream buffer;
  ASSERT_TRUE(write_trace(*w, buffer).ok());
  auto back = read_trace(buffer, "mem");
  ASSERT_TRUE(back.ok()) << back.error().message;
  std::ostringstream again;
  ASSERT_TRUE(write_trace(*back, again).ok());
  EXPECT_EQ(buffer.str(), again.str());
}

TEST(Trace, RejectsBadInputNamingLineAndField) {
  const std::string header =
      R"({"format":"agentsched-workload","version":1,"name":"t","seed":1,"programs":1})"
      "\n";
  {
    std::istringstream in(header + "{not json\n");
    auto r = read_trace(in, "t.jsonl");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("t.jsonl:2: malformed JSON"), std::string::npos);
  }
  {
    std::istringstream in(header +
                          R"({"domain":"retail","task_id":"0","job_id":"j","head_tokens":10,)"
                          R"("first_user_latency_s":1,"turns":[{"new":5,"out":-3,"action":"end"}]})"
                          "\n");
    auto r = read_trace(in, "t.jsonl");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("turns[0].out"), std::string::npos) << r.error().message;
  }
  {
    std::istringstream in(R"({"format":"other","version":1})"
                          "\n");
    EXPECT_FALSE(read_trace(in, "t.jsonl").ok());
  }
  {
    std::istringstream in(header);  // declares one program, has none
    EXPECT_FALSE(read_trace(in, "t.jsonl").ok());
  }
  {
    std::istringstream in("");
    auto r = read_trace(in, "t.jsonl");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("empty"), std::string::npos);
  }
}

// Found by fuzz/trace_fuzz: counts beyond 32 bits wrapped around ("visible":2004294967296
// became negative, "head_tokens":4294967297 became 1) instead of being refused.
TEST(Trace, RejectsTokenCountsBeyond32Bits) {
  const std::string header = R"({"format":"agentsched-workload","version":1})"
                             "\n";
  const auto read = [&](const std::string& head_tokens, const std::string& visible) {
    std::istringstream in(header + R"({"domain":"d","task_id":"0","job_id":"j","head_tokens":)" +
                          head_tokens + R"(,"first_user_latency_s":1,"turns":[{"new":5,"out":3,)" +
                          R"("visible":)" + visible + R"(,"action":"end"}]})" + "\n");
    return read_trace(in, "t.jsonl");
  };
  ASSERT_TRUE(read("10", "2147483647").ok());
  auto r = read("10", "2004294967296");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("turns[0].visible"), std::string::npos) << r.error().message;
  r = read("4294967297", "1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("head_tokens"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace agentsched
