#pragma once
// A workload is a list of agentic programs, each a script of agent turns: what the program
// appends to its conversation, how much the orchestrator generates, and what it waits on
// afterwards (tools, an expert model, the simulated user). The same scripts drive the
// simulator and the live driver.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace agentsched {

struct ExpertCall {
  std::string model;
  double latency_s = 0;
  std::int32_t input_tokens = 0;
  std::int32_t output_tokens = 0;
  bool fails = false;  // fails permanently (remote 500s): the task ends as an error here
};

struct ToolInvocation {
  std::string function;
  double duration_s = 0;
};

enum class TurnAction { kTool, kUser, kEnd };

// One orchestrator call and what follows it.
struct AgentTurn {
  // Tokens appended to the conversation just before this call (a tool result or a user
  // message); the first turn's are the first user message.
  std::int32_t new_tokens = 0;
  // Orchestrator output, reasoning included.
  std::int32_t output_tokens = 0;
  // The part of the output that stays in the conversation (the reasoning is dropped from
  // history, as Qwen3-style chat templates do).
  std::int32_t visible_tokens = 0;
  std::optional<ExpertCall> expert;  // called right after the orchestrator, same step
  TurnAction action = TurnAction::kEnd;
  std::vector<ToolInvocation> tools;  // action == kTool
  double user_latency_s = 0;          // action == kUser or kEnd: the user simulator's reply
};

struct ProgramScript {
  std::string domain;
  std::string task_id;
  std::string job_id;                   // tau2:{domain}:{task_id}:{uuid}
  std::int32_t head_tokens = 0;         // system prompt, domain policy and tool schemas
  std::int32_t tool_schema_tokens = 0;  // part of head_tokens
  double first_user_latency_s = 0;      // the user simulator's opening message
  // Open-loop start time in seconds from the run's start; < 0: the program starts when a slot
  // of the closed loop (C programs in flight) frees up.
  double arrival_s = -1;
  // Identity of the program's own content for the prefix cache: programs with equal keys send
  // equal prompts (a user asking the same question again). Empty: the job_id, i.e. content
  // nobody else sends.
  std::string content_key;
  std::vector<AgentTurn> turns;

  const std::string& content_identity() const { return content_key.empty() ? job_id : content_key; }
  std::int64_t llm_calls() const { return static_cast<std::int64_t>(turns.size()); }
  std::int64_t user_calls() const;
  std::int64_t expert_calls() const;
  std::int64_t tool_calls() const;
  // Role transitions the reference counts as steps if the program runs to its end.
  std::int64_t steps() const;
  // Whether an expert failure ends the task early.
  bool fails() const;
};

// One stage of open-loop arrivals: a Poisson process at this rate for this long.
struct ArrivalStage {
  double rate_per_s = 0;  // mean arrivals per second
  double duration_s = std::numeric_limits<double>::infinity();
};

struct Workload {
  std::string name;
  std::uint64_t seed = 0;
  std::int32_t prompt_cap_tokens = 23000;
  std::vector<ProgramScript> programs;  // in global round-robin start order
  // Open-loop stages the programs' arrival times were drawn from (empty: closed loop).
  std::vector<ArrivalStage> arrival_stages;
  bool open_loop() const { return !arrival_stages.empty(); }
};

}  // namespace agentsched
