#include "workload/tau2_generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace agentsched {

namespace {

std::string make_uuid(Rng& rng) {
  const std::uint64_t a = rng.next_u64(), b = rng.next_u64();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                     (b >> 48 & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

std::int32_t draw_tokens(const QuantileSampler& s, Rng& rng, double scale = 1.0, double cap = 1e9) {
  return static_cast<std::int32_t>(std::max(1L, std::lround(std::min(cap, s.sample(rng) * scale))));
}

ProgramScript make_program(const Tau2Params& p, const DomainShape& domain, int task_index,
                           std::uint64_t seed, std::uint64_t stream) {
  Rng rng = Rng::derive(seed, stream);
  const QuantileSampler user_latency(p.user_latency_ms), output(p.output_tokens),
      tool_result(p.tool_result_tokens), user_msg(p.user_message_tokens),
      visible_tool(p.visible_tool_call_tokens), visible_msg(p.visible_message_tokens),
      expert_out(p.expert_output_tokens);

  const double output_cap = p.output_tokens.empty() ? 1e9 : p.output_tokens.back().second;

  ProgramScript s;
  s.domain = domain.name;
  s.task_id = std::to_string(task_index);
  s.job_id = fmt::format("tau2:{}:{}:{}", domain.name, s.task_id, make_uuid(rng));
  s.head_tokens = domain.head_tokens;
  s.tool_schema_tokens = domain.tool_schema_tokens;
  s.first_user_latency_s = user_latency.sample(rng) * p.wait_scale / 1e3;

  const double mean = domain.mean_turns * p.turns_scale;
  const double sigma2 = std::log(1.0 + p.turns_cv * p.turns_cv);
  const double draw = std::exp(std::log(mean) - sigma2 / 2 + std::sqrt(sigma2) * rng.normal());
  const int max_turns = static_cast<int>(p.max_turns * std::max(1.0, p.turns_scale));
  const int turns = std::clamp(static_cast<int>(std::lround(draw)), p.min_turns, max_turns);

  std::int32_t pending_new = draw_tokens(user_msg, rng);  // the opening user message
  std::int64_t conversation = s.head_tokens;
  for (int k = 0; k < turns; ++k) {
    AgentTurn t;
    t.new_tokens = pending_new;
    conversation += pending_new;
    t.output_tokens = draw_tokens(output, rng, p.output_scale, output_cap);
    const bool last = k + 1 == turns;
    t.action = last ? TurnAction::kEnd
                    : (rng.bernoulli(p.tool_turn_share) ? TurnAction::kTool : TurnAction::kUser);
    t.visible_tokens = std::min<std::int32_t>(
        t.output_tokens,
        draw_tokens(t.action == TurnAction::kTool ? visible_tool : visible_msg, rng));
    if (rng.bernoulli(p.expert_turn_share)) {
      double u = rng.uniform(), acc = 0;
      const ExpertModelShape* shape = &p.experts.back();
      for (const auto& e : p.experts) {
        acc += e.share;
        if (u < acc) {
          shape = &e;
          break;
        }
      }
      ExpertCall e;
      e.model = shape->model;
      e.latency_s = QuantileSampler(shape->latency_ms).sample(rng) * p.wait_scale / 1e3;
      e.input_tokens =
          static_cast<std::int32_t>(std::min<std::int64_t>(conversation, p.prompt_cap_tokens));
      e.output_tokens = draw_tokens(expert_out, rng);
      e.fails = rng.bernoulli(p.expert_failure_prob);
      t.expert = std::move(e);
    }
    if (t.action == TurnAction::kTool) {
      const int calls = rng.bernoulli(p.second_tool_call_prob) ? 2 : 1;
      for (int c = 0; c < calls; ++c) {
        ToolInvocation tool;
        tool.function = domain.tools[static_cast<std::size_t>(
            rng.uniform_int(0, static_cast<std::int64_t>(domain.tools.size()) - 1))];
        tool.duration_s = rng.uniform(p.tool_min_ms, p.tool_max_ms) * p.wait_scale / 1e3;
        t.tools.push_back(std::move(tool));
      }
      pending_new = draw_tokens(tool_result, rng, p.tool_result_scale) * calls;
    } else {
      t.user_latency_s = user_latency.sample(rng) * p.wait_scale / 1e3;
      pending_new = draw_tokens(user_msg, rng);
    }
    conversation += t.visible_tokens;
    const bool failed = t.expert && t.expert->fails;
    s.turns.push_back(std::move(t));
    if (failed) break;  // nothing after a permanent expert failure happens
  }
  return s;
}

}  // namespace

Result<Workload> generate_tau2(const Tau2Params& p, std::uint64_t seed) {
  if (!(p.turns_scale > 0)) return make_error("turns scale must be positive");
  if (!(p.wait_scale > 0)) return make_error("wait scale must be positive");
  if (!(p.output_scale > 0)) return make_error("output scale must be positive");
  if (!(p.tool_result_scale > 0)) return make_error("tool result scale must be positive");
  if (p.domains.empty()) return make_error("workload needs at least one domain");
  Workload w;
  w.name = "tau2";
  if (p.turns_scale != 1.0) w.name += fmt::format("-turns{:g}", p.turns_scale);
  if (p.wait_scale != 1.0) w.name += fmt::format("-waits{:g}", p.wait_scale);
  if (p.output_scale != 1.0) w.name += fmt::format("-out{:g}", p.output_scale);
  if (p.tool_result_scale != 1.0) w.name += fmt::format("-tools{:g}", p.tool_result_scale);
  w.seed = seed;
  w.prompt_cap_tokens = p.prompt_cap_tokens;
  // Global round-robin order across domains: retail 0, telecom 0, airline 0, retail 1, ...
  int max_tasks = 0;
  for (const auto& d : p.domains) max_tasks = std::max(max_tasks, d.tasks);
  for (int i = 0; i < max_tasks; ++i) {
    for (std::size_t d = 0; d < p.domains.size(); ++d) {
      if (i >= p.domains[d].tasks) continue;
      w.programs.push_back(
          make_program(p, p.domains[d], i, seed, (d << 32) | static_cast<std::uint64_t>(i)));
    }
  }
  return w;
}

}  // namespace agentsched
