#include "gateway/admit.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "gateway/policy_params.h"

namespace agentsched {

namespace {

constexpr std::array<ParamField<AdmitParams>, 4> kFields = {{
    {"high_water", &AdmitParams::high_water,
     "a backend has room for a new program while its KV usage stays below this fraction"},
    {"max_engine_waiting", &AdmitParams::max_engine_waiting,
     "and while at most this many requests wait in the engine's queue"},
    {"max_wait_s", &AdmitParams::max_wait_s,
     "no program waits in the gateway longer than this many seconds, whatever the load"},
    {"initial_output_estimate", &AdmitParams::initial_output_estimate,
     "output tokens expected of a call until completions have been observed"},
}};

// Times compared against the bound come from sums of binary fractions.
constexpr double kTimeSlack = 1e-9;

}  // namespace

Result<AdmitParams> AdmitParams::from(const PolicyParams& params) {
  auto p = apply_params("admit", kFields, params);
  if (!p) return p;
  if (!(p->high_water > 0 && p->high_water <= 1))
    return make_error(
        fmt::format("admit parameter 'high_water' = {} must be in (0, 1]", p->high_water));
  if (p->max_engine_waiting < 0)
    return make_error("admit parameter 'max_engine_waiting' must be >= 0");
  if (p->max_wait_s < 0) return make_error("admit parameter 'max_wait_s' must be >= 0");
  if (p->initial_output_estimate < 0)
    return make_error("admit parameter 'initial_output_estimate' must be >= 0");
  return p;
}

std::vector<std::tuple<std::string, double, std::string>> AdmitParams::describe() {
  return describe_params(kFields);
}

AdmitPolicy::BackendState& AdmitPolicy::state(const Gateway& gw, BackendIndex backend) {
  if (backends_.size() < gw.backends().size()) backends_.resize(gw.backends().size());
  return backends_[backend];
}

double AdmitPolicy::output_estimate() const {
  return observed_outputs_ ? observed_output_sum_ / static_cast<double>(observed_outputs_)
                           : p_.initial_output_estimate;
}

double AdmitPolicy::headroom_tokens(const Gateway& gw, BackendIndex backend) {
  const BackendView& view = gw.backends()[backend];
  if (view.polled_at < 0 || !view.metrics.healthy) return std::numeric_limits<double>::infinity();
  const double capacity = static_cast<double>(view.metrics.kv_capacity_tokens());
  if (capacity <= 0) return std::numeric_limits<double>::infinity();
  return capacity * (p_.high_water - view.metrics.kv_usage) -
         state(gw, backend).admitted_since_poll;
}

bool AdmitPolicy::has_room(const Gateway& gw, BackendIndex backend, double tokens) {
  const BackendView& view = gw.backends()[backend];
  if (view.polled_at >= 0 && view.metrics.healthy &&
      static_cast<double>(view.metrics.num_waiting) > p_.max_engine_waiting)
    return false;
  return headroom_tokens(gw, backend) >= tokens;
}

BackendIndex AdmitPolicy::choose_backend(Gateway& gw, const ProgramState&) {
  // Most headroom; ties to the fewest programs placed, then the lowest index.
  BackendIndex best = 0;
  double best_room = -std::numeric_limits<double>::infinity();
  for (BackendIndex b = 0; b < gw.backends().size(); ++b) {
    const double room = headroom_tokens(gw, b);
    if (room > best_room ||
        (room == best_room && gw.backends()[b].programs < gw.backends()[best].programs)) {
      best = b;
      best_room = room;
    }
  }
  return best;
}

void AdmitPolicy::on_request(Gateway& gw, ProgramState& program, CallRequest call) {
  if (admitted_.count(program.id) || call.is_last_step) {
    // Never hold a program that is already running (nor a call its client marks as final).
    gw.forward_now(program, std::move(call));
    return;
  }
  const std::int64_t tokens =
      call.prompt_tokens_estimate + static_cast<std::int64_t>(output_estimate());
  const bool first_in_line = queue_.empty();
  if (first_in_line && has_room(gw, *program.backend, static_cast<double>(tokens))) {
    ++stats_.admitted_at_once;
    admitted_.insert(program.id);
    state(gw, *program.backend).admitted_since_poll += static_cast<double>(tokens);
    gw.forward_now(program, std::move(call));
    return;
  }
  queue_.push_back({program.id, gw.clock().now(), tokens});
  gw.hold(program, std::move(call));
}

void AdmitPolicy::admit(Gateway& gw, const std::string& program_id) {
  ProgramState* program = gw.find(program_id);
  if (!program) return;
  const Waiting& w = queue_.front();
  stats_.longest_wait_s = std::max(stats_.longest_wait_s, gw.clock().now() - w.since);
  // Place it where the room is now, not where it was parked on arrival.
  gw.place(*program, choose_backend(gw, *program));
  state(gw, *program->backend).admitted_since_poll += static_cast<double>(w.tokens);
  admitted_.insert(program_id);
  queue_.pop_front();
  gw.resume(*program);
}

void AdmitPolicy::admit_from_queue(Gateway& gw) {
  const Seconds now = gw.clock().now();
  while (!queue_.empty()) {
    const Waiting& head = queue_.front();
    if (!gw.find(head.program_id)) {  // released while waiting
      queue_.pop_front();
      continue;
    }
    if (now - head.since + kTimeSlack >= p_.max_wait_s) {
      ++stats_.admitted_on_bound;
      admit(gw, head.program_id);
      continue;
    }
    bool room = false;
    for (BackendIndex b = 0; b < gw.backends().size() && !room; ++b)
      room = has_room(gw, b, static_cast<double>(head.tokens));
    if (!room) break;  // strictly in arrival order
    ++stats_.admitted_on_room;
    admit(gw, head.program_id);
  }
}

void AdmitPolicy::on_response(Gateway&, ProgramState&, const CallResult& result) {
  if (!result.ok) return;
  observed_output_sum_ += static_cast<double>(result.completion_tokens);
  ++observed_outputs_;
}

void AdmitPolicy::on_metrics(Gateway& gw, BackendIndex backend) {
  state(gw, backend).admitted_since_poll = 0;
  admit_from_queue(gw);
}

void AdmitPolicy::on_release(Gateway&, ProgramState& program) {
  admitted_.erase(program.id);
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const Waiting& w) { return w.program_id == program.id; }),
               queue_.end());
}

std::optional<Seconds> AdmitPolicy::next_timer(const Gateway&) const {
  if (queue_.empty()) return std::nullopt;
  return queue_.front().since + p_.max_wait_s;
}

void AdmitPolicy::on_timer(Gateway& gw) {
  admit_from_queue(gw);
}

}  // namespace agentsched
