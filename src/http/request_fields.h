#pragma once
// Program-level fields of an OpenAI chat-completion request, wherever agentic clients put
// them: our driver and the reference study send a top-level `job_id`; OpenAI SDKs can only
// add unknown fields through `extra_body` (some clients forward that object verbatim);
// Continuum's client sends `vllm_xargs.agentic_context`; others identify the session with
// an `x-session-id` header.
#include <boost/json/fwd.hpp>
#include <string>
#include <string_view>

namespace agentsched::http {

// The program (session) id, looked up in this order: top-level `job_id`, top-level
// `program_id`, `extra_body.job_id`, `extra_body.program_id`,
// `vllm_xargs.agentic_context.program_id`, then the `x-session-id` header value
// (pass "" when absent). Numbers are accepted and printed in decimal. "" when none.
std::string extract_program_id(const boost::json::object& body, std::string_view session_header);

// `is_last_step` from the top level, `extra_body` or `vllm_xargs.agentic_context`: true for
// JSON true, a non-zero number, or the strings "true"/"1" (any case for "true").
bool extract_is_last_step(const boost::json::object& body);

// The tool the program runs after this call (read by the continuum engine policy to decide
// whether to pin KV): top-level `next_tool`, `extra_body.next_tool` or
// `vllm_xargs.agentic_context.next_tool`. "" when none.
std::string extract_next_tool(const boost::json::object& body);

}  // namespace agentsched::http
