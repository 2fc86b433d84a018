#include "workload/program_script.h"

namespace agentsched {

std::int64_t ProgramScript::user_calls() const {
  std::int64_t n = 1;  // the opening message
  for (const auto& t : turns) {
    if (t.expert && t.expert->fails) break;
    if (t.action != TurnAction::kTool) ++n;
  }
  return n;
}

std::int64_t ProgramScript::expert_calls() const {
  std::int64_t n = 0;
  for (const auto& t : turns) {
    if (!t.expert) continue;
    ++n;
    if (t.expert->fails) break;
  }
  return n;
}

std::int64_t ProgramScript::tool_calls() const {
  std::int64_t n = 0;
  for (const auto& t : turns) {
    if (t.expert && t.expert->fails) break;
    n += static_cast<std::int64_t>(t.tools.size());
  }
  return n;
}

std::int64_t ProgramScript::steps() const {
  // user->agent for the opening message; per turn agent->X, then env->agent or user->agent.
  std::int64_t n = 1;
  for (const auto& t : turns) {
    if (t.expert && t.expert->fails) break;
    n += 2;
  }
  return n;
}

bool ProgramScript::fails() const {
  for (const auto& t : turns)
    if (t.expert && t.expert->fails) return true;
  return false;
}

}  // namespace agentsched
