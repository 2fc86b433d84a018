#include "gateway/thunderreact.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gateway/policy_params.h"

namespace agentsched {

namespace {

// The one list of parameters: from() parses with it and describe() documents with it, so a
// parameter cannot be settable without being documented or the other way round.
constexpr ParamField<ThunderReactParams> kFields[] = {
    {"pause_threshold", &ThunderReactParams::pause_threshold, ParamRange::within(0, 1),
     "pause programs when a backend's KV usage is at least this"},
    {"pause_target", &ThunderReactParams::pause_target, ParamRange::within(0, 1),
     "pause (usage - pause_target) x budget x fraction tokens worth of programs"},
    {"pause_cooldown_s", &ThunderReactParams::pause_cooldown_s, ParamRange::at_least(0),
     "seconds since the backend's last pause before it pauses again"},
    {"resume_threshold", &ThunderReactParams::resume_threshold, ParamRange::within(0, 1),
     "resume paused programs when the backend's KV usage is below this"},
    {"resume_target", &ThunderReactParams::resume_target, ParamRange::within(0, 1),
     "resume (resume_target - usage) x budget x fraction tokens worth of programs"},
    {"resume_cooldown_s", &ThunderReactParams::resume_cooldown_s, ParamRange::at_least(0),
     "seconds since the backend's last resume before it resumes again"},
    {"fraction", &ThunderReactParams::fraction, ParamRange::above(0),
     "share of the usage gap acted on per round (pause and resume)"},
    {"budget", &ThunderReactParams::budget, ParamRange::at_least(0),
     "tokens that KV usage 1.0 stands for (reference: 788976, set for a larger GPU); 0: each "
     "backend's own KV capacity from /metrics"},
    {"output_estimate", &ThunderReactParams::output_estimate, ParamRange::at_least(0),
     "tokens added to a program's context to estimate its size (context + this)"},
    {"waiting_weight", &ThunderReactParams::waiting_weight, ParamRange::at_least(0),
     "new programs go to the backend with the lowest running + waiting_weight x waiting"},
    {"move_to_idle", &ThunderReactParams::move_to_idle, ParamRange::whole_numbers(0, 1),
     "1: with several backends, move small programs to an idle backend before pausing; 0: never"},
};

// Each field's range is in kFields; what remains is a relation between two of them.
Status check(const ThunderReactParams& p) {
  if (p.resume_threshold > p.pause_threshold)
    return make_error(fmt::format(
        "thunderreact parameter 'resume_threshold' = {} is invalid: must be <= pause_threshold "
        "({}), or one usage level would both pause and resume",
        p.resume_threshold, p.pause_threshold));
  return Ok{};
}

}  // namespace

const ParamTable<ThunderReactParams> ThunderReactParams::table = {"thunderreact", kFields, check};

// --- requests and responses ---

void ThunderReactPolicy::on_request(Gateway& gw, ProgramState& program, CallRequest call) {
  prompt_estimate_[program.id] = call.prompt_tokens_estimate;
  if (call.is_last_step) {
    // The program is about to end and free everything it holds: holding its last call would
    // only keep its KV (and its slot in the workload) occupied longer.
    if (program.paused) ++stats_.last_step_passed;
    gw.forward_now(program, std::move(call));
  } else if (program.paused) {
    gw.hold(program, std::move(call));  // no timeout: it waits for resume
  } else {
    gw.forward_now(program, std::move(call));
  }
}

void ThunderReactPolicy::on_response(Gateway& gw, ProgramState& program, const CallResult&) {
  // A program chosen while its call ran could not be stopped mid-call; it stops now, between
  // calls, so its next call waits in the gateway.
  if (!program.pause_requested) return;
  program.pause_requested = false;
  program.paused = true;
  program.paused_since = gw.clock().now();
  ++stats_.paused_on_return;
}

void ThunderReactPolicy::on_release(Gateway&, ProgramState& program) {
  // The gateway drops the program (held calls included) right after this; nothing of its
  // pause state may outlive it, or a later program reusing the job_id would start paused.
  prompt_estimate_.erase(program.id);
}

std::int64_t ThunderReactPolicy::estimated_tokens(const ProgramState& program) const {
  std::int64_t context = program.context_tokens;
  if (context <= 0) {
    const auto it = prompt_estimate_.find(program.id);
    if (it != prompt_estimate_.end()) context = it->second;
  }
  return context + static_cast<std::int64_t>(std::llround(p_.output_estimate));
}

// --- placement ---

bool ThunderReactPolicy::has_paused(const Gateway& gw, BackendIndex backend) const {
  for (const auto& [id, program] : gw.programs())
    if (program.paused && program.backend == backend) return true;
  return false;
}

BackendIndex ThunderReactPolicy::choose_backend(Gateway& gw, const ProgramState&) {
  const auto& backends = gw.backends();
  // Lexicographic: answering /metrics, no paused programs, lowest running + w x waiting;
  // then (not in the reference, which sees only /metrics) fewest programs placed and calls in
  // flight, so that a burst of new programs between two polls does not all land on one engine.
  auto key = [&](BackendIndex b) {
    const BackendView& v = backends[b];
    const double load = static_cast<double>(v.metrics.num_running) +
                        p_.waiting_weight * static_cast<double>(v.metrics.num_waiting);
    return std::tuple{!v.metrics.healthy, has_paused(gw, b), load, v.programs, v.in_flight};
  };
  BackendIndex best = 0;
  for (BackendIndex b = 1; b < backends.size(); ++b)
    if (key(b) < key(best)) best = b;
  return best;
}

// --- the metrics-driven rounds ---

ThunderReactPolicy::BackendState& ThunderReactPolicy::state(const Gateway& gw,
                                                            BackendIndex backend) {
  if (backends_.size() < gw.backends().size()) backends_.resize(gw.backends().size());
  return backends_[backend];
}

double ThunderReactPolicy::budget_of(const Gateway& gw, BackendIndex backend) const {
  if (p_.budget > 0) return p_.budget;
  const auto capacity = gw.backends()[backend].metrics.kv_capacity_tokens();
  // A backend that does not export cache_config_info: fall back to the reference constant.
  return capacity > 0 ? static_cast<double>(capacity) : ThunderReactParams{}.budget;
}

void ThunderReactPolicy::on_metrics(Gateway& gw, BackendIndex backend) {
  const BackendView& view = gw.backends()[backend];
  // A failed poll says nothing about usage; acting on a zero would resume everything.
  if (!view.metrics.healthy) return;
  const double usage = view.metrics.kv_usage;
  const Seconds now = gw.clock().now();
  BackendState& st = state(gw, backend);
  if (usage >= p_.pause_threshold) {
    if (now - st.last_pause + kTimeSlack >= p_.pause_cooldown_s) pause_round(gw, backend, usage);
  } else if (usage < p_.resume_threshold) {
    if (now - st.last_resume + kTimeSlack >= p_.resume_cooldown_s) resume_round(gw, backend, usage);
  }
}

double ThunderReactPolicy::move_to_idle_backends(Gateway& gw, BackendIndex backend, double amount) {
  const auto& backends = gw.backends();
  // Projected usage of each idle backend: what it reported plus what we sent it since.
  std::vector<std::pair<BackendIndex, double>> idle;
  for (BackendIndex b = 0; b < backends.size(); ++b) {
    const BackendView& v = backends[b];
    if (b == backend || v.polled_at < 0 || !v.metrics.healthy) continue;
    if (v.metrics.kv_usage < p_.resume_threshold && !has_paused(gw, b))
      idle.emplace_back(b, v.metrics.kv_usage);
  }
  if (idle.empty()) return 0;

  // Only programs between calls can move (an in-flight call is on this engine already), and
  // small ones first: a moved program re-prefills its whole context on the new engine.
  std::vector<std::pair<std::int64_t, std::string>> movable;
  for (const auto& [id, program] : gw.programs())
    if (program.backend == backend && !program.in_flight && !program.paused &&
        !program.pause_requested && program.held.empty())
      movable.emplace_back(estimated_tokens(program), id);
  std::stable_sort(movable.begin(), movable.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  double moved = 0;
  for (const auto& [tokens, id] : movable) {
    if (moved >= amount) break;
    // The least loaded idle backend that stays idle (below resume_threshold) by projection.
    auto target = idle.end();
    for (auto it = idle.begin(); it != idle.end(); ++it)
      if (it->second < p_.resume_threshold && (target == idle.end() || it->second < target->second))
        target = it;
    if (target == idle.end()) break;
    ProgramState* program = gw.find(id);
    if (!program) continue;
    gw.place(*program, target->first);
    target->second += static_cast<double>(tokens) / budget_of(gw, target->first);
    moved += static_cast<double>(tokens);
    ++stats_.moved;
  }
  return moved;
}

void ThunderReactPolicy::pause_round(Gateway& gw, BackendIndex backend, double usage) {
  const double amount = (usage - p_.pause_target) * budget_of(gw, backend) * p_.fraction;
  if (amount <= 0) return;
  double remaining = amount;
  bool acted = false;
  if (gw.backends().size() > 1 && p_.move_to_idle != 0) {
    const double moved = move_to_idle_backends(gw, backend, remaining);
    remaining -= moved;
    acted = moved > 0;
  }

  // Candidates: every program on this backend that is not paused -- including one already
  // marked whose call has not returned (it is not paused yet, as in the reference); marking it
  // again changes nothing but its tokens count, because its KV is about to be freed anyway.
  struct Candidate {
    std::int64_t steps;
    std::int64_t tokens;
    std::string id;
  };
  std::vector<Candidate> candidates;
  for (const auto& [id, program] : gw.programs())
    if (program.backend == backend && !program.paused)
      candidates.push_back({program.steps, estimated_tokens(program), id});
  // The reference's order: steps descending, then estimated tokens ascending (table order,
  // i.e. program id, on full ties) -- and victims are taken from the END, so the programs
  // with the fewest steps, largest first, pause first.
  std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.steps != b.steps ? a.steps > b.steps : a.tokens < b.tokens;
  });

