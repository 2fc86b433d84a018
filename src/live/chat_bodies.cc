#include "live/chat_bodies.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "core/rng.h"
#include "workload/token_text.h"

namespace agentsched::serve {

namespace json = boost::json;

namespace {

void append_message(std::string& body, bool& first, const PromptMessage& m) {
  body += first ? "{\"role\":\"" : ",{\"role\":\"";
  first = false;
  body += m.role;
  body += "\",\"content\":\"";
  m.append_text(body);
  body += "\"}";
}

}  // namespace

std::string json_quoted(std::string_view s) {
  return json::serialize(json::string(s));
}

bool read_chat_usage(std::string_view body, ChatUsage& out) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return false;
  const auto* usage = doc.as_object().if_contains("usage");
  if (!usage || !usage->is_object()) return true;
  const auto& u = usage->as_object();
  auto number = [](const json::object& o, std::string_view key) -> std::int64_t {
    const json::value* v = o.if_contains(key);
    if (!v) return -1;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    return -1;
  };
  out.prompt_tokens = number(u, "prompt_tokens");
  out.completion_tokens = number(u, "completion_tokens");
  if (const auto* d = u.if_contains("prompt_tokens_details"); d && d->is_object())
    out.cached_tokens = number(d->as_object(), "cached_tokens");
  return true;
}

std::string llm_call_body(const ProgramRunner& runner, const ProgramStep& call,
                          std::string_view job_id, const std::string* model) {
  std::string body;
  body.reserve(static_cast<std::size_t>(runner.conversation().full_tokens()) * kTokenTextBytes +
               512);
  body += "{";
  if (model) body += fmt::format("\"model\":{},", json_quoted(*model));
  body += "\"messages\":[";
  bool first = true;
  for (const PromptMessage& m : runner.messages()) append_message(body, first, m);
  body += fmt::format("],\"max_tokens\":{},\"ignore_eos\":true,\"stream\":false,\"job_id\":{}",
                      std::max(1, call.max_tokens), json_quoted(job_id));
  if (!call.next_tool.empty())
    body += fmt::format(",\"next_tool\":{}", json_quoted(call.next_tool));
  body += "}";
  return body;
}

std::string remote_call_body(const ProgramRunner& runner, long step, std::string_view model,
                             std::string_view job_id, std::int64_t input_tokens,
                             std::int64_t output_tokens, bool with_conversation) {
  std::string body = fmt::format("{{\"model\":{},\"messages\":[", json_quoted(model));
  bool first = true;
  std::uint64_t salt =
      hash_combine(runner.salt(), 0x72656d6f7465ULL + static_cast<std::uint64_t>(step));
  if (with_conversation) {
    append_message(body, first, PromptMessage{"system", salt, 0, 64});
    for (const PromptMessage& m : runner.messages())
      if (m.index > 0) append_message(body, first, m);
  } else {
    append_message(
        body, first,
        PromptMessage{"user", salt, 1,
                      static_cast<std::int32_t>(std::max<std::int64_t>(1, input_tokens))});
  }
  body += fmt::format("],\"max_tokens\":{},\"ignore_eos\":true,\"job_id\":{}}}",
                      std::max<std::int64_t>(1, output_tokens), json_quoted(job_id));
  return body;
}

}  // namespace agentsched::serve
