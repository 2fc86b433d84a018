#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/fd_limit.h"
#include "http/request_fields.h"
#include "http/sse.h"

namespace agentsched::http {
namespace {

boost::json::object obj(std::string_view text) {
  return boost::json::parse(text).as_object();
}

TEST(RequestFields, ProgramIdSourcesInOrder) {
  EXPECT_EQ(extract_program_id(obj(R"({"job_id":"tau2:retail:1:u"})"), ""), "tau2:retail:1:u");
  EXPECT_EQ(extract_program_id(obj(R"({"job_id":"a","program_id":"b"})"), "h"), "a");
  EXPECT_EQ(extract_program_id(obj(R"({"program_id":"b"})"), "h"), "b");
  EXPECT_EQ(extract_program_id(obj(R"({"extra_body":{"job_id":"e"}})"), "h"), "e");
  EXPECT_EQ(extract_program_id(obj(R"({"extra_body":{"program_id":"p"}})"), ""), "p");
  EXPECT_EQ(
      extract_program_id(obj(R"({"vllm_xargs":{"agentic_context":{"program_id":"c"}}})"), "h"),
      "c");
  EXPECT_EQ(extract_program_id(obj(R"({"messages":[]})"), "sess-9"), "sess-9");
  EXPECT_EQ(extract_program_id(obj(R"({"job_id":42})"), ""), "42");
  EXPECT_EQ(extract_program_id(obj(R"({"job_id":null,"extra_body":"x"})"), ""), "");
  EXPECT_EQ(extract_program_id(obj(R"({"job_id":""})"), "h"), "h");
}

TEST(RequestFields, IsLastStepAndNextTool) {
  EXPECT_FALSE(extract_is_last_step(obj("{}")));
  EXPECT_TRUE(extract_is_last_step(obj(R"({"is_last_step":true})")));
  EXPECT_TRUE(extract_is_last_step(obj(R"({"extra_body":{"is_last_step":"True"}})")));
  EXPECT_TRUE(extract_is_last_step(obj(R"({"is_last_step":1})")));
  EXPECT_FALSE(extract_is_last_step(obj(R"({"is_last_step":"no"})")));
  EXPECT_TRUE(
      extract_is_last_step(obj(R"({"vllm_xargs":{"agentic_context":{"is_last_step":true}}})")));
  EXPECT_EQ(extract_next_tool(obj(R"({"next_tool":"get_order"})")), "get_order");
  EXPECT_EQ(extract_next_tool(obj(R"({"extra_body":{"next_tool":"lookup"}})")), "lookup");
  EXPECT_EQ(extract_next_tool(obj(R"({"next_tool":5})")), "");
}

TEST(Sse, EventFraming) {
  EXPECT_EQ(sse_event(R"({"a":1})"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(sse_event("l1\nl2"), "data: l1\ndata: l2\n\n");
  EXPECT_EQ(kSseDone, "data: [DONE]\n\n");
  std::string batch;
  append_sse_event(batch, "x");
  append_sse_event(batch, "y");
  EXPECT_EQ(batch, "data: x\n\ndata: y\n\n");
}

TEST(Sse, ParserHandlesAnySplitAndLineEnds) {
  const std::string stream =
      ": comment\r\nevent: message\r\ndata: {\"a\":1}\r\n\r\ndata: l1\ndata:l2\n\nid: 3\n\n"
      "data: [DONE]\n\n";
  for (std::size_t step : {1u, 2u, 3u, 7u, 1000u}) {
    std::vector<std::string> events;
    SseParser parser([&](std::string_view d) { events.emplace_back(d); });
    for (std::size_t i = 0; i < stream.size(); i += step) parser.feed(stream.substr(i, step));
    ASSERT_EQ(events.size(), 3u) << "step " << step;
    EXPECT_EQ(events[0], "{\"a\":1}");
    EXPECT_EQ(events[1], "l1\nl2");
    EXPECT_EQ(events[2], "[DONE]");
    EXPECT_EQ(parser.pending_bytes(), 0u);
  }
}

TEST(FdLimit, RaisesSoftLimitToHard) {
  EXPECT_GT(raise_fd_limit(), 0u);
}

}  // namespace
}  // namespace agentsched::http
