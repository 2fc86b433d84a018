#include "engine/plas.h"

#include <cmath>
#include <limits>

namespace agentsched {

namespace {

constexpr ParamField<PlasParams> kFields[] = {
    {"queues", &PlasParams::queues, ParamRange::whole_numbers(1, 32),
     "K: priority queues Q1..QK by program attained service"},
    {"quantum_s", &PlasParams::quantum_s, ParamRange::above(0),
     "Q1's quantum in model seconds; each next queue's is quantum_ratio times larger, and Q_i "
     "holds programs whose attained service lies between the sums of the quanta below and up "
     "to it"},
    {"quantum_ratio", &PlasParams::quantum_ratio, ParamRange::at_least(1),
     "ratio of consecutive queues' quanta"},
    {"beta", &PlasParams::beta, ParamRange::at_least(0),
     "anti-starvation: a call moves to Q1 when (W + its wait) / (S + its model time) >= beta; "
     "0 turns promotion off"},
    {"pass_steps", &PlasParams::pass_steps, ParamRange::whole_numbers(1, 1e6),
     "N: queues are re-evaluated and the batch re-formed by priority every N engine steps"},
};

Seconds model_time(const EngineRequest& r) {
  return r.timeline.prefill_s + r.timeline.decode_s;
}

}  // namespace

const ParamTable<PlasParams> PlasParams::table = {"plas", kFields};

PlasPolicy::PlasPolicy(PlasParams params) : p_(params), queues_(static_cast<int>(params.queues)) {}

Seconds PlasPolicy::quantum(int level) const {
  return p_.quantum_s * std::pow(p_.quantum_ratio, level);
}

int PlasPolicy::level_for_service(Seconds s) const {
  Seconds upper = 0;
  for (int level = 0; level < queues_ - 1; ++level) {
    upper += quantum(level);
    if (s < upper) return level;
  }
  return queues_ - 1;
}

int PlasPolicy::level_of(RequestId id) const {
  auto it = calls_.find(id);
  return it == calls_.end() ? -1 : it->second.level;
}

Seconds PlasPolicy::attained_service(std::uint64_t program_key) const {
  auto it = programs_.find(program_key);
  return it == programs_.end() ? 0.0 : it->second.service;
}

Seconds PlasPolicy::program_wait(std::uint64_t program_key) const {
  auto it = programs_.find(program_key);
  return it == programs_.end() ? 0.0 : it->second.wait;
}

void PlasPolicy::on_arrival(const EngineRequest& r, Seconds) {
  // A request outside any program (key 0) is a program of its own: no service yet.
  const Seconds s = r.spec.program_key == 0 ? 0.0 : attained_service(r.spec.program_key);
  calls_[r.spec.id] = Call{next_seq_++, level_for_service(s), 0.0};
}

void PlasPolicy::enqueue(std::deque<EngineRequest*>& waiting, EngineRequest* r, bool) {
  // pick_next() chooses by (queue, arrival); the deque's order does not matter.
  waiting.push_back(r);
}

std::tuple<int, std::uint64_t> PlasPolicy::key(const EngineRequest& r) const {
  auto it = calls_.find(r.spec.id);
  if (it == calls_.end()) return {queues_, std::numeric_limits<std::uint64_t>::max()};
  return {it->second.level, it->second.seq};
}

std::size_t PlasPolicy::pick_next(const std::deque<EngineRequest*>& waiting) const {
  std::size_t best = 0;
  for (std::size_t i = 1; i < waiting.size(); ++i)
    if (key(*waiting[i]) < key(*waiting[best])) best = i;
  return best;
}

std::size_t PlasPolicy::pick_victim(const std::vector<EngineRequest*>& running) const {
  // The lowest-priority running call: the highest queue, latest arrival within it.
  std::size_t worst = running.size() - 1;
  for (std::size_t i = 0; i < running.size(); ++i)
    if (key(*running[i]) > key(*running[worst])) worst = i;
  return worst;
}

bool PlasPolicy::outranks(const EngineRequest& a, const EngineRequest& b) const {
  return key(a) < key(b);
}

void PlasPolicy::reevaluate(const EngineRequest& r, Seconds now) {
  auto it = calls_.find(r.spec.id);
  if (it == calls_.end()) return;
  Call& c = it->second;
  const Seconds served = model_time(r);
  // A call that used up its queue's quantum drops one queue (one per pass).
  if (c.level < queues_ - 1 && served - c.level_start >= quantum(c.level)) {
    ++c.level;
    c.level_start = served;
    ++stats_.demotions;
  }
  // Anti-starvation: the program's waiting against its service, this call included.
  if (p_.beta > 0 && c.level > 0) {
    const bool own = r.spec.program_key == 0;
    const Seconds s = own ? 0.0 : attained_service(r.spec.program_key) + served;
    const Seconds wait_now = r.running ? 0.0 : now - r.waiting_since;
    const Seconds w =
        (own ? 0.0 : program_wait(r.spec.program_key)) + r.timeline.waiting_s + wait_now;
    const bool starving = s > 0 ? w / s >= p_.beta : w > 0;
    if (starving) {
      c.level = 0;
      c.level_start = served;
      ++stats_.promotions;
    }
  }
}

bool PlasPolicy::on_step_begin(const std::vector<EngineRequest*>& running,
                               const std::deque<EngineRequest*>& waiting, Seconds now) {
  const bool pass = steps_ % static_cast<std::int64_t>(p_.pass_steps) == 0;
  ++steps_;
  if (!pass) return false;
  ++stats_.passes;
  for (const EngineRequest* r : running) reevaluate(*r, now);
  for (const EngineRequest* r : waiting) reevaluate(*r, now);
  return true;
}

void PlasPolicy::on_finished(const EngineRequest& r, Seconds) {
  calls_.erase(r.spec.id);
  if (r.spec.program_key == 0) return;
  Program& p = programs_[r.spec.program_key];
  p.service += model_time(r);
  p.wait += r.timeline.waiting_s;
}

void PlasPolicy::on_aborted(const EngineRequest& r) {
  calls_.erase(r.spec.id);
}

std::vector<std::pair<std::string, double>> PlasPolicy::counters() const {
  return {{"passes", static_cast<double>(stats_.passes)},
          {"demotions", static_cast<double>(stats_.demotions)},
          {"promotions", static_cast<double>(stats_.promotions)}};
}

}  // namespace agentsched
