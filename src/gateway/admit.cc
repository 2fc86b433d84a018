#include "gateway/admit.h"

#include <algorithm>

#include "gateway/policy_params.h"

namespace agentsched {

namespace {

constexpr ParamField<AdmitParams> kFields[] = {
    {"high_water", &AdmitParams::high_water, ParamRange::above(0).at_most(1),
     "a backend has room for a new program while its KV usage stays below this fraction"},
    {"max_engine_waiting", &AdmitParams::max_engine_waiting, ParamRange::at_least(0),
     "and while at most this many requests wait in the engine's queue"},
    {"max_wait_s", &AdmitParams::max_wait_s, ParamRange::at_least(0),
     "if > 0, a program held this many seconds is admitted whatever the load (0: no bound)"},
    {"initial_output_estimate", &AdmitParams::initial_output_estimate, ParamRange::at_least(0),
     "output tokens expected of a call until completions have been observed"},
    {"hold_admitted", &AdmitParams::hold_admitted, ParamRange::whole_numbers(0, 2),
     "0: admitted programs are never held; 1: a later call waits while the engine queues, "
     "2: or while KV below high_water cannot hold its context; oldest admitted resumed first"},
    {"tier_high_water", &AdmitParams::tier_high_water, ParamRange::above(0).at_most(1),
     "on a backend with a host KV tier: share of GPU + host KV the admitted programs' own "
     "(unshared) context may fill; replaces the rules above there"},
};

// Program life observed before the duty cycle is trusted.
constexpr double kMinObservedLifeS = 60;

}  // namespace

const ParamTable<AdmitParams> AdmitParams::table = {"admit", kFields};

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

double AdmitPolicy::duty_cycle(Seconds now) const {
  double in_call = finished_in_call_s_, life = finished_life_s_;
  for (const auto& [id, a] : admitted_) {
    in_call += a.in_call_s + (a.call_started >= 0 ? now - a.call_started : 0.0);
    life += now - a.admitted_at;
  }
  if (life < kMinObservedLifeS) return 1.0;
  return std::clamp(in_call / life, 0.0, 1.0);
}

double AdmitPolicy::admitted_demand(BackendIndex backend, Seconds now) const {
  double footprints = 0;
  for (const auto& [id, a] : admitted_)
    if (a.backend == backend) footprints += a.footprint;
  return footprints * duty_cycle(now);
}

bool AdmitPolicy::tiered(const Gateway& gw, BackendIndex backend) {
  const BackendView& view = gw.backends()[backend];
  return view.polled_at >= 0 && view.metrics.healthy && view.metrics.host_capacity_tokens() > 0;
}

double AdmitPolicy::tier_budget(const Gateway& gw, BackendIndex backend) const {
  const BackendMetrics& m = gw.backends()[backend].metrics;
  return p_.tier_high_water *
         static_cast<double>(m.kv_capacity_tokens() + m.host_capacity_tokens());
}

double AdmitPolicy::mean_shared() const {
  return warm_shared_n_ ? warm_shared_sum_ / static_cast<double>(warm_shared_n_) : 0.0;
}

double AdmitPolicy::own_tokens(const Active& a) const {
  return std::max(0.0, a.footprint - (a.shared > 0 ? a.shared : mean_shared()));
}

double AdmitPolicy::tier_room(const Gateway& gw, BackendIndex backend) const {
  double own = 0;
  for (const auto& [id, a] : admitted_)
    if (a.backend == backend) own += own_tokens(a);
  return tier_budget(gw, backend) - own;
}

bool AdmitPolicy::fits_in_admission_order(const Gateway& gw, const Active& program) const {
  double older = 0;
  bool oldest = true;
  for (const auto& [id, a] : admitted_) {
    if (a.backend != program.backend || a.seq > program.seq) continue;
    older += own_tokens(a);
    oldest = oldest && a.seq == program.seq;
  }
  return oldest || older <= tier_budget(gw, program.backend);
}

bool AdmitPolicy::has_room(const Gateway& gw, BackendIndex backend, double tokens) {
  const BackendView& view = gw.backends()[backend];
  if (view.polled_at < 0 || !view.metrics.healthy) return true;  // nothing known to be full
  // Admitted programs are older than every new one: none starts while one waits here.
  if (holds_admitted(backend)) return false;
  if (tiered(gw, backend)) {
    // A program between calls waits on the host and comes back in milliseconds: what must
    // fit is every admitted program's own context in GPU + host, not the GPU's headroom or
    // queue (a queued request costs a wait, not a recompute).
    return std::max(0.0, tokens - mean_shared()) <= tier_room(gw, backend);
  }
  if (static_cast<double>(view.metrics.num_waiting) > p_.max_engine_waiting) return false;
  if (headroom_tokens(gw, backend) < tokens) return false;
  // The poll shows the programs in calls now; those between calls come back. Expected
  // resident KV of everything admitted, plus the newcomer, must fit under high_water too.
  const double capacity = static_cast<double>(view.metrics.kv_capacity_tokens());
  if (capacity <= 0) return true;
  const Seconds now = gw.clock().now();
  return admitted_demand(backend, now) + tokens * duty_cycle(now) <= p_.high_water * capacity;
}

BackendIndex AdmitPolicy::choose_backend(Gateway& gw, const ProgramState&) {
  return *most_headroom(gw, -1);
}

std::optional<BackendIndex> AdmitPolicy::most_headroom(const Gateway& gw, double tokens) {
  // Most headroom; ties to the fewest programs placed, then the lowest index.
  std::optional<BackendIndex> best;
  double best_room = -std::numeric_limits<double>::infinity();
  for (BackendIndex b = 0; b < gw.backends().size(); ++b) {
    if (tokens >= 0 && !has_room(gw, b, tokens)) continue;
    const double room = headroom_tokens(gw, b);
    if (!best || room > best_room ||
        (room == best_room && gw.backends()[b].programs < gw.backends()[*best].programs)) {
      best = b;
      best_room = room;
    }
  }
  return best;
}

void AdmitPolicy::on_request(Gateway& gw, ProgramState& program, CallRequest call) {
  if (auto it = admitted_.find(program.id); it != admitted_.end()) {
    // A later call goes through at once unless its backend has no room for it or an older
    // admitted program is already waiting (then it waits behind it). A call its client marks
    // as final always goes through.
    Active& a = it->second;
    const bool hold_mode = p_.hold_admitted != 0 || tiered(gw, a.backend);
    if (hold_mode && !call.is_last_step &&
        (holds_admitted(a.backend) || !call_has_room(gw, a, a.footprint))) {
      ++stats_.calls_held;
      a.held = true;
      held_admitted_[a.seq] = program.id;
      gw.hold(program, std::move(call));
      return;
    }
    a.call_started = gw.clock().now();
    // Held calls are judged against the headroom less what was sent since the poll.
    if (p_.hold_admitted != 0) state(gw, a.backend).admitted_since_poll += a.footprint;
    gw.forward_now(program, std::move(call));
    return;
  }
  if (call.is_last_step) {  // nor a call its client marks as final
    gw.forward_now(program, std::move(call));
    return;
  }
  const std::int64_t tokens =
      call.prompt_tokens_estimate + static_cast<std::int64_t>(output_estimate());
  const bool first_in_line = queue_.empty();
  if (first_in_line && has_room(gw, *program.backend, static_cast<double>(tokens))) {
    ++stats_.admitted_at_once;
    admitted_[program.id] =
        Active{*program.backend, static_cast<double>(tokens), gw.clock().now(), gw.clock().now(), 0,
               next_seq_++};
    state(gw, *program.backend).admitted_since_poll += static_cast<double>(tokens);
    gw.forward_now(program, std::move(call));
    return;
  }
  queue_.push_back({program.id, gw.clock().now(), tokens});
  gw.hold(program, std::move(call));
}

void AdmitPolicy::admit(Gateway& gw, const std::string& program_id, BackendIndex backend) {
  ProgramState* program = gw.find(program_id);
  if (!program) return;
  const Waiting& w = queue_.front();
  stats_.longest_wait_s = std::max(stats_.longest_wait_s, gw.clock().now() - w.since);
  // Where the room is now, not where it was parked on arrival.
  gw.place(*program, backend);
  state(gw, *program->backend).admitted_since_poll += static_cast<double>(w.tokens);
  admitted_[program_id] = Active{
      *program->backend, static_cast<double>(w.tokens), gw.clock().now(), gw.clock().now(), 0,
      next_seq_++};
  queue_.pop_front();
  gw.resume(*program);
}

bool AdmitPolicy::call_has_room(const Gateway& gw, const Active& program, double tokens) {
  const BackendIndex backend = program.backend;
  const BackendView& view = gw.backends()[backend];
  if (view.polled_at < 0 || !view.metrics.healthy) return true;
  // Work-conserving: a backend with no call of ours in flight runs the call whatever it shows.
  bool busy = false;
  for (const auto& [id, a] : admitted_)
    busy = busy || (a.backend == backend && a.call_started >= 0);
  if (!busy) return true;
  // Programs grow after admission; with a tier the youngest wait when the set outgrows it.
  if (tiered(gw, backend)) return fits_in_admission_order(gw, program);
  if (static_cast<double>(view.metrics.num_waiting) > p_.max_engine_waiting) return false;
  if (p_.hold_admitted < 2) return true;
  return headroom_tokens(gw, backend) >= tokens;
}

bool AdmitPolicy::holds_admitted(BackendIndex backend) const {
  for (const auto& [seq, id] : held_admitted_)
    if (auto it = admitted_.find(id); it != admitted_.end() && it->second.backend == backend)
      return true;
  return false;
}

void AdmitPolicy::resume_admitted(Gateway& gw) {
  std::vector<bool> blocked(gw.backends().size(), false);
  for (auto h = held_admitted_.begin(); h != held_admitted_.end();) {
    auto it = admitted_.find(h->second);
    ProgramState* program = gw.find(h->second);
    if (it == admitted_.end() || !program) {
      h = held_admitted_.erase(h);
      continue;
    }
    Active& a = it->second;
    // Oldest first on each backend: nobody overtakes an older program held for lack of room.
    if (blocked[a.backend] || !call_has_room(gw, a, a.footprint)) {
      blocked[a.backend] = true;
      ++h;
      continue;
    }
    h = held_admitted_.erase(h);
    a.held = false;
    a.call_started = gw.clock().now();
    state(gw, a.backend).admitted_since_poll += a.footprint;
    gw.resume(*program);
  }
}

void AdmitPolicy::admit_from_queue(Gateway& gw) {
  resume_admitted(gw);
  const Seconds now = gw.clock().now();
  while (!queue_.empty()) {
    const Waiting& head = queue_.front();
    if (!gw.find(head.program_id)) {  // released while waiting
      queue_.pop_front();
      continue;
    }
    // The backend with the most headroom among those with room for it (a GPU's headroom
    // alone can point to one whose other tests, or tier budget, say no).
    const auto room = most_headroom(gw, static_cast<double>(head.tokens));
    if (p_.max_wait_s > 0 && now - head.since + kTimeSlack >= p_.max_wait_s) {
      ++stats_.admitted_on_bound;
      admit(gw, head.program_id, room ? *room : *most_headroom(gw, -1));
      continue;
    }
    if (!room) break;  // strictly in arrival order
    ++stats_.admitted_on_room;
    admit(gw, head.program_id, *room);
  }
}

void AdmitPolicy::on_response(Gateway& gw, ProgramState& program, const CallResult& result) {
  if (auto it = admitted_.find(program.id); it != admitted_.end()) {
    Active& a = it->second;
    if (a.call_started >= 0) a.in_call_s += gw.clock().now() - a.call_started;
    a.call_started = -1;
    if (result.ok) a.footprint = static_cast<double>(result.total_tokens()) + output_estimate();
    if (result.ok && a.shared < 0) {
      a.shared = static_cast<double>(result.cached_tokens);
      if (a.shared > 0) {
        warm_shared_sum_ += a.shared;
        ++warm_shared_n_;
      }
    }
  }
  if (!result.ok) return;
  observed_output_sum_ += static_cast<double>(result.completion_tokens);
  ++observed_outputs_;
}

void AdmitPolicy::on_metrics(Gateway& gw, BackendIndex backend) {
  state(gw, backend).admitted_since_poll = 0;
  admit_from_queue(gw);
}

void AdmitPolicy::on_release(Gateway& gw, ProgramState& program) {
  if (auto it = admitted_.find(program.id); it != admitted_.end()) {
    const Seconds now = gw.clock().now();
    const Active& a = it->second;
    finished_in_call_s_ += a.in_call_s + (a.call_started >= 0 ? now - a.call_started : 0.0);
    finished_life_s_ += now - a.admitted_at;
    if (it->second.held) held_admitted_.erase(it->second.seq);
    admitted_.erase(it);
  }
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const Waiting& w) { return w.program_id == program.id; }),
               queue_.end());
}

std::optional<Seconds> AdmitPolicy::next_timer(const Gateway&) const {
  if (queue_.empty() || p_.max_wait_s <= 0) return std::nullopt;
  return queue_.front().since + p_.max_wait_s;
}

void AdmitPolicy::on_timer(Gateway& gw) {
  admit_from_queue(gw);
}

}  // namespace agentsched
