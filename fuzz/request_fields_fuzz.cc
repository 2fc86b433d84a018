// Program-level fields of a chat request (http/request_fields.h): program id, is_last_step and
// next_tool, wherever clients put them (top level, extra_body, vllm_xargs.agentic_context,
// the x-session-id header). The input is a JSON body; its first line, when it is not JSON,
// is the session header.
#include <boost/json.hpp>
#include <string>

#include "fuzz_util.h"
#include "http/request_fields.h"

namespace json = boost::json;
using namespace agentsched::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes = agentsched::fuzz::as_view(data, size);
  std::string_view header;
  if (!bytes.empty() && bytes.front() != '{') {
    const std::size_t nl = bytes.find('\n');
    header = bytes.substr(0, nl);
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
  }
  boost::system::error_code ec;
  const json::value v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return 0;
  const json::object& body = v.as_object();
  const std::string id = extract_program_id(body, header);
  // The header is the last resort: with one, there is always an id.
  if (id.empty()) FUZZ_CHECK(header.empty());
  (void)extract_is_last_step(body);
  const std::string tool = extract_next_tool(body);
  FUZZ_CHECK(tool.size() <= bytes.size());
  return 0;
}
