#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "http/json_scan.h"
#include "http/request_fields.h"

namespace agentsched::http {
namespace {

std::string big_messages(std::size_t bytes) {
  std::string content;
  while (content.size() < bytes) content += R"(tool said \"{\\\"ok\\\": [1,2]}\" and } ] { [ )";
  return R"([{"role":"system","content":"You are helpful."},{"role":"user","content":")" + content +
         R"("},{"role":"assistant","content":null,"tool_calls":[{"id":"c1",)"
         R"("type":"function","function":{"name":"f","arguments":"{\"job_id\":\"no\"}"}}]}])";
}

TEST(JsonScan, AgreesWithFullExtractionOnEveryIdentitySource) {
  const std::string messages = big_messages(40000);
  const std::vector<std::string> bodies = {
      R"({"model":"m","job_id":"tau2:retail:1:u","messages":)" + messages + "}",
      R"({"messages":)" + messages + R"(,"program_id":7,"is_last_step":true})",
      R"({"messages":)" + messages + R"(,"extra_body":{"job_id":"e","is_last_step":"True"}})",
      R"({"extra_body":{"program_id":"p"},"messages":)" + messages + "}",
      R"({"vllm_xargs":{"agentic_context":{"program_id":"c","is_last_step":1}},"messages":[]})",
      R"({"messages":[],"job_id":null})",
      R"( { "job_id" : "spaced" , "stream" : true } )",
      R"({"job_id":"a","job_id":"b"})",
  };
  for (const auto& body : bodies) {
    auto scan = scan_chat_request(body, "hdr");
    ASSERT_TRUE(scan) << body.substr(0, 200) << ": " << scan.error().message;
    const auto full = boost::json::parse(body).as_object();
    EXPECT_EQ(scan->program_id, extract_program_id(full, "hdr")) << body.substr(0, 100);
    EXPECT_EQ(scan->is_last_step, extract_is_last_step(full)) << body.substr(0, 100);
    EXPECT_FALSE(scan->full_parse);
  }
}

TEST(JsonScan, StreamFlagsAndUsageEdit) {
  {
    const std::string body = R"({"stream":true,"messages":[]})";
    auto scan = scan_chat_request(body, "");
    ASSERT_TRUE(scan);
    EXPECT_TRUE(scan->stream);
    EXPECT_FALSE(scan->include_usage);
    auto edit = include_usage_edit(body, *scan);
    ASSERT_TRUE(edit);
    std::string edited = body;
    edited.replace(edit->begin, edit->end - edit->begin, edit->text);
    auto v = boost::json::parse(edited).as_object();
    EXPECT_EQ(v.at("stream_options").at("include_usage"), true);
    EXPECT_EQ(v.at("messages").as_array().size(), 0u);
  }
  {
    const std::string body =
        R"({"messages":[],"stream":true,"stream_options":{"include_usage":false,"continuous_usage_stats":true}})";
    auto scan = scan_chat_request(body, "");
    ASSERT_TRUE(scan);
    auto edit = include_usage_edit(body, *scan);
    ASSERT_TRUE(edit);
    std::string edited = body;
    edited.replace(edit->begin, edit->end - edit->begin, edit->text);
    auto v = boost::json::parse(edited).as_object();
    EXPECT_EQ(v.at("stream_options").at("include_usage"), true);
    EXPECT_EQ(v.at("stream_options").at("continuous_usage_stats"), true);
    EXPECT_EQ(edited.substr(0, 30), body.substr(0, 30));
  }
  {
    const std::string body = R"({"stream":true,"stream_options":{"include_usage":true}})";
    auto scan = scan_chat_request(body, "");
    ASSERT_TRUE(scan);
    EXPECT_TRUE(scan->include_usage);
    EXPECT_FALSE(include_usage_edit(body, *scan));
  }
  {
    auto scan = scan_chat_request(R"({"stream":false})", "");
    ASSERT_TRUE(scan);
    EXPECT_FALSE(scan->stream);
    EXPECT_FALSE(include_usage_edit(R"({"stream":false})", *scan));
  }
}

TEST(JsonScan, EscapedKeysFallBackToFullParse) {
  const std::string body = R"({"job\u005fid":"x","stream":true,"messages":[]})";
  auto scan = scan_chat_request(body, "");
  ASSERT_TRUE(scan);
  EXPECT_TRUE(scan->full_parse);
  EXPECT_EQ(scan->program_id, "x");
  auto edit = include_usage_edit(body, *scan);
  ASSERT_TRUE(edit);
  EXPECT_EQ(edit->begin, 0u);
  EXPECT_EQ(edit->end, body.size());
  auto v = boost::json::parse(edit->text).as_object();
  EXPECT_EQ(v.at("stream_options").at("include_usage"), true);
}

TEST(JsonScan, RejectsWhatIsNotAnObject) {
  for (const char* bad :
       {"", "   ", "[1]", "\"s\"", "{", R"({"a":1,})", R"({"a" 1})", R"({"a":1} x)",
        R"({"a":"unterminated})", R"({"a":[1,2})", R"({"job_id":tru})", R"({"job_id":})"})
    EXPECT_FALSE(scan_chat_request(bad, "")) << bad;
  EXPECT_TRUE(scan_chat_request("{}", ""));
  EXPECT_TRUE(scan_chat_request(R"({"a":"\\"})", ""));
}

TEST(JsonScan, UsageOnlyChunk) {
  EXPECT_TRUE(is_usage_only_chunk(
      R"(data: {"id":"x","choices":[],"usage":{"prompt_tokens":1,"total_tokens":2}})"));
  EXPECT_TRUE(is_usage_only_chunk(R"({"choices": [ ], "usage": {"total_tokens":2}})"));
  EXPECT_FALSE(is_usage_only_chunk(R"(data: {"choices":[{"delta":{}}],"usage":null})"));
  EXPECT_FALSE(is_usage_only_chunk(R"(data: {"choices":[],"usage":null})"));
  EXPECT_FALSE(is_usage_only_chunk("data: [DONE]"));
}

TEST(UsageScanner, AnySplitLastWins) {
  const std::string stream =
      R"(data: {"choices":[{"delta":{"content":"say \"total_tokens\":999 please"}}],)"
      R"("usage":{"prompt_tokens":10,"total_tokens":11,"completion_tokens":1}})"
      "\n\n"
      R"(data: {"choices":[],"usage":{"prompt_tokens":10, "completion_tokens": 25,)"
      R"("total_tokens":35,"prompt_tokens_details":{"cached_tokens":4}}})"
      "\n\ndata: [DONE]\n\n";
  for (std::size_t step = 1; step <= stream.size(); step += (step < 20 ? 1 : 37)) {
    UsageScanner s;
    for (std::size_t i = 0; i < stream.size(); i += step)
      s.feed(std::string_view(stream).substr(i, step));
    ASSERT_TRUE(s.total_tokens) << step;
    EXPECT_EQ(*s.prompt_tokens, 10) << step;
    EXPECT_EQ(*s.completion_tokens, 25) << step;
    EXPECT_EQ(*s.total_tokens, 35) << step;
  }
  UsageScanner none;
  none.feed(R"({"content":"\"total_tokens\":5"})");
  EXPECT_FALSE(none.total_tokens);
}

}  // namespace
}  // namespace agentsched::http
