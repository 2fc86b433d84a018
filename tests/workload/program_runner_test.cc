// The program runner on a small hand-worked program: the sequence of calls and waits, the
// step counter, the next-tool rule, the prompt (tokens, roles, shared head blocks and text).
#include <gtest/gtest.h>

#include "core/hash.h"
#include "workload/program_runner.h"
#include "workload/shared_head.h"
#include "workload/token_text.h"

namespace agentsched {
namespace {

using Kind = ProgramStep::Kind;

// Head 100 tokens; opening message after 2 s.
//   turn 0: +10 user, call (20 out, 5 visible), tools search 1.5 s + lookup 0.25 s
//   turn 1: +30 tool result, call (40 out, 8 visible), expert "big" 3 s, user reply 4 s
//   turn 2: +6 user, call (12 out, all visible), user's last reply 1 s, end
ProgramScript small_program(std::string task = "t1") {
  ProgramScript s;
  s.domain = "airline";
  s.task_id = task;
  s.job_id = "tau2:airline:" + task + ":0";
  s.head_tokens = 100;
  s.first_user_latency_s = 2.0;
  AgentTurn t0;
  t0.new_tokens = 10;
  t0.output_tokens = 20;
  t0.visible_tokens = 5;
  t0.action = TurnAction::kTool;
  t0.tools = {{"search", 1.5}, {"lookup", 0.25}};
  AgentTurn t1;
  t1.new_tokens = 30;
  t1.output_tokens = 40;
  t1.visible_tokens = 8;
  t1.expert = ExpertCall{"big", 3.0, 7, 9, false};
  t1.action = TurnAction::kUser;
  t1.user_latency_s = 4.0;
  AgentTurn t2;
  t2.new_tokens = 6;
  t2.output_tokens = 12;
  t2.visible_tokens = 12;
  t2.action = TurnAction::kEnd;
  t2.user_latency_s = 1.0;
  s.turns = {t0, t1, t2};
  return s;
}

std::vector<std::string> roles(const ProgramRunner& r) {
  std::vector<std::string> out;
  for (const PromptMessage& m : r.messages()) out.emplace_back(m.role);
  return out;
}

TEST(ProgramRunner, PlaysTheScriptAsCallsAndWaits) {
  const ProgramScript s = small_program();
  ProgramRunner r(s, 23000, true);

  ProgramStep st = r.next();  // the user's opening message
  ASSERT_EQ(st.kind, Kind::kWait);
  EXPECT_EQ(st.wait, WaitKind::kUser);
  EXPECT_TRUE(st.opening);
  EXPECT_EQ(st.seconds, 2.0);
  EXPECT_EQ(st.input_tokens, 64);
  EXPECT_EQ(st.output_tokens, 10);  // the first user message
  EXPECT_EQ(r.step(), 0);
  r.wait_done();
  EXPECT_EQ(r.step(), 1);

  st = r.next();  // turn 0's call
  ASSERT_EQ(st.kind, Kind::kCall);
  EXPECT_EQ(st.max_tokens, 20);
  EXPECT_EQ(st.next_tool, "search");  // the first tool
  EXPECT_TRUE(st.calls_tool);
  EXPECT_FALSE(st.is_last_step);
  EXPECT_EQ(r.step(), 2);
  EXPECT_EQ(r.prompt_tokens(), 110);
  EXPECT_EQ(roles(r), (std::vector<std::string>{"system", "user"}));
  r.call_done();

  st = r.next();  // the tools, one after the other
  ASSERT_EQ(st.kind, Kind::kWait);
  EXPECT_EQ(st.wait, WaitKind::kTool);
  EXPECT_FALSE(st.opening);
  EXPECT_EQ(st.seconds, 1.75);
  ASSERT_EQ(st.tools.size(), 2u);
  EXPECT_EQ(st.ends_at(10.0), 11.75);
  r.wait_done();
  EXPECT_EQ(r.step(), 3);

  st = r.next();  // turn 1's call: the tool result joined the conversation
  ASSERT_EQ(st.kind, Kind::kCall);
  EXPECT_EQ(st.max_tokens, 40);
  EXPECT_EQ(st.next_tool, "expert:big");  // an expert counts as a tool
  EXPECT_TRUE(st.calls_tool);
  EXPECT_EQ(r.step(), 4);
  EXPECT_EQ(r.prompt_tokens(), 100 + 10 + 5 + 30);
  EXPECT_EQ(roles(r), (std::vector<std::string>{"system", "user", "assistant", "user"}));
  r.call_done();

  st = r.next();  // the expert, right after the call
  ASSERT_EQ(st.kind, Kind::kWait);
  EXPECT_EQ(st.wait, WaitKind::kExpert);
  EXPECT_EQ(st.model, "big");
  EXPECT_EQ(st.seconds, 3.0);
  EXPECT_EQ(st.input_tokens, 7);
  EXPECT_EQ(st.output_tokens, 9);
  r.wait_done();
  EXPECT_EQ(r.step(), 4);  // the expert is part of the agent's step

  st = r.next();  // the user's reply: the next turn's message
  ASSERT_EQ(st.kind, Kind::kWait);
  EXPECT_EQ(st.wait, WaitKind::kUser);
  EXPECT_FALSE(st.opening);
  EXPECT_EQ(st.seconds, 4.0);
  EXPECT_EQ(st.input_tokens, 0);
  EXPECT_EQ(st.output_tokens, 6);
  r.wait_done();
  EXPECT_EQ(r.step(), 5);

  st = r.next();  // turn 2's call: no tool follows
  ASSERT_EQ(st.kind, Kind::kCall);
  EXPECT_EQ(st.max_tokens, 12);
  EXPECT_EQ(st.next_tool, "");
  EXPECT_FALSE(st.calls_tool);
  EXPECT_EQ(r.step(), 6);
  EXPECT_EQ(r.prompt_tokens(), 145 + 8 + 6);
  r.call_done();

  st = r.next();  // the user's last reply
  ASSERT_EQ(st.kind, Kind::kWait);
  EXPECT_EQ(st.wait, WaitKind::kUser);
  EXPECT_EQ(st.seconds, 1.0);
  EXPECT_EQ(st.output_tokens, 16);  // no next message to size it by
  r.wait_done();
  EXPECT_EQ(r.step(), 7);
  EXPECT_EQ(r.step(), s.steps());  // the reference's count for the whole program

  st = r.next();
  EXPECT_EQ(st.kind, Kind::kEnd);
  EXPECT_TRUE(st.ok);
  EXPECT_EQ(r.conversation().full_tokens(), 159 + 12);
}

TEST(ProgramRunner, AScriptedExpertFailureEndsTheProgramUnlessARealExpertAnswered) {
  ProgramScript s = small_program();
  s.turns[1].expert->fails = true;
  for (bool scripted : {true, false}) {
    ProgramRunner r(s, 23000, true);
    std::vector<Kind> kinds;
    ProgramStep st = r.next();
    for (; st.kind != Kind::kEnd; st = r.next()) {
      kinds.push_back(st.kind);
      if (st.kind == Kind::kCall)
        r.call_done();
      else
        r.wait_done(st.wait == WaitKind::kExpert ? scripted : true);
    }
    if (scripted) {
      // opening, call, tools, call, expert -- then the end
      EXPECT_EQ(kinds.size(), 5u);
      EXPECT_FALSE(st.ok);
      EXPECT_EQ(st.error, "Expert LLM call failed permanently: 500");
    } else {
      EXPECT_EQ(kinds.size(), 8u);
      EXPECT_TRUE(st.ok);
    }
  }
}

TEST(ProgramRunner, AScriptEndingOnAToolResultEndsAfterTheTools) {
  ProgramScript s = small_program();
  s.turns.resize(1);
  ProgramRunner r(s, 23000, true);
  r.next();
  r.wait_done();
  ASSERT_EQ(r.next().kind, Kind::kCall);
  r.call_done();
  ASSERT_EQ(r.next().wait, WaitKind::kTool);
  r.wait_done();
  const ProgramStep end = r.next();
  EXPECT_EQ(end.kind, Kind::kEnd);
  EXPECT_TRUE(end.ok);
}

TEST(ProgramRunner, SharedHeadsShareTheHeadsFullBlocksAndText) {
  const ProgramScript a = small_program("t1"), b = small_program("t2");
  auto first_call = [](ProgramRunner& r) {
    r.next();
    r.wait_done();
    r.next();
  };
  ProgramRunner ra(a, 23000, true), rb(b, 23000, true);
  first_call(ra);
  first_call(rb);
  const RenderedPrompt pa = ra.render(16), pb = rb.render(16);
  ASSERT_EQ(pa.tokens, 110);
  ASSERT_EQ(pa.block_hashes.size(), 6u);  // 110 / 16
  // The head's 6 full blocks (96 of its 100 tokens) are the domain's...
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(pa.block_hashes[i], pb.block_hashes[i]) << i;
  std::uint64_t chain = shared_head_key("airline", 100);
  chain = hash_combine(chain, 0x68656164ULL);
  EXPECT_EQ(pa.block_hashes[0], chain);
  // ...and so is the head's text; the programs' own messages differ.
  const auto ma = ra.messages(), mb = rb.messages();
  EXPECT_EQ(ma[0].text(), mb[0].text());
  EXPECT_EQ(ma[0].text().size(), 400u);
  EXPECT_NE(ma[1].text(), mb[1].text());
  EXPECT_EQ(ma[1].text(), token_text(stable_hash64(a.job_id), 1, 10));

  // Without shared heads every block is the program's own.
  ProgramRunner oa(a, 23000, false), ob(b, 23000, false);
  first_call(oa);
  first_call(ob);
  EXPECT_NE(oa.render(16).block_hashes[0], ob.render(16).block_hashes[0]);
  EXPECT_NE(oa.messages()[0].text(), ob.messages()[0].text());
  EXPECT_EQ(oa.messages()[0].text(), token_text(stable_hash64(a.job_id), 0, 100));
}

TEST(ProgramRunner, ProgramsWithTheSameContentKeySendTheSamePrompt) {
  ProgramScript a = small_program("t1"), b = small_program("t2");
  a.content_key = b.content_key = "same question";
  ProgramRunner ra(a, 23000, true), rb(b, 23000, true);
  for (ProgramRunner* r : {&ra, &rb}) {
    r->next();
    r->wait_done();
    r->next();
  }
  EXPECT_EQ(ra.render(16).block_hashes, rb.render(16).block_hashes);
  EXPECT_EQ(ra.messages()[1].text(), rb.messages()[1].text());
}

TEST(TokenText, DeterministicFourBytesPerTokenAndPrefixOfItself) {
  const std::string a = token_text(42, 3, 100);
  EXPECT_EQ(a.size(), 400u);
  EXPECT_EQ(a, token_text(42, 3, 100));
  EXPECT_NE(a, token_text(42, 4, 100));
  EXPECT_NE(a, token_text(43, 3, 100));
  EXPECT_EQ(token_text(42, 3, 50), a.substr(0, 200));  // a prefix of itself
  EXPECT_TRUE(token_text(1, 1, 0).empty());
  for (char c : a) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == ' ');  // JSON-safe
  for (std::size_t i = 3; i < a.size(); i += 4) EXPECT_EQ(a[i], ' ');
  std::string appended = "x";
  append_token_text(appended, 42, 3, 100);
  EXPECT_EQ(appended, "x" + a);
}

}  // namespace
}  // namespace agentsched
