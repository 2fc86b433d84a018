#include <gtest/gtest.h>

#include "emulator/chat_request.h"
#include "emulator/gpu_clock.h"

namespace agentsched::serve {
namespace {

TEST(ChatRequest, TextFromStringsPartsAndToolCalls) {
  auto r = parse_chat_request(R"({"model":"m","messages":[
      {"role":"system","content":"abcd"},
      {"role":"user","content":[{"type":"text","text":"efgh"},{"type":"image_url","image_url":{}}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",
        "function":{"name":"get","arguments":"{\"x\":1}"}}]},
      {"role":"tool","content":"ok"}]})",
                              "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->prompt_text, "abcdefghget{\"x\":1}ok");
  EXPECT_EQ(r->prompt_tokens, 5);  // 20 bytes / 4
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(r->max_tokens.has_value());
}

TEST(ChatRequest, SamplingAndStreamingFields) {
  auto r = parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}],
      "max_tokens":50,"max_completion_tokens":20,"min_tokens":5,"ignore_eos":true,
      "stream":true,"stream_options":{"include_usage":true},"n":1,
      "job_id":"tau2:retail:7:abc","is_last_step":true,"extra_body":{"next_tool":"find_order"}})",
                              "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->max_tokens, 20);  // max_completion_tokens wins, as in vLLM
  EXPECT_EQ(r->min_tokens, 5);
  EXPECT_TRUE(r->ignore_eos && r->stream && r->include_usage && r->is_last_step);
  EXPECT_EQ(r->program_id, "tau2:retail:7:abc");
  EXPECT_EQ(r->next_tool, "find_order");
  EXPECT_EQ(r->prompt_tokens, 1);
}

TEST(ChatRequest, SessionHeaderIsTheLastResort) {
  auto r = parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}]})", "sess-1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->program_id, "sess-1");
}

TEST(ChatRequest, ErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* expect;
  };
  for (const Case& c : {
           Case{"{not json", "Invalid JSON"},
           Case{"[1,2]", "JSON object"},
           Case{"{}", "messages: Field required"},
           Case{R"({"messages":"hi"})", "messages: expected an array"},
           Case{R"({"messages":[]})", "at least one message"},
           Case{R"({"messages":[{"content":"x"}]})", "messages[0].role"},
           Case{R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
           Case{R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})",
                "max_tokens must be at least 1"},
           Case{R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"5"})",
                "max_tokens: expected an integer"},
           Case{R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})",
                "stream: expected a boolean"},
           Case{R"({"messages":[{"role":"user","content":"x"}],"n":2})", "n:"},
           Case{R"({"messages":[{"role":"user","content":"x"}],"max_tokens":2,"min_tokens":3})",
                "min_tokens"},
       }) {
    auto r = parse_chat_request(c.body, "");
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << c.body << " -> " << r.error().message;
  }
}

TEST(TokenConventions, FourBytesPerTokenAtLeastOne) {
  EXPECT_EQ(tokens_for_text(0), 1);
  EXPECT_EQ(tokens_for_text(4), 1);
  EXPECT_EQ(tokens_for_text(5), 2);
  EXPECT_EQ(tokens_for_text(4000), 1000);
}

TEST(TokenConventions, ExtendedPromptSharesLeadingBlockHashes) {
  const std::string base(64 * 10 + 30, 'a');
  std::string extended = base + std::string(200, 'b');
  const auto h1 = prompt_block_hashes(base);
  const auto h2 = prompt_block_hashes(extended);
  ASSERT_EQ(h1.size(), 10u);  // only full 64-byte blocks
  ASSERT_EQ(h2.size(), 13u);
  for (std::size_t i = 0; i < h1.size(); ++i) EXPECT_EQ(h1[i], h2[i]);
  // Equal block content at a different position or after a different prefix differs: the
  // hash is chained.
  EXPECT_NE(h1[0], h1[1]);
  std::string edited = extended;
  edited[3] = 'z';
  const auto h3 = prompt_block_hashes(edited);
  for (std::size_t i = 0; i < h3.size(); ++i) EXPECT_NE(h3[i], h2[i]);
}

TEST(TokenConventions, ProgramKeysAndFillerText) {
  EXPECT_EQ(program_key(""), 0u);
  EXPECT_NE(program_key("a"), 0u);
  EXPECT_NE(program_key("a"), program_key("b"));
  EXPECT_EQ(program_key("tau2:x"), program_key("tau2:x"));
  const std::string t = filler_text(7, 0, 10);
  EXPECT_EQ(t.size(), 40u);
  EXPECT_EQ(t, filler_text(7, 0, 10));
  EXPECT_EQ(filler_text(7, 0, 4) + filler_text(7, 4, 6), t);  // streamable in pieces
  EXPECT_NE(filler_text(8, 0, 10), t);
  for (std::size_t i = 3; i < t.size(); i += 4) EXPECT_EQ(t[i], ' ');
}

TEST(GpuClock, HoldsPlannedStepEndsAndNeverGoesBack) {
  VirtualClock base;
  base.advance_to(3.0);
  GpuClock clock(base);
  const Seconds t0 = clock.now();
  EXPECT_EQ(t0, 3.0);
  clock.hold(t0 + 5.0);
  EXPECT_EQ(clock.now(), t0 + 5.0);
  EXPECT_EQ(clock.base_now(), 3.0);
  clock.release();
  // The underlying clock is behind the held value now: reads stay at the held value.
  EXPECT_EQ(clock.now(), t0 + 5.0);
  clock.hold(t0);  // a planned end in the past cannot move the clock back
  EXPECT_EQ(clock.now(), t0 + 5.0);
  clock.release();
  base.advance_to(10.0);
  EXPECT_EQ(clock.now(), 10.0);
  ScaledClock scaled(1000.0);
  EXPECT_EQ(GpuClock(scaled).scale(), 1000.0);
}

}  // namespace
}  // namespace agentsched::serve
