#include "workload/shared_prefix.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/rng.h"
#include "workload/arrivals.h"

namespace agentsched {

Result<Workload> generate_shared_prefix(const SharedPrefixParams& p, std::uint64_t seed) {
  auto positive = [](int v, const char* what) -> Status {
    if (v < 1)
      return make_error(fmt::format("shared-prefix: {} must be at least 1, got {}", what, v));
    return Ok{};
  };
  for (const auto& [v, what] : {std::pair{p.groups, "--groups"},
                                {p.users, "--users"},
                                {p.system_tokens, "--system"},
                                {p.question_tokens, "--question"},
                                {p.output_tokens, "--output"}})
    if (auto st = positive(v, what); !st) return st.error();
  if (!(p.early_stop_share >= 0 && p.early_stop_share <= 1))
    return make_error(fmt::format("shared-prefix: --early-stop-share must be in [0, 1], got {}",
                                  p.early_stop_share));
  if (p.stages.empty()) return make_error("shared-prefix: --stages gives no stage");
  for (const auto& s : p.stages)
    if (!std::isfinite(s.duration_s))
      return make_error(
          "shared-prefix: every stage needs a duration (RATE:SECONDS): the "
          "workload is as long as its stages");

  // Enough requests for the stages (their expected count plus ample slack); arrivals past
  // the last stage's end are cut by the arrival process itself.
  double expected = 0;
  for (const auto& s : p.stages) expected += s.rate_per_s * s.duration_s;
  const auto cap = static_cast<std::size_t>(expected + 10 * std::sqrt(expected) + 100);
  const std::vector<double> times = poisson_arrivals(p.stages, seed, cap);
  if (times.empty()) return make_error("shared-prefix: no request arrives within the stages");

  Workload w;
  w.name = "shared-prefix";
  w.seed = seed;
  w.prompt_cap_tokens = std::numeric_limits<std::int32_t>::max();  // single-turn: never cut
  w.arrival_stages = p.stages;
  const int prompts = p.groups * p.users;
  Rng lengths(seed ^ 0x0e05ULL);
  for (std::size_t n = 0; n < times.size(); ++n) {
    const int prompt = static_cast<int>(n % static_cast<std::size_t>(prompts));
    const int group = prompt / p.users, user = prompt % p.users;
    ProgramScript s;
    s.domain = fmt::format("group{}", group);  // the group's system prompt is its shared head
    s.task_id = std::to_string(n);
    s.job_id = fmt::format("shared-prefix:g{}:u{}:{}", group, user, n);
    s.content_key = fmt::format("shared-prefix:g{}:u{}", group, user);
    s.head_tokens = p.system_tokens;
    s.arrival_s = times[n];
    AgentTurn turn;
    turn.new_tokens = p.question_tokens;
    turn.output_tokens = p.output_tokens;
    if (p.output_tokens > 1 && lengths.uniform() < p.early_stop_share)
      turn.output_tokens =
          1 + static_cast<int>(lengths.uniform() * static_cast<double>(p.output_tokens - 1));
    turn.visible_tokens = turn.output_tokens;
    turn.action = TurnAction::kEnd;
    s.turns.push_back(turn);
    w.programs.push_back(std::move(s));
  }
  return w;
}

}  // namespace agentsched
