#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>
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

// Found by fuzz/chat_scan_fuzz: a rewritten part holding a number beyond the double range
// (1e400) came out as `Infinity`, so the edit turned a valid body into invalid JSON.
TEST(JsonScan, UsageEditNeverWritesInvalidJson) {
  for (const std::string body : {
           R"({"str\u0065am":true,"program_id":{"":{"":41e400}}})",          // whole body rewritten
           R"({"stream":true,"stream_options":{"x":1e400},"messages":[]})",  // stream_options
       }) {
    auto scan = scan_chat_request(body, "");
    ASSERT_TRUE(scan) << body;
    ASSERT_TRUE(scan->stream && !scan->include_usage) << body;
    EXPECT_FALSE(include_usage_edit(body, *scan)) << body;  // forwarded as it is
  }
  // Finite numbers are rewritten as usual.
  const std::string body = R"({"stream":true,"stream_options":{"x":1e300}})";
  auto scan = scan_chat_request(body, "");
  ASSERT_TRUE(scan);
  auto edit = include_usage_edit(body, *scan);
  ASSERT_TRUE(edit);
  EXPECT_EQ(boost::json::parse(edit->text).at("include_usage"), true);
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
    ASSERT_TRUE(s.cached_tokens) << step;
    EXPECT_EQ(*s.cached_tokens, 4) << step;
  }
  UsageScanner none;
  none.feed(R"({"content":"\"total_tokens\":5"})");
  EXPECT_FALSE(none.total_tokens);
  EXPECT_FALSE(none.cached_tokens);
}

TEST(JsonScanBlocks, EscapedBitsMatchByteByByteOverManyBlocks) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    // Backslash runs of every length, some crossing block boundaries.
    const int blocks = 1 + static_cast<int>(rng() % 4);
    std::vector<bool> backslash(64 * static_cast<std::size_t>(blocks));
    const int density = 1 + static_cast<int>(rng() % 6);
    for (std::size_t j = 0; j < backslash.size(); ++j)
      backslash[j] = static_cast<int>(rng() % 8) < density;
    // Reference: a backslash not itself escaped escapes the next byte.
    std::vector<bool> escaped(backslash.size() + 1);
    for (std::size_t j = 0; j < backslash.size(); ++j)
      if (backslash[j] && !escaped[j]) escaped[j + 1] = true;
    std::uint64_t carry = 0;
    for (int b = 0; b < blocks; ++b) {
      std::uint64_t mask = 0;
      for (int j = 0; j < 64; ++j)
        if (backslash[static_cast<std::size_t>(64 * b + j)]) mask |= std::uint64_t{1} << j;
      const std::uint64_t got = detail::escaped_bits(mask, carry);
      for (int j = 0; j < 64; ++j)
        ASSERT_EQ((got >> j & 1) != 0, escaped[static_cast<std::size_t>(64 * b + j)])
            << "trial " << trial << " block " << b << " byte " << j;
      ASSERT_EQ(carry != 0, escaped[static_cast<std::size_t>(64 * (b + 1))]) << trial;
    }
  }
}

// Random valid JSON with strings full of escapes and brackets.
void random_json(std::mt19937_64& rng, std::string& out, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 4 ? 3 : 6));
  if (kind <= 1) {
    out += '"';
    const int n = static_cast<int>(rng() % 90);
    for (int i = 0; i < n; ++i) {
      switch (rng() % 9) {
        case 0:
          out += R"(\\)";
          break;  // an escaped backslash
        case 1:
          out += R"(\")";
          break;  // an escaped quote
        case 2:
          out += R"(\\\\\")";
          break;  // two backslashes and a quote, escaped
        case 3:
          out += "{[}]";
          break;
        case 4:
          out += R"(\n\u00e9)";
          break;
        default:
          out += static_cast<char>('a' + rng() % 26);
      }
    }
    out += '"';
  } else if (kind == 2) {
    out += std::to_string(rng() % 100000);
  } else if (kind == 3 || kind == 4) {
    out += '[';
    const int n = static_cast<int>(rng() % 5);
    for (int i = 0; i < n; ++i) {
      if (i) out += rng() % 2 ? "," : " , ";
      random_json(rng, out, depth + 1);
    }
    out += ']';
  } else {
    out += '{';
    const int n = static_cast<int>(rng() % 5);
    for (int i = 0; i < n; ++i) {
      if (i) out += ',';
      out += "\"k\\\"" + std::to_string(i) + "\":";
      random_json(rng, out, depth + 1);
    }
    out += '}';
  }
}

TEST(JsonScanBlocks, BlockScannerAgreesWithTheReference) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text = std::string(rng() % 70, ' ');
    const std::size_t start = text.size();
    random_json(rng, text, 0);
    text += std::string(rng() % 3, ' ') + ",\"after\":1}";
    const std::size_t whole = detail::skip_json_value_reference(text, start);
    boost::system::error_code ec;
    boost::json::parse(std::string_view(text).substr(start, whole - start), ec);
    ASSERT_FALSE(ec) << "the generator must make valid JSON: " << text;
    ASSERT_EQ(detail::skip_json_value(text, start), whole) << text;
    // Every prefix ends (or not) at the same place too.
    const std::size_t cut = start + rng() % (text.size() - start);
    const std::string prefix = text.substr(0, cut);
    ASSERT_EQ(detail::skip_json_value(prefix, start),
              detail::skip_json_value_reference(prefix, start))
        << prefix;
  }
}

TEST(JsonScanBlocks, FindsTheIdentityAfterA40KbTranscriptOfEscapedJson) {
  std::string content;
  while (content.size() < 40000) content += R"(tool: {\"order\": \"#W1\", \"items\": [1, 2]} \\ )";
  for (std::size_t pad = 0; pad < 70; ++pad) {
    const std::string body = R"({"messages":[{"role":"tool","content":")" + std::string(pad, 'x') +
                             content + R"("}],"job_id":"late","stream":true})";
    auto scan = scan_chat_request(body, "");
    ASSERT_TRUE(scan) << pad;
    EXPECT_EQ(scan->program_id, "late") << pad;
    EXPECT_TRUE(scan->stream) << pad;
  }
}

}  // namespace
}  // namespace agentsched::http
