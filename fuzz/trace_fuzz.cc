// JSONL workload traces (workload/trace.h), given to `sim`, `drive` and `experiment` by
// users. A trace that reads must hold only values its readers can use (the minimums the
// format documents) and must survive write_trace -> read_trace.
#include <cmath>
#include <sstream>

#include "fuzz_util.h"
#include "workload/trace.h"

using namespace agentsched;

namespace {

void check_valid(const Workload& w) {
  FUZZ_CHECK(!w.programs.empty());
  FUZZ_CHECK(w.prompt_cap_tokens >= 1);
  for (const ProgramScript& p : w.programs) {
    FUZZ_CHECK(p.head_tokens >= 1 && p.tool_schema_tokens >= 0);
    FUZZ_CHECK(std::isfinite(p.first_user_latency_s) && p.first_user_latency_s >= 0);
    FUZZ_CHECK(!p.turns.empty());
    for (const AgentTurn& t : p.turns) {
      FUZZ_CHECK(t.new_tokens >= 0 && t.output_tokens >= 1 && t.visible_tokens >= 0);
      FUZZ_CHECK(std::isfinite(t.user_latency_s) && t.user_latency_s >= 0);
      if (t.action == TurnAction::kTool) FUZZ_CHECK(!t.tools.empty());
      for (const ToolInvocation& tool : t.tools)
        FUZZ_CHECK(std::isfinite(tool.duration_s) && tool.duration_s >= 0);
      if (t.expert) {
        FUZZ_CHECK(t.expert->input_tokens >= 0 && t.expert->output_tokens >= 0);
        FUZZ_CHECK(std::isfinite(t.expert->latency_s) && t.expert->latency_s >= 0);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in{std::string(agentsched::fuzz::as_view(data, size))};
  const auto w = read_trace(in, "fuzz");
  if (!w) {
    FUZZ_CHECK(!w.error().message.empty());
    return 0;
  }
  check_valid(*w);

  std::ostringstream out;
  FUZZ_CHECK(write_trace(*w, out).ok());
  std::istringstream back_in(out.str());
  const auto back = read_trace(back_in, "fuzz");
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->name == w->name && back->seed == w->seed &&
             back->prompt_cap_tokens == w->prompt_cap_tokens);
  FUZZ_CHECK(back->programs.size() == w->programs.size());
  for (std::size_t i = 0; i < w->programs.size(); ++i) {
    const ProgramScript& a = w->programs[i];
    const ProgramScript& b = back->programs[i];
    FUZZ_CHECK(a.domain == b.domain && a.task_id == b.task_id && a.job_id == b.job_id);
    FUZZ_CHECK(a.head_tokens == b.head_tokens && a.tool_schema_tokens == b.tool_schema_tokens);
    FUZZ_CHECK(a.turns.size() == b.turns.size());
    for (std::size_t j = 0; j < a.turns.size(); ++j) {
      const AgentTurn& s = a.turns[j];
      const AgentTurn& t = b.turns[j];
      FUZZ_CHECK(s.new_tokens == t.new_tokens && s.output_tokens == t.output_tokens &&
                 s.visible_tokens == t.visible_tokens && s.action == t.action);
      FUZZ_CHECK(s.expert.has_value() == t.expert.has_value());
      if (s.action == TurnAction::kTool) FUZZ_CHECK(s.tools.size() == t.tools.size());
    }
  }
  return 0;
}
