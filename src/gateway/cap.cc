#include "gateway/cap.h"

#include <algorithm>

#include "gateway/policy_params.h"

namespace agentsched {

namespace {

// Far more programs than any run has in flight; keeps the integer conversion exact.
constexpr double kLargestCap = 1e6;

constexpr ParamField<CapParams> kFields[] = {
    {"cap", &CapParams::cap, ParamRange::whole_numbers(1, kLargestCap),
     "programs active at once per backend (integer >= 1); a new program waits, first come "
     "first served, while its backend has this many"},
};

}  // namespace

const ParamTable<CapParams> CapParams::table = {"cap", kFields};

void CapPolicy::count_backends(const Gateway& gw) {
  if (active_per_backend_.size() < gw.backends().size())
    active_per_backend_.resize(gw.backends().size(), 0);
}

std::int64_t CapPolicy::active_on(BackendIndex backend) const {
  return backend < active_per_backend_.size() ? active_per_backend_[backend] : 0;
}

std::optional<BackendIndex> CapPolicy::backend_with_room(const Gateway& gw) const {
  BackendIndex best = 0;
  for (BackendIndex b = 1; b < gw.backends().size(); ++b)
    if (active_on(b) < active_on(best)) best = b;
  if (active_on(best) >= limit()) return std::nullopt;
  return best;
}

BackendIndex CapPolicy::choose_backend(Gateway& gw, const ProgramState&) {
  // Fewest active programs; when every backend is at the bound the program is held and placed
  // again on admission, so this first placement only matters for an immediate admission.
  count_backends(gw);
  BackendIndex best = 0;
  for (BackendIndex b = 1; b < gw.backends().size(); ++b)
    if (active_on(b) < active_on(best)) best = b;
  return best;
}

void CapPolicy::on_request(Gateway& gw, ProgramState& program, CallRequest call) {
  count_backends(gw);
  if (active_.count(program.id)) {  // an active program's calls always pass
    gw.forward_now(program, std::move(call));
    return;
  }
  if (!program.held.empty()) {  // already waiting for admission (a second call while held)
    gw.hold(program, std::move(call));
    return;
  }
  // Strict arrival order: nobody overtakes a program that is already waiting.
  if (queue_.empty()) {
    if (auto b = backend_with_room(gw)) {
      if (*program.backend != *b) gw.place(program, *b);
      active_[program.id] = *b;
      ++active_per_backend_[*b];
      ++stats_.admitted_at_once;
      gw.forward_now(program, std::move(call));
      return;
    }
  }
  queue_.push_back(program.id);
  stats_.most_waiting = std::max(stats_.most_waiting, static_cast<std::int64_t>(queue_.size()));
  gw.hold(program, std::move(call));
}

void CapPolicy::admit_from_queue(Gateway& gw) {
  while (!queue_.empty()) {
    ProgramState* program = gw.find(queue_.front());
    if (!program) {  // released while waiting
      queue_.pop_front();
      continue;
    }
    const auto b = backend_with_room(gw);
    if (!b) return;
    queue_.pop_front();
    gw.place(*program, *b);
    active_[program->id] = *b;
    ++active_per_backend_[*b];
    ++stats_.admitted_later;
    gw.resume(*program);
  }
}

void CapPolicy::on_release(Gateway& gw, ProgramState& program) {
  count_backends(gw);
  queue_.erase(std::remove(queue_.begin(), queue_.end(), program.id), queue_.end());
  auto it = active_.find(program.id);
  if (it == active_.end()) return;
  --active_per_backend_[it->second];
  active_.erase(it);
  // The program is still in the table while on_release runs; it is no longer active, and the
  // next in line takes its place.
  admit_from_queue(gw);
}

}  // namespace agentsched