  const Seconds now = gw.clock().now();
  while (remaining > 0 && !candidates.empty()) {
    const Candidate victim = std::move(candidates.back());
    candidates.pop_back();
    ProgramState* program = gw.find(victim.id);
    if (!program) continue;
    if (program->in_flight) {
      if (!program->pause_requested) ++stats_.pause_marked;
      program->pause_requested = true;
    } else {
      program->pause_requested = false;
      program->paused = true;
      program->paused_since = now;
      ++stats_.paused;
    }
    remaining -= static_cast<double>(victim.tokens);
    acted = true;
  }
  if (acted) {
    state(gw, backend).last_pause = now;
    ++stats_.pause_rounds;
  }
}

void ThunderReactPolicy::resume_round(Gateway& gw, BackendIndex backend, double usage) {
  const double amount = (p_.resume_target - usage) * budget_of(gw, backend) * p_.fraction;
  if (amount <= 0) return;
  std::vector<std::pair<std::int64_t, std::string>> paused;  // (steps, id)
  for (const auto& [id, program] : gw.programs())
    if (program.backend == backend && program.paused) paused.emplace_back(program.steps, id);
  // Most steps first: those are nearest their end, and finishing them frees a workload slot.
  std::stable_sort(paused.begin(), paused.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });

  double remaining = amount;
  bool acted = false;
  for (const auto& [steps, id] : paused) {
    if (remaining <= 0) break;
    // Looked up again: resuming forwards calls, and a driver may end a program meanwhile.
    ProgramState* program = gw.find(id);
    if (!program || !program->paused) continue;
    remaining -= static_cast<double>(estimated_tokens(*program));
    gw.resume(*program);
    ++stats_.resumed;
    acted = true;
  }
  if (acted) {
    state(gw, backend).last_resume = gw.clock().now();
    ++stats_.resume_rounds;
  }
}

}  // namespace agentsched
