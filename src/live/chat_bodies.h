#pragma once
// The bodies `drive` posts and the part of a reply it reads: an LLM call of a program (its
// conversation as chat messages, from the program runner), a remote model call (user
// simulator or expert: filler or the conversation), and the usage of a chat-completion reply.
#include <cstdint>
#include <string>
#include <string_view>

#include "workload/program_runner.h"

namespace agentsched::serve {

// A JSON string literal of `s`, quotes included.
std::string json_quoted(std::string_view s);

// Usage of a chat-completion reply; fields stay -1 when absent.
struct ChatUsage {
  std::int64_t prompt_tokens = -1;
  std::int64_t completion_tokens = -1;
  std::int64_t cached_tokens = -1;
};
// False when the body is not a JSON object; true (usage possibly absent) otherwise.
bool read_chat_usage(std::string_view body, ChatUsage& out);

// The program's next LLM call: its messages, `max_tokens` (at least 1), ignore_eos, its
// job_id and, as the simulator passes it, the tool the program runs next (for the continuum
// engine policy's pinning). `model`: the model name to send, or none.
std::string llm_call_body(const ProgramRunner& runner, const ProgramStep& call,
                          std::string_view job_id, const std::string* model);

// A call to a remote model (user simulator, expert) at the program's step `step`:
// `input_tokens` of filler, or the conversation after its head when `with_conversation`;
// `output_tokens` asked for exactly.
std::string remote_call_body(const ProgramRunner& runner, long step, std::string_view model,
                             std::string_view job_id, std::int64_t input_tokens,
                             std::int64_t output_tokens, bool with_conversation);

}  // namespace agentsched::serve
