#include "http/request_fields.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace agentsched::http {

namespace {

namespace json = boost::json;

const json::object* object_at(const json::object& body, std::string_view key) {
  const json::value* v = body.if_contains(key);
  return v ? v->if_object() : nullptr;
}

const json::object* agentic_context(const json::object& body) {
  const json::object* xargs = object_at(body, "vllm_xargs");
  return xargs ? object_at(*xargs, "agentic_context") : nullptr;
}

// Ids may be strings or integers; anything else (null, objects) counts as absent.
std::string id_string(const json::value* v) {
  if (!v) return {};
  if (const auto* s = v->if_string()) return std::string(*s);
  if (const auto* i = v->if_int64()) return std::to_string(*i);
  if (const auto* u = v->if_uint64()) return std::to_string(*u);
  return {};
}

std::string first_id(std::initializer_list<const json::value*> candidates) {
  for (const json::value* v : candidates) {
    std::string id = id_string(v);
    if (!id.empty()) return id;
  }
  return {};
}

std::optional<bool> truthy(const json::value* v) {
  if (!v) return std::nullopt;
  if (const auto* b = v->if_bool()) return *b;
  if (const auto* i = v->if_int64()) return *i != 0;
  if (const auto* u = v->if_uint64()) return *u != 0;
  if (const auto* s = v->if_string()) {
    std::string t(*s);
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    return t == "true" || t == "1";
  }
  return std::nullopt;
}

const json::value* field(const json::object* o, std::string_view key) {
  return o ? o->if_contains(key) : nullptr;
}

}  // namespace

std::string extract_program_id(const json::object& body, std::string_view session_header) {
  const json::object* extra = object_at(body, "extra_body");
  std::string id =
      first_id({field(&body, "job_id"), field(&body, "program_id"), field(extra, "job_id"),
                field(extra, "program_id"), field(agentic_context(body), "program_id")});
  if (id.empty()) id = std::string(session_header);
  return id;
}

bool extract_is_last_step(const json::object& body) {
  for (const json::value* v :
       {field(&body, "is_last_step"), field(object_at(body, "extra_body"), "is_last_step"),
        field(agentic_context(body), "is_last_step")})
    if (auto b = truthy(v)) return *b;
  return false;
}

std::string extract_next_tool(const json::object& body) {
  for (const json::value* v :
       {field(&body, "next_tool"), field(object_at(body, "extra_body"), "next_tool"),
        field(agentic_context(body), "next_tool")})
    if (v && v->is_string()) return std::string(v->get_string());
  return {};
}

}  // namespace agentsched::http
