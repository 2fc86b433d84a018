#pragma once
// The one interpreter of a program script (program_script.h). Hosts -- the simulator's event
// loop (sim/simulation.cc), the live driver (live/driver.cc) and the tests' trace replay --
// ask it for the program's next step and play that step their own way (an engine request on
// the virtual clock, an HTTP call, a timer), then report back:
//
//   ProgramRunner r(script, cap, share_heads);
//   for (ProgramStep s = r.next(); s.kind != ProgramStep::Kind::kEnd; s = r.next())
//     kCall: send the prompt (render() / messages()), then r.call_done();
//     kWait: wait s.seconds (until s.ends_at(start)), then r.wait_done();
//
// A program is the user simulator's opening message (a user wait), then per turn: the turn's
// new tokens appended (the user's message or the tool's result), the orchestrator call, its
// visible output appended, the expert's wait if the turn has one (a scripted failure ends the
// program there as an error), then the tool wait (the sum of the turn's tools) or the user's
// reply (after which a kEnd turn ends the program). A script that runs out of turns ends ok.
//
// It also keeps what every host reports the same way: the reference's step counter (one per
// call and per tool or user wait that ends, as its [PROFILE] lines count), the prompt as
// block hashes with the domain's shared head (shared_head.h) and as messages whose text is the
// one token encoding (token_text.h), and the next-tool rule.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "workload/conversation.h"
#include "workload/program_script.h"

namespace agentsched {

enum class WaitKind : std::uint8_t { kUser, kExpert, kTool };

struct ProgramStep {
  enum class Kind : std::uint8_t { kCall, kWait, kEnd };
  Kind kind = Kind::kEnd;

  // kCall: the orchestrator call of the current turn. The prompt is the runner's (render(),
  // messages(), prompt_tokens()).
  std::int32_t max_tokens = 0;  // the scripted output length (ignore_eos)
  // The tool the program runs next, for engine policies that pin a program's KV across it:
  // "expert:MODEL" before an expert, the first tool's function before tools, else "".
  std::string next_tool;
  bool is_last_step = false;  // an agent cannot know its last call in advance: always false
  bool calls_tool = false;    // a tool or an expert follows (the reference's llm_call flag)

  // kWait
  WaitKind wait = WaitKind::kUser;
  bool opening = false;    // the user simulator's opening message (no call before it)
  double seconds = 0;      // the scripted duration
  std::string_view model;  // the expert's model ("" for tools and the user)
  // For a host that puts a real model in place of the scripted wait: the tokens to send and
  // ask for (user: the conversation stands in for the input).
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::span<const ToolInvocation> tools;  // kTool: in order, `seconds` is their sum

  // kEnd
  bool ok = true;
  std::string_view error;  // when !ok

  // When a wait that started at `start` ends: tools one after the other, anything else
  // `seconds` later.
  double ends_at(double start) const;
};

// One message of the prompt as a client sends it.
struct PromptMessage {
  const char* role;  // "system" (the head), "user" (user messages, tool results), "assistant"
  std::uint64_t text_salt;
  std::size_t index;  // in the conversation
  std::int32_t tokens;
  std::string text() const;
  void append_text(std::string& out) const;
};

class ProgramRunner {
 public:
  // `share_heads`: the program's head is its domain's (block hashes and head text shared by
  // the domain's programs, shared_head.h); else its own.
  ProgramRunner(const ProgramScript& script, std::int32_t prompt_cap_tokens, bool share_heads);

  // The next step; call once at the start and once after each step is reported done.
  ProgramStep next();
  // The call of the last kCall step came back: its visible output joins the conversation.
  void call_done();
  // The wait of the last kWait step is over. `scripted`: the wait was the scripted one (for
  // an expert: false when a real model answered, whose scripted failure then does not apply).
  void wait_done(bool scripted = true);

  const ProgramScript& script() const { return *script_; }
  // The current turn (valid from the first kCall on).
  const AgentTurn& turn() const { return script_->turns[turn_]; }
  std::size_t turn_index() const { return turn_; }
  // The reference's step counter: what the host's log lines for the current step carry.
  long step() const { return step_; }

  // The current prompt (after next() returned a kCall).
  RenderedPrompt render(std::int32_t block_size) const;
  std::vector<PromptMessage> messages() const;
  std::int64_t prompt_tokens() const;
  const Conversation& conversation() const { return conversation_; }
  // Text salt of the program's own messages (its content identity).
  std::uint64_t salt() const { return salt_; }

 private:
  enum class State : std::uint8_t {
    kStart,     // next(): the opening wait
    kOpening,   // the opening wait in progress
    kReady,     // next(): the call of turn_ (or the end past the last turn)
    kCalling,   // the call in progress
    kCalled,    // next(): the expert's wait, or the action's
    kExpert,    // the expert's wait in progress
    kExperted,  // next(): the action's wait, or the end after a failed expert
    kTool,      // the tool wait in progress
    kUser,      // the user's reply in progress
    kFinished,  // next(): the end, ok
    kEnded,
  };
  void append(std::int32_t tokens, std::uint8_t role);
  ProgramStep begin_turn();
  ProgramStep action_wait();

  const ProgramScript* script_;
  std::uint64_t salt_;
  std::uint64_t head_salt_;
  bool share_heads_;
  Conversation conversation_;
  std::vector<std::uint8_t> roles_;  // per conversation message
  std::size_t turn_ = 0;
  long step_ = 0;
  State state_ = State::kStart;
  bool expert_failed_ = false;
  bool ok_ = true;
};

}  // namespace agentsched
