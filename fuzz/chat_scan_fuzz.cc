// Targeted scan of chat-completion bodies (http/json_scan.h), the router's reading of every
// client request, and the include_usage edit it makes to streaming ones. Whenever the body is
// valid JSON, the targeted scan must agree with a full parse; an edited body must scan again
// as streaming with usage, with the program fields unchanged.
#include <boost/json.hpp>
#include <string>

#include "fuzz_util.h"
#include "http/json_scan.h"
#include "http/request_fields.h"

namespace json = boost::json;
using namespace agentsched::http;

namespace {

constexpr std::string_view kHeader = "session-from-header";

bool truthy(const json::value* v) {
  if (!v) return false;
  if (const auto* b = v->if_bool()) return *b;
  if (const auto* i = v->if_int64()) return *i != 0;
  if (const auto* u = v->if_uint64()) return *u != 0;
  if (const auto* s = v->if_string()) return *s == "true" || *s == "True" || *s == "1";
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = agentsched::fuzz::as_view(data, size);
  (void)is_usage_only_chunk(body);
  const auto scan = scan_chat_request(body, kHeader);

  boost::system::error_code ec;
  const json::value full = json::parse(body, ec);
  if (!ec && full.is_object()) {
    const json::object& o = full.as_object();
    FUZZ_CHECK(scan.ok());
    FUZZ_CHECK(scan->program_id == extract_program_id(o, kHeader));
    FUZZ_CHECK(scan->is_last_step == extract_is_last_step(o));
    FUZZ_CHECK(scan->stream == truthy(o.if_contains("stream")));
    const json::value* so = o.if_contains("stream_options");
    FUZZ_CHECK(scan->include_usage ==
               (so && so->is_object() && truthy(so->as_object().if_contains("include_usage"))));
  } else if (!ec) {
    FUZZ_CHECK(!scan.ok());  // valid JSON but not an object
  }
  if (!scan) return 0;

  // (After a fall-back to a full parse the edit rewrites the whole body; object_begin is unset.)
  if (!scan->full_parse)
    FUZZ_CHECK(scan->object_begin < body.size() && body[scan->object_begin] == '{');
  if (scan->stream_options) {
    const auto [b, e] = *scan->stream_options;
    FUZZ_CHECK(b < e && e <= body.size());
  }
  const auto edit = include_usage_edit(body, *scan);
  // (nullopt also when the rewritten part holds a number beyond the double range.)
  if (!edit) return 0;
  FUZZ_CHECK(scan->stream && !scan->include_usage);
  FUZZ_CHECK(edit->begin <= edit->end && edit->end <= body.size());
  std::string edited(body.substr(0, edit->begin));
  edited += edit->text;
  edited += body.substr(edit->end);
  const auto again = scan_chat_request(edited, kHeader);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->stream && again->include_usage);
  FUZZ_CHECK(again->program_id == scan->program_id);
  FUZZ_CHECK(again->is_last_step == scan->is_last_step);
  FUZZ_CHECK(!include_usage_edit(edited, *again).has_value());
  return 0;
}
