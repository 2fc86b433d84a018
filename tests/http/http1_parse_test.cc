#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/http1_parse.h"

namespace agentsched::http {
namespace {

TEST(Http1Parse, RequestHeadFieldsAndFraming) {
  const std::string bytes =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n"
      "X-Session-Id:  s-1 \r\nExpect: 100-continue\r\n\r\n{\"a\":1}";
  MessageHead h;
  std::string_view err;
  ASSERT_EQ(parse_request_head(bytes, h, err), ParseResult::kComplete) << err;
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/v1/chat/completions");
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_FALSE(h.chunked);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_TRUE(h.expect_continue);
  EXPECT_EQ(h.field("x-session-id"), "s-1");
  EXPECT_EQ(h.field("HOST"), "x");
  EXPECT_FALSE(h.field("nope"));
  EXPECT_EQ(bytes.substr(h.head_size), "{\"a\":1}");
}

TEST(Http1Parse, IncompleteAtEverySplit) {
  const std::string bytes = "GET /health HTTP/1.1\r\nHost: a\r\n\r\n";
  MessageHead h;
  std::string_view err;
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_EQ(parse_request_head(std::string_view(bytes).substr(0, n), h, err),
              ParseResult::kIncomplete)
        << n;
  EXPECT_EQ(parse_request_head(bytes, h, err), ParseResult::kComplete);
  EXPECT_EQ(h.head_size, bytes.size());
}

TEST(Http1Parse, BareLineFeedsAndConnectionRules) {
  MessageHead h;
  std::string_view err;
  ASSERT_EQ(parse_request_head("GET / HTTP/1.0\nConnection: Keep-Alive\n\n", h, err),
            ParseResult::kComplete);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(parse_request_head("GET / HTTP/1.0\r\n\r\n", h, err), ParseResult::kComplete);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(parse_request_head("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", h, err),
            ParseResult::kComplete);
  EXPECT_FALSE(h.keep_alive);
}

TEST(Http1Parse, RejectsMalformedAndSmuggling) {
  MessageHead h;
  std::string_view err;
  for (const char* bad : {
           "GET /\r\n\r\n",
           "GET / HTTP/2.0\r\n\r\n",
           "G(T / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
           "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
       })
    EXPECT_EQ(parse_request_head(bad, h, err), ParseResult::kError) << bad;
  // Same Content-Length twice is fine.
  EXPECT_EQ(parse_request_head("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
                               h, err),
            ParseResult::kComplete);
}

TEST(Http1Parse, HeadSizeLimit) {
  MessageHead h;
  std::string_view err;
  HeadLimits limits;
  limits.max_head_bytes = 64;
  const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a');
  EXPECT_EQ(parse_request_head(big, h, err, limits), ParseResult::kError);
  limits.max_fields = 1;
  limits.max_head_bytes = 1000;
  EXPECT_EQ(parse_request_head("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", h, err, limits),
            ParseResult::kError);
}

TEST(Http1Parse, ResponseHead) {
  MessageHead h;
  std::string_view err;
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                "Content-Type: text/event-stream\r\n\r\n",
                                h, err),
            ParseResult::kComplete);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.reason, "OK");
  EXPECT_TRUE(h.chunked);
  ASSERT_EQ(
      parse_response_head("HTTP/1.1 404\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", h, err),
      ParseResult::kComplete);
  EXPECT_EQ(h.status, 404);
  EXPECT_EQ(h.content_length, 0u);
  EXPECT_FALSE(h.keep_alive);
  // chunked wins over Content-Length in a response.
  ASSERT_EQ(
      parse_response_head(
          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", h, err),
      ParseResult::kComplete);
  EXPECT_TRUE(h.chunked);
  EXPECT_FALSE(h.content_length);
  EXPECT_EQ(parse_response_head("HTTP/1.1 2x0 OK\r\n\r\n", h, err), ParseResult::kError);
}

std::string decode_all(const std::string& body, std::size_t step, ChunkedDecoder::Status& st,
                       std::size_t& consumed) {
  ChunkedDecoder d;
  std::string out;
  consumed = 0;
  st = ChunkedDecoder::Status::kMore;
  for (std::size_t i = 0; i < body.size() && st == ChunkedDecoder::Status::kMore; i += step) {
    std::vector<std::string_view> pieces;
    const std::string_view in = std::string_view(body).substr(i, step);
    const std::size_t n = d.feed(in, pieces, st);
    consumed += n;
    for (auto p : pieces) out.append(p);
    if (st == ChunkedDecoder::Status::kDone) break;
  }
  return out;
}

TEST(ChunkedDecoder, AnySplitWithExtensionsAndTrailers) {
  const std::string body =
      "5\r\nhello\r\n1;ext=1\r\n \r\nC\r\nworld, again\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (std::size_t step : {1u, 2u, 3u, 5u, 7u, 1000u}) {
    ChunkedDecoder::Status st;
    std::size_t consumed = 0;
    EXPECT_EQ(decode_all(body, step, st, consumed), "hello world, again") << step;
    EXPECT_EQ(st, ChunkedDecoder::Status::kDone) << step;
    EXPECT_EQ(consumed, body.size() - 4) << step;
  }
}

TEST(ChunkedDecoder, BareLineFeedsAndErrors) {
  ChunkedDecoder::Status st;
  std::size_t consumed = 0;
  EXPECT_EQ(decode_all("3\nabc\n0\n\n", 1000, st, consumed), "abc");
  EXPECT_EQ(st, ChunkedDecoder::Status::kDone);
  decode_all("zz\r\n", 1000, st, consumed);
  EXPECT_EQ(st, ChunkedDecoder::Status::kError);
  decode_all("3\r\nabcX\r\n", 1000, st, consumed);
  EXPECT_EQ(st, ChunkedDecoder::Status::kError);
  decode_all("ffffffffffffffffff\r\n", 1000, st, consumed);
  EXPECT_EQ(st, ChunkedDecoder::Status::kError);
}

}  // namespace
}  // namespace agentsched::http
