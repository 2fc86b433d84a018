#include "emulator/chat_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <limits>

#include "core/hash.h"
#include "core/rng.h"
#include "http/request_fields.h"
#include "workload/token_text.h"

namespace agentsched::serve {

namespace json = boost::json;

namespace {

constexpr std::size_t kBlockBytes = 16 * kBytesPerToken;

// Text of a message's `content`: a string, or an array of parts of which the text parts
// count (images and audio have no text for the emulator to count).
Status append_content(std::string& out, const json::value& content, std::size_t index) {
  if (content.is_null()) return Ok{};
  if (const auto* s = content.if_string()) {
    out.append(s->data(), s->size());
    return Ok{};
  }
  if (const auto* parts = content.if_array()) {
    for (const json::value& part : *parts) {
      const auto* obj = part.if_object();
      if (!obj)
        return make_error(fmt::format("messages[{}].content: parts must be objects", index));
      if (const auto* text = obj->if_contains("text"); text && text->is_string())
        out.append(text->get_string().data(), text->get_string().size());
    }
    return Ok{};
  }
  return make_error(
      fmt::format("messages[{}].content: expected a string, an array of parts or null", index));
}

void append_tool_calls(std::string& out, const json::value& calls) {
  const auto* arr = calls.if_array();
  if (!arr) return;
  for (const json::value& call : *arr) {
    const auto* obj = call.if_object();
    const json::value* fn = obj ? obj->if_contains("function") : nullptr;
    const auto* fobj = fn ? fn->if_object() : nullptr;
    if (!fobj) continue;
    for (std::string_view key : {"name", "arguments"})
      if (const auto* v = fobj->if_contains(key); v && v->is_string())
        out.append(v->get_string().data(), v->get_string().size());
  }
}

// A positive integer field; absent and null give nullopt.
Result<std::optional<std::int64_t>> optional_int(const json::object& body, std::string_view key) {
  const json::value* v = body.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::int64_t>{};
  if (const auto* i = v->if_int64()) return std::optional<std::int64_t>{*i};
  if (const auto* u = v->if_uint64())
    return std::optional<std::int64_t>{static_cast<std::int64_t>(
        std::min<std::uint64_t>(*u, std::numeric_limits<std::int64_t>::max()))};
  return make_error(fmt::format("{}: expected an integer", key));
}

Result<bool> optional_bool(const json::object& body, std::string_view key) {
  const json::value* v = body.if_contains(key);
  if (!v || v->is_null()) return false;
  if (const auto* b = v->if_bool()) return *b;
  return make_error(fmt::format("{}: expected a boolean", key));
}

}  // namespace

std::uint64_t hash_bytes(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::int64_t tokens_for_text(std::size_t bytes) {
  const auto tokens = static_cast<std::int64_t>((bytes + kBytesPerToken - 1) / kBytesPerToken);
  return tokens < 1 ? 1 : tokens;
}

std::vector<std::uint64_t> prompt_block_hashes(std::string_view text) {
  std::vector<std::uint64_t> hashes;
  hashes.reserve(text.size() / kBlockBytes);
  std::uint64_t prev = 0x70726f6d7074ULL;  // chain seed
  for (std::size_t at = 0; at + kBlockBytes <= text.size(); at += kBlockBytes) {
    prev = hash_combine(prev, hash_bytes(text.substr(at, kBlockBytes)));
    hashes.push_back(prev);
  }
  return hashes;
}

std::uint64_t program_key(std::string_view program_id) {
  // The simulator's key for the same id, so both order and tie-break programs alike.
  return program_id.empty() ? 0 : stable_hash64(program_id);
}

void append_filler_text(std::string& out, std::uint64_t seed, std::int64_t first,
                        std::int64_t count) {
  append_token_words(out, seed, first, count);
}

std::string filler_text(std::uint64_t seed, std::int64_t first, std::int64_t count) {
  std::string out;
  append_filler_text(out, seed, first, count);
  return out;
}

Result<ChatRequest> parse_chat_request(std::string_view body, std::string_view session_header) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return make_error(fmt::format("Invalid JSON in request body: {}", ec.message()));
  const auto* obj = doc.if_object();
  if (!obj) return make_error("Request body must be a JSON object");

  ChatRequest req;
  if (const auto* model = obj->if_contains("model"); model && !model->is_null()) {
    if (!model->is_string()) return make_error("model: expected a string");
    req.model = std::string(model->get_string());
  }

  const json::value* messages = obj->if_contains("messages");
  if (!messages) return make_error("1 validation error: messages: Field required");
  const auto* list = messages->if_array();
  if (!list) return make_error("messages: expected an array of message objects");
  if (list->empty()) return make_error("messages: at least one message is required");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto* m = (*list)[i].if_object();
    if (!m) return make_error(fmt::format("messages[{}]: expected an object", i));
    const json::value* role = m->if_contains("role");
    if (!role || !role->is_string())
      return make_error(fmt::format("messages[{}].role: Field required (a string)", i));
    if (const json::value* content = m->if_contains("content")) {
      if (auto st = append_content(req.prompt_text, *content, i); !st) return st.error();
    }
    if (const json::value* calls = m->if_contains("tool_calls"))
      append_tool_calls(req.prompt_text, *calls);
  }
  req.prompt_tokens = tokens_for_text(req.prompt_text.size());

  auto max_completion = optional_int(*obj, "max_completion_tokens");
  if (!max_completion) return max_completion.error();
  auto max_tokens = optional_int(*obj, "max_tokens");
  if (!max_tokens) return max_tokens.error();
  req.max_tokens = *max_completion ? *max_completion : *max_tokens;
  if (req.max_tokens && *req.max_tokens < 1)
    return make_error(fmt::format("max_tokens must be at least 1, got {}.", *req.max_tokens));
  auto min_tokens = optional_int(*obj, "min_tokens");
  if (!min_tokens) return min_tokens.error();
  req.min_tokens = min_tokens->value_or(0);
  if (req.min_tokens < 0) return make_error("min_tokens must be greater than or equal to 0");
  if (req.max_tokens && req.min_tokens > *req.max_tokens)
    return make_error(fmt::format("min_tokens must be less than or equal to max_tokens={}, got {}.",
                                  *req.max_tokens, req.min_tokens));
  auto n = optional_int(*obj, "n");
  if (!n) return n.error();
  if (*n && **n != 1)
    return make_error("n: the engine emulator generates exactly one choice (n=1)");

  auto ignore_eos = optional_bool(*obj, "ignore_eos");
  if (!ignore_eos) return ignore_eos.error();
  req.ignore_eos = *ignore_eos;
  auto stream = optional_bool(*obj, "stream");
  if (!stream) return stream.error();
  req.stream = *stream;
  if (const auto* so = obj->if_contains("stream_options"); so && !so->is_null()) {
    const auto* so_obj = so->if_object();
    if (!so_obj) return make_error("stream_options: expected an object");
    auto usage = optional_bool(*so_obj, "include_usage");
    if (!usage) return make_error("stream_options.include_usage: expected a boolean");
    req.include_usage = *usage;
  }

  req.program_id = http::extract_program_id(*obj, session_header);
  req.is_last_step = http::extract_is_last_step(*obj);
  req.next_tool = http::extract_next_tool(*obj);
  return req;
}

}  // namespace agentsched::serve
