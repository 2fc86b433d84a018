#include "gateway/health_aware.h"

#include <string>
#include <utility>
#include <vector>

namespace agentsched {

HealthAwarePlacement::HealthAwarePlacement(std::unique_ptr<GatewayPolicy> inner, IsUp is_up)
    : inner_(std::move(inner)), is_up_(std::move(is_up)) {}

void HealthAwarePlacement::on_request(Gateway& gw, ProgramState& p, CallRequest call) {
  inner_->on_request(gw, p, std::move(call));
}

void HealthAwarePlacement::on_response(Gateway& gw, ProgramState& p, const CallResult& r) {
  inner_->on_response(gw, p, r);
}

void HealthAwarePlacement::on_metrics(Gateway& gw, BackendIndex b) {
  inner_->on_metrics(gw, b);
  if (!is_up_(b)) move_held_programs(gw, b);
}

void HealthAwarePlacement::on_release(Gateway& gw, ProgramState& p) {
  inner_->on_release(gw, p);
}

std::optional<Seconds> HealthAwarePlacement::next_timer(const Gateway& gw) const {
  return inner_->next_timer(gw);
}

void HealthAwarePlacement::on_timer(Gateway& gw) {
  inner_->on_timer(gw);
}

BackendIndex HealthAwarePlacement::choose_backend(Gateway& gw, const ProgramState& p) {
  const BackendIndex chosen = inner_->choose_backend(gw, p);
  if (is_up_(chosen)) return chosen;
  return healthy_fallback(gw, std::nullopt).value_or(chosen);
}

std::optional<BackendIndex> HealthAwarePlacement::healthy_fallback(
    const Gateway& gw, std::optional<BackendIndex> excluded) const {
  std::optional<BackendIndex> best;
  const auto& views = gw.backends();
  for (BackendIndex b = 0; b < views.size(); ++b) {
    if (!is_up_(b) || b == excluded) continue;
    if (!best || views[b].programs < views[*best].programs ||
        (views[b].programs == views[*best].programs && views[b].in_flight < views[*best].in_flight))
      best = b;
  }
  return best;
}

bool HealthAwarePlacement::move_before_call(Gateway& gw, ProgramState& program) const {
  if (!program.backend || is_up_(*program.backend) || program.in_flight) return false;
  const auto to = healthy_fallback(gw, std::nullopt);
  if (!to) return false;
  gw.place(program, *to);
  return true;
}

// Programs with calls held on a backend that went down wait for that backend's policy rounds
// (a resume), which never come while its polls fail: they move to up backends, whose rounds
// decide for them from then on (as a program moves before its next call).
void HealthAwarePlacement::move_held_programs(Gateway& gw, BackendIndex down) {
  std::vector<std::string> held;
  for (const auto& [id, p] : gw.programs())
    if (p.backend == down && !p.held.empty() && !p.in_flight) held.push_back(id);
  for (const auto& id : held) {
    const auto to = healthy_fallback(gw, down);
    if (!to) return;
    if (ProgramState* p = gw.find(id)) gw.place(*p, *to);
  }
}

}  // namespace agentsched
