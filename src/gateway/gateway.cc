#include "gateway/gateway.h"

#include <fmt/format.h>

#include <stdexcept>

namespace agentsched {

BackendIndex GatewayPolicy::choose_backend(Gateway& gw, const ProgramState&) {
  // Least loaded by programs placed, then by calls in flight; lowest index on ties.
  const auto& backends = gw.backends();
  BackendIndex best = 0;
  for (BackendIndex b = 1; b < backends.size(); ++b) {
    const auto& x = backends[b];
    const auto& y = backends[best];
    if (x.programs < y.programs || (x.programs == y.programs && x.in_flight < y.in_flight))
      best = b;
  }
  return best;
}

Gateway::Gateway(std::unique_ptr<GatewayPolicy> policy, const Clock& clock, GatewayDriver& driver,
                 std::size_t num_backends)
    : policy_(std::move(policy)), clock_(clock), driver_(driver), backends_(num_backends) {
  if (!policy_) throw std::invalid_argument("gateway needs a policy");
  if (num_backends == 0) throw std::invalid_argument("gateway needs at least one backend");
}

ProgramState* Gateway::find(std::string_view program_id) {
  auto it = programs_.find(program_id);
  return it == programs_.end() ? nullptr : &it->second;
}

void Gateway::submit(CallRequest call) {
  const Seconds now = clock_.now();
  if (call.program_id.empty()) {
    // A call without identity is a single-call program of its own.
    call.program_id = fmt::format("anonymous:{}", anonymous_++);
    call.is_last_step = true;
  }
  auto [it, inserted] = programs_.try_emplace(call.program_id);
  ProgramState& program = it->second;
  if (inserted) {
    program.id = call.program_id;
    program.first_seen = now;
  }
  program.last_activity = now;
  ++program.calls;
  if (!program.backend) place(program, policy_->choose_backend(*this, program));
  policy_->on_request(*this, program, std::move(call));
}

void Gateway::forward_now(ProgramState& program, CallRequest call) {
  if (!program.backend) place(program, policy_->choose_backend(*this, program));
  program.in_flight = true;
  ++backends_[*program.backend].in_flight;
  in_flight_[call.id] = program.id;
  driver_.forward(call, *program.backend);
}

void Gateway::hold(ProgramState& program, CallRequest call) {
  if (program.held.empty()) program.held_since = clock_.now();
  program.held.push_back(std::move(call));
  ++held_calls_;
}

void Gateway::resume(ProgramState& program) {
  program.paused = false;
  program.pause_requested = false;
  if (!program.held.empty()) program.total_held_s += clock_.now() - program.held_since;
  while (!program.held.empty()) {
    CallRequest call = std::move(program.held.front());
    program.held.pop_front();
    --held_calls_;
    forward_now(program, std::move(call));
  }
}

void Gateway::place(ProgramState& program, BackendIndex backend) {
  if (backend >= backends_.size()) throw std::out_of_range("backend index");
  if (program.backend) --backends_[*program.backend].programs;
  program.backend = backend;
  ++backends_[backend].programs;
}

void Gateway::complete(const CallResult& result) {
  auto it = in_flight_.find(result.id);
  if (it == in_flight_.end()) return;  // unknown or already released
  ProgramState* program = find(it->second);
  in_flight_.erase(it);
  if (!program) return;
  if (program->backend && backends_[*program->backend].in_flight > 0)
    --backends_[*program->backend].in_flight;
  program->in_flight = false;
  program->last_activity = clock_.now();
  if (result.ok) {
    ++program->steps;
    program->context_tokens = result.total_tokens();
  }
  policy_->on_response(*this, *program, result);
}

void Gateway::update_metrics(BackendIndex backend, const BackendMetrics& metrics) {
  if (backend >= backends_.size()) return;
  backends_[backend].metrics = metrics;
  backends_[backend].polled_at = clock_.now();
  policy_->on_metrics(*this, backend);
}

void Gateway::release(std::string_view program_id) {
  auto it = programs_.find(program_id);
  if (it == programs_.end()) return;
  ProgramState& program = it->second;
  policy_->on_release(*this, program);
  held_calls_ -= static_cast<std::int64_t>(program.held.size());
  if (program.backend) --backends_[*program.backend].programs;
  // Calls still in flight are forgotten: their outcome no longer concerns the gateway, and
  // the backend's count must not wait for them.
  for (auto f = in_flight_.begin(); f != in_flight_.end();) {
    if (f->second != program.id) {
      ++f;
      continue;
    }
    if (program.backend && backends_[*program.backend].in_flight > 0)
      --backends_[*program.backend].in_flight;
    f = in_flight_.erase(f);
  }
  programs_.erase(it);
}

}  // namespace agentsched
