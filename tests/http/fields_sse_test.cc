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

// The usage filter fed `stream` in pieces of `step` bytes, then finished.
std::string filtered(std::string_view stream, std::size_t step,
                     std::size_t max_held = UsageEventFilter::kDefaultMaxHeldEvent,
                     std::size_t* max_pending = nullptr) {
  UsageEventFilter filter(max_held);
  std::string out;
  for (std::size_t i = 0; i < stream.size(); i += step) {
    filter.feed(stream.substr(i, step), out);
    if (max_pending) *max_pending = std::max(*max_pending, filter.pending_bytes());
  }
  filter.finish(out);
  EXPECT_EQ(filter.pending_bytes(), 0u);
  return out;
}

const std::string kUsageChunk =
    "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,"
    "\"total_tokens\":15}}";

TEST(UsageEventFilter, DropsOnlyTheUsageChunkInAnySplit) {
  const std::string a = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n";
  const std::string b = "data: {\"choices\":[{\"delta\":{}}],\"usage\":null}\n\n";  // kept
  const std::string stream = a + b + kUsageChunk + "\n\n" + std::string(kSseDone);
  for (std::size_t step : {1u, 2u, 3u, 5u, 16u, 1000u})
    EXPECT_EQ(filtered(stream, step), a + b + std::string(kSseDone)) << "step " << step;
  UsageEventFilter filter;
  std::string out;
  filter.feed(stream, out);
  EXPECT_EQ(filter.dropped_events(), 1u);
  EXPECT_EQ(filter.pending_bytes(), 0u);  // the stream ended with a whole event
}

TEST(UsageEventFilter, EveryLineEndAndCrAtAPieceBoundary) {
  const std::string keep = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}";
  for (std::string_view eol : {"\n", "\r\n", "\r"}) {
    const std::string e(eol);
    // Usage chunk first, then a kept event: the blank line's CR must not be mistaken for
    // the end when an LF follows in the next piece.
    const std::string stream = kUsageChunk + e + e + keep + e + e + ": c" + e + e;
    for (std::size_t step : {1u, 2u, 7u, 1000u})
      EXPECT_EQ(filtered(stream, step), keep + e + e + ": c" + e + e) << "eol "
                                                                      << (e == "\r"   ? "CR"
                                                                          : e == "\n" ? "LF"
                                                                                      : "CRLF")
                                                                      << " step " << step;
  }
  // Mixed: "\r\n\n" and "\n\r\n" are blank lines too.
  EXPECT_EQ(filtered(kUsageChunk + "\r\n\n" + "data: 1\n\r\ndata: 2\n\n", 1),
            "data: 1\n\r\ndata: 2\n\n");
}

TEST(UsageEventFilter, StreamEndFlushesWhatIsLeft) {
  // An unfinished event passes as it is, even a usage chunk (it was never a whole event).
  EXPECT_EQ(filtered("data: a\n\ndata: b", 3), "data: a\n\ndata: b");
  EXPECT_EQ(filtered(kUsageChunk + "\n", 4), kUsageChunk + "\n");
  // An event ended by a final lone CR is whole: a usage chunk there is dropped.
  EXPECT_EQ(filtered("data: a\r\r" + kUsageChunk + "\r\r", 1), "data: a\r\r");
  EXPECT_EQ(filtered("", 1), "");
  // Blank lines alone are (empty) events and pass.
  EXPECT_EQ(filtered("\n\n\r\n", 1), "\n\n\r\n");
}

TEST(UsageEventFilter, AnEventLongerThanTheLimitStreamsThroughAndIsKept) {
  // A usage chunk padded past the limit is kept, in one piece or many, and the filter never
  // holds more than the limit plus one piece.
  const std::string padded = kUsageChunk + std::string(300, ' ') + "\n\n";
  const std::string stream = "data: a\n\n" + padded + kUsageChunk + "\n\n";
  for (std::size_t step : {1u, 10u, 1000u}) {
    std::size_t max_pending = 0;
    EXPECT_EQ(filtered(stream, step, 200, &max_pending), "data: a\n\n" + padded) << step;
    EXPECT_LE(max_pending, 200 + step) << step;
  }
  // A stream with no event end at all is not held whole.
  std::size_t max_pending = 0;
  const std::string endless(100000, 'x');
  EXPECT_EQ(filtered(endless, 4096, 1024, &max_pending), endless);
  EXPECT_LE(max_pending, 1024u + 4096u);
}

TEST(FdLimit, RaisesSoftLimitToHard) {
  EXPECT_GT(raise_fd_limit(), 0u);
}

}  // namespace
}  // namespace agentsched::http
