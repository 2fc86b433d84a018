// The relay's decisions (router/relay.h) and the upstream request head (http/upstream.h),
// on response heads and bodies written by hand.
#include "router/relay.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "http/upstream.h"

namespace agentsched::serve {
namespace {

http::MessageHead response(std::string_view text) {
  static std::deque<std::string> keep;  // the head's views point into it
  const std::string& bytes = keep.emplace_back(text);
  http::MessageHead h;
  std::string_view err;
  EXPECT_EQ(http::parse_response_head(bytes, h, err, {}), http::ParseResult::kComplete) << err;
  return h;
}

std::string joined(const std::vector<boost::asio::const_buffer>& bufs) {
  std::string out;
  for (const auto& b : bufs) out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

TEST(RelayPlan, FramingFromTheResponseHead) {
  auto p = plan_response("POST", response("HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n"), false);
  EXPECT_EQ(p.framing, Framing::kLength);
  EXPECT_EQ(p.body_length, 12u);
  EXPECT_TRUE(p.upstream_reusable);
  EXPECT_FALSE(p.client_chunked);
  p = plan_response("POST", response("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"),
                    false);
  EXPECT_EQ(p.framing, Framing::kChunked);
  EXPECT_TRUE(p.client_chunked);
  // No length, no chunking: the body ends when the backend closes; never pooled.
  p = plan_response("GET", response("HTTP/1.1 200 OK\r\n\r\n"), false);
  EXPECT_EQ(p.framing, Framing::kUntilClose);
  EXPECT_FALSE(p.upstream_reusable);
  EXPECT_TRUE(p.client_chunked);
  p = plan_response("HEAD", response("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"), false);
  EXPECT_EQ(p.framing, Framing::kNone);
  p = plan_response("POST", response("HTTP/1.1 204 No Content\r\n\r\n"), false);
  EXPECT_EQ(p.framing, Framing::kNone);
  p = plan_response(
      "POST", response("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\n"), false);
  EXPECT_FALSE(p.upstream_reusable);
}

TEST(RelayPlan, UsageStrippedOnlyFromStreamsTheRouterEdited) {
  const auto sse = response(
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
      "content-length: 100\r\n\r\n");
  auto p = plan_response("POST", sse, true);
  EXPECT_TRUE(p.strip_usage);
  EXPECT_TRUE(p.client_chunked);  // the length changes: re-framed
  p = plan_response("POST", sse, false);
  EXPECT_FALSE(p.strip_usage);
  EXPECT_FALSE(p.client_chunked);
  p = plan_response(
      "POST",
      response("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1\r\n\r\n"),
      true);
  EXPECT_FALSE(p.strip_usage);
}

TEST(RelayPlan, ClientHeadDropsHopByHopFields) {
  const auto rh = response(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\nx-request-id: 7\r\ncontent-length: 2\r\n\r\n");
  const auto plan = plan_response("POST", rh, false);
  std::string h;
  build_client_head(h, rh, plan, 1, true);
  EXPECT_EQ(h,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: 7\r\n"
            "content-length: 2\r\nx-agentsched-backend: 1\r\n\r\n");
  build_client_head(h, rh, plan, 0, false);
  EXPECT_NE(h.find("x-agentsched-backend: 0\r\nconnection: close\r\n\r\n"), std::string::npos);
  const auto chunked = response("HTTP/1.1 502 Bad Gateway\r\ntransfer-encoding: chunked\r\n\r\n");
  build_client_head(h, chunked, plan_response("POST", chunked, false), 0, true);
  EXPECT_EQ(h,
            "HTTP/1.1 502 Bad Gateway\r\ntransfer-encoding: chunked\r\n"
            "x-agentsched-backend: 0\r\n\r\n");
}

TEST(BodyReaderTest, LengthBodyInPieces) {
  ResponsePlan plan;
  plan.framing = Framing::kLength;
  plan.body_length = 5;
  BodyReader r;
  r.reset(plan.framing, plan.body_length);
  std::vector<std::string_view> pieces;
  std::size_t used = 0;
  EXPECT_EQ(r.read("abc", false, pieces, used), BodyReader::Outcome::kMore);
  EXPECT_EQ(used, 3u);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0], "abc");
  // Bytes past the body (a pipelined next response) are left.
  EXPECT_EQ(r.read("deXYZ", false, pieces, used), BodyReader::Outcome::kEnd);
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(pieces[0], "de");
  r.reset(plan.framing, plan.body_length);
  EXPECT_EQ(r.read("ab", true, pieces, used), BodyReader::Outcome::kTruncated);
}

TEST(BodyReaderTest, ChunkedAndUntilClose) {
  ResponsePlan plan;
  plan.framing = Framing::kChunked;
  BodyReader r;
  r.reset(plan.framing, plan.body_length);
  std::vector<std::string_view> pieces;
  std::size_t used = 0;
  EXPECT_EQ(r.read("3\r\nabc\r\n", false, pieces, used), BodyReader::Outcome::kMore);
  EXPECT_EQ(pieces.size(), 1u);
  EXPECT_EQ(r.read("0\r\n\r\n", false, pieces, used), BodyReader::Outcome::kEnd);
  r.reset(plan.framing, plan.body_length);
  EXPECT_EQ(r.read("zz\r\n", false, pieces, used), BodyReader::Outcome::kBadChunk);
  plan.framing = Framing::kUntilClose;
  r.reset(plan.framing, plan.body_length);
  EXPECT_EQ(r.read("data", false, pieces, used), BodyReader::Outcome::kMore);
  EXPECT_EQ(used, 4u);
  EXPECT_EQ(r.read("", true, pieces, used), BodyReader::Outcome::kEnd);
  plan.framing = Framing::kNone;
  r.reset(plan.framing, plan.body_length);
  EXPECT_EQ(r.read("", false, pieces, used), BodyReader::Outcome::kEnd);
  EXPECT_TRUE(pieces.empty());
}

TEST(ClientFrames, HeadChunkSizePiecesAndLastChunk) {
  std::vector<boost::asio::const_buffer> bufs;
  char scratch[24];
  client_frames(bufs, "HEAD\r\n\r\n", {"hello", " world"}, true, false, scratch);
  EXPECT_EQ(joined(bufs), "HEAD\r\n\r\nb\r\nhello world\r\n");
  client_frames(bufs, {}, {}, true, true, scratch);
  EXPECT_EQ(joined(bufs), "0\r\n\r\n");
  client_frames(bufs, {}, {"raw"}, false, true, scratch);
  EXPECT_EQ(joined(bufs), "raw");
  client_frames(bufs, {}, {}, false, false, scratch);
  EXPECT_TRUE(bufs.empty());  // nothing to write: the relay reads on
}

TEST(UpstreamHead, HostRewrittenHopByHopDroppedLengthSet) {
  const std::string req =
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: router:8080\r\nConnection: keep-alive\r\n"
      "Authorization: Bearer k\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
      "X-Session-Id: s\r\n\r\n";
  http::MessageHead head;
  std::string_view err;
  ASSERT_EQ(http::parse_request_head(req, head, err, {}), http::ParseResult::kComplete);
  std::string h;
  http::build_upstream_head(h, head, "127.0.0.1:9000", 42);
  EXPECT_EQ(h,
            "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: 127.0.0.1:9000\r\n"
            "Authorization: Bearer k\r\nX-Session-Id: s\r\ncontent-length: 42\r\n\r\n");
  const std::string get = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(http::parse_request_head(get, head, err, {}), http::ParseResult::kComplete);
  http::build_upstream_head(h, head, "[::1]:9000", 0);
  EXPECT_EQ(h, "GET /v1/models HTTP/1.1\r\nhost: [::1]:9000\r\n\r\n");
}

}  // namespace
}  // namespace agentsched::serve
