#pragma once
// cap: the admission bound. At most `cap` programs active per backend; a new program's first
// call waits in the gateway while its backend (every backend) is at the bound, and held
// programs are admitted strictly first come, first served as active ones end. Nothing else:
// no metrics, no size estimates, no aging. With the best `cap` found in hindsight for a given
// concurrency and workload, it is the best an admission-only policy can do in front of stock
// vLLM (`sim limit`, docs/sim.md). docs/gateway.md describes it.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/result.h"
#include "gateway/gateway.h"
#include "gateway/policy_params.h"

namespace agentsched {

struct CapParams {
  // Programs active at once on one backend (an integer >= 1).
  double cap = 16;

  // Its parameter table (cap.cc), for apply_params and describe_params.
  static const ParamTable<CapParams> table;
};

struct CapStats {
  std::int64_t admitted_at_once = 0;  // first call forwarded on arrival
  std::int64_t admitted_later = 0;    // held, then admitted when an active program ended
  std::int64_t most_waiting = 0;      // longest the queue of held programs has been
};

class CapPolicy final : public PolicyWithParams<CapParams> {
 public:
  using PolicyWithParams::PolicyWithParams;

  void on_request(Gateway& gw, ProgramState& program, CallRequest call) override;
  void on_release(Gateway& gw, ProgramState& program) override;
  BackendIndex choose_backend(Gateway& gw, const ProgramState& program) override;

  const CapStats& stats() const { return stats_; }
  std::size_t waiting_programs() const { return queue_.size(); }
  // Programs active (admitted and not yet released) on `backend`.
  std::int64_t active_on(BackendIndex backend) const;
  bool is_active(const std::string& program_id) const { return active_.count(program_id) != 0; }

 private:
  std::int64_t limit() const { return static_cast<std::int64_t>(p_.cap); }
  void count_backends(const Gateway& gw);
  // The backend with the fewest active programs (lowest index on ties), if it is below cap.
  std::optional<BackendIndex> backend_with_room(const Gateway& gw) const;
  void admit_from_queue(Gateway& gw);

  CapStats stats_;
  std::vector<std::int64_t> active_per_backend_;
  std::map<std::string, BackendIndex, std::less<>> active_;  // program -> its backend
  std::deque<std::string> queue_;                            // held programs, by arrival
};

}  // namespace agentsched
