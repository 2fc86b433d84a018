#include "workload/program_runner.h"

#include <algorithm>
#include <cassert>

#include "core/hash.h"
#include "workload/shared_head.h"
#include "workload/token_text.h"

namespace agentsched {

namespace {

constexpr std::uint8_t kSystem = 0, kUserRole = 1, kAssistant = 2;
constexpr const char* kRoleNames[] = {"system", "user", "assistant"};
// What a host asks a real user simulator for when the script has no next message to size
// the reply by (the last turn's reply, a script without turns).
constexpr std::int64_t kDefaultReplyTokens = 16;
// The opening message's input: the user simulator's own instructions, not the conversation.
constexpr std::int64_t kOpeningInputTokens = 64;

}  // namespace

double ProgramStep::ends_at(double start) const {
  if (kind == Kind::kWait && wait == WaitKind::kTool) {
    double t = start;
    for (const ToolInvocation& tool : tools) t += tool.duration_s;
    return t;
  }
  return start + seconds;
}

std::string PromptMessage::text() const {
  return token_text(text_salt, index, tokens);
}

void PromptMessage::append_text(std::string& out) const {
  append_token_text(out, text_salt, index, tokens);
}

ProgramRunner::ProgramRunner(const ProgramScript& script, std::int32_t prompt_cap_tokens,
                             bool share_heads)
    : script_(&script),
      salt_(stable_hash64(script.content_identity())),
      head_salt_(share_heads ? shared_head_key(script.domain, script.head_tokens) : salt_),
      share_heads_(share_heads),
      conversation_(salt_, script.head_tokens, prompt_cap_tokens) {
  roles_.push_back(kSystem);
}

void ProgramRunner::append(std::int32_t tokens, std::uint8_t role) {
  if (tokens <= 0) return;  // Conversation keeps no empty messages
  conversation_.append(tokens);
  roles_.push_back(role);
}

ProgramStep ProgramRunner::next() {
  ProgramStep s;
  switch (state_) {
    case State::kStart:
      state_ = State::kOpening;
      s.kind = ProgramStep::Kind::kWait;
      s.wait = WaitKind::kUser;
      s.opening = true;
      s.seconds = script_->first_user_latency_s;
      s.input_tokens = kOpeningInputTokens;
      s.output_tokens =
          script_->turns.empty() ? kDefaultReplyTokens : script_->turns.front().new_tokens;
      return s;
    case State::kReady:
      return begin_turn();
    case State::kCalled: {
      const AgentTurn& t = turn();
      if (!t.expert) return action_wait();
      state_ = State::kExpert;
      s.kind = ProgramStep::Kind::kWait;
      s.wait = WaitKind::kExpert;
      s.seconds = t.expert->latency_s;
      s.model = t.expert->model;
      s.input_tokens = t.expert->input_tokens;
      s.output_tokens = t.expert->output_tokens;
      return s;
    }
    case State::kExperted:
      if (!expert_failed_) return action_wait();
      state_ = State::kEnded;
      ok_ = false;
      s.ok = false;
      s.error = "Expert LLM call failed permanently: 500";
      return s;
    case State::kFinished:
      state_ = State::kEnded;
      return s;
    case State::kEnded:
      s.ok = ok_;
      if (!ok_) s.error = "Expert LLM call failed permanently: 500";
      return s;
    case State::kOpening:
    case State::kCalling:
    case State::kExpert:
    case State::kTool:
    case State::kUser:
      break;  // a step in progress: the host must report it done first
  }
  assert(false && "ProgramRunner::next() with a step in progress");
  return s;
}

ProgramStep ProgramRunner::begin_turn() {
  ProgramStep s;
  if (turn_ >= script_->turns.size()) {  // a script that ends on a tool result (or no turns)
    state_ = State::kEnded;
    return s;
  }
  const AgentTurn& t = turn();
  append(t.new_tokens, kUserRole);  // the user's message or the tools' result
  ++step_;
  state_ = State::kCalling;
  s.kind = ProgramStep::Kind::kCall;
  s.max_tokens = t.output_tokens;
  // The next-tool rule: an expert counts as a tool, and comes first.
  if (t.expert)
    s.next_tool = "expert:" + t.expert->model;
  else if (t.action == TurnAction::kTool && !t.tools.empty())
    s.next_tool = t.tools.front().function;
  s.calls_tool = t.action == TurnAction::kTool || t.expert.has_value();
  return s;
}

ProgramStep ProgramRunner::action_wait() {
  const AgentTurn& t = turn();
  ProgramStep s;
  s.kind = ProgramStep::Kind::kWait;
  if (t.action == TurnAction::kTool) {
    state_ = State::kTool;
    s.wait = WaitKind::kTool;
    s.tools = t.tools;
    for (const ToolInvocation& tool : t.tools) s.seconds += tool.duration_s;
    return s;
  }
  state_ = State::kUser;
  s.wait = WaitKind::kUser;
  s.seconds = t.user_latency_s;
  // The reply is the next turn's user message.
  s.output_tokens = turn_ + 1 < script_->turns.size()
                        ? std::max(1, script_->turns[turn_ + 1].new_tokens)
                        : kDefaultReplyTokens;
  return s;
}

void ProgramRunner::call_done() {
  assert(state_ == State::kCalling);
  append(turn().visible_tokens, kAssistant);
  state_ = State::kCalled;
}

void ProgramRunner::wait_done(bool scripted) {
  switch (state_) {
    case State::kOpening:
      ++step_;
      state_ = State::kReady;
      return;
    case State::kExpert:
      expert_failed_ = scripted && turn().expert->fails;
      state_ = State::kExperted;
      return;
    case State::kTool:
      ++step_;
      ++turn_;
      state_ = State::kReady;
      return;
    case State::kUser:
      ++step_;
      if (turn().action == TurnAction::kEnd) {
        state_ = State::kFinished;
        return;
      }
      ++turn_;
      state_ = State::kReady;
      return;
    default:
      assert(false && "ProgramRunner::wait_done() without a wait in progress");
  }
}

RenderedPrompt ProgramRunner::render(std::int32_t block_size) const {
  RenderedPrompt prompt = conversation_.render(block_size);
  if (share_heads_) share_head_blocks(prompt, head_salt_, script_->head_tokens, block_size);
  return prompt;
}

std::vector<PromptMessage> ProgramRunner::messages() const {
  std::vector<PromptMessage> out;
  for (std::size_t i : conversation_.selected_messages())
    out.push_back(
        {kRoleNames[roles_[i]], i == 0 ? head_salt_ : salt_, i, conversation_.message_tokens(i)});
  return out;
}

std::int64_t ProgramRunner::prompt_tokens() const {
  std::int64_t n = 0;
  for (std::size_t i : conversation_.selected_messages()) n += conversation_.message_tokens(i);
  return n;
}

}  // namespace agentsched
