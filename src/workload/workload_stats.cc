#include "workload/workload_stats.h"

#include <algorithm>
#include <cmath>

#include "workload/conversation.h"
#include "workload/trace.h"

namespace agentsched {

namespace {
double percentile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}
}  // namespace

Distribution summarize(std::vector<double> values) {
  Distribution d;
  d.n = values.size();
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  d.mean = sum / static_cast<double>(values.size());
  d.p10 = percentile_sorted(values, 0.10);
  d.p50 = percentile_sorted(values, 0.50);
  d.p90 = percentile_sorted(values, 0.90);
  d.p99 = percentile_sorted(values, 0.99);
  d.max = values.back();
  return d;
}

WorkloadStats compute_stats(const Workload& w, int block_size) {
  WorkloadStats s;
  s.programs = w.programs.size();
  std::vector<double> user, output, prompt;
  std::map<std::string, std::vector<double>> expert;
  std::size_t calls = 0, cut_calls = 0, experts = 0;
  double steps = 0, llm = 0, users = 0, tools = 0;
  for (std::size_t i = 0; i < w.programs.size(); ++i) {
    const ProgramScript& p = w.programs[i];
    ++s.programs_per_domain[p.domain];
    steps += static_cast<double>(p.steps());
    llm += static_cast<double>(p.llm_calls());
    users += static_cast<double>(p.user_calls());
    tools += static_cast<double>(p.tool_calls());
    s.failing_tasks += p.fails();
    user.push_back(p.first_user_latency_s * 1e3);
    Conversation conv(i + 1, p.head_tokens, w.prompt_cap_tokens);
    for (const AgentTurn& t : p.turns) {
      conv.append(t.new_tokens);
      const RenderedPrompt r = conv.render(block_size);
      prompt.push_back(static_cast<double>(r.tokens));
      ++calls;
      cut_calls += r.cut;
      output.push_back(t.output_tokens);
      conv.append(t.visible_tokens);
      if (t.expert) {
        expert[t.expert->model].push_back(t.expert->latency_s * 1e3);
        ++experts;
        if (t.expert->fails) break;
      }
      if (t.action != TurnAction::kTool) user.push_back(t.user_latency_s * 1e3);
    }
  }
  const double n = std::max<double>(1, static_cast<double>(s.programs));
  s.steps_per_task = steps / n;
  s.llm_calls_per_task = llm / n;
  s.user_calls_per_task = users / n;
  s.expert_calls_per_task = static_cast<double>(experts) / n;
  s.tool_calls_per_task = tools / n;
  for (auto& [model, lat] : expert) {
    s.expert_share[model] = static_cast<double>(lat.size()) / std::max<std::size_t>(1, experts);
    s.expert_latency_ms[model] = summarize(lat);
  }
  s.user_latency_ms = summarize(user);
  s.output_tokens = summarize(output);
  s.prompt_tokens = summarize(prompt);
  s.calls_with_cut_share = calls ? static_cast<double>(cut_calls) / calls : 0;
  return s;
}

Result<Workload> load_workload(const std::string& spec, std::uint64_t seed,
                               const Tau2Params& params) {
  if (spec == "tau2") return generate_tau2(params, seed);
  return read_trace_file(spec);
}

}  // namespace agentsched
