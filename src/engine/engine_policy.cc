#include "engine/engine_policy.h"

#include <fmt/format.h>

#include <unordered_map>

#include "engine/engine_model.h"
#include "engine/plas.h"

namespace agentsched {

namespace {

// vLLM V1: FCFS by request arrival; a preempted request goes back to the front (the default
// enqueue); the victim is the most recently admitted running request.
class FcfsPolicy final : public EnginePolicy {
 public:
  std::string_view name() const override { return "fcfs"; }
  std::size_t pick_victim(const std::vector<EngineRequest*>& running) const override {
    return running.size() - 1;
  }
};

// Continuum: program-level FCFS plus TTL pins after calls that lead into short tools.
class ContinuumPolicy final : public EnginePolicy {
 public:
  explicit ContinuumPolicy(ContinuumParams params) : params_(params) {}
  std::string_view name() const override { return "continuum"; }

  void on_arrival(const EngineRequest& r, Seconds now) override {
    const std::uint64_t key = r.spec.program_key;
    if (key == 0) return;
    program_order_.emplace(key, next_program_order_++);
    // The gap since the program's last call finished is the run time of the tool it called.
    if (auto it = last_finish_.find(key); it != last_finish_.end()) {
      if (!it->second.tool.empty()) {
        ToolStats& stats = tool_stats_[it->second.tool];
        stats.total_s += now - it->second.at;
        ++stats.count;
      }
      last_finish_.erase(it);
    }
  }

  // The queue keeps vLLM's order (the default enqueue); pick_next chooses by program, as the
  // fork's scheduler selects at every admission rather than keeping a sorted queue.
  // A request of a program holding a pin, earliest program first; if none, the earliest
  // program's request. Pins count at the moment of choice: a pin released under pressure
  // takes its program's priority with it.
  std::size_t pick_next(const std::deque<EngineRequest*>& waiting) const override {
    std::size_t best = 0;
    bool best_pinned = false;
    std::uint64_t best_order = ~std::uint64_t{0};
    for (std::size_t i = 0; i < waiting.size(); ++i) {
      const bool pinned = engine_ && engine_->has_pin(waiting[i]->spec.program_key);
      const std::uint64_t order = order_of(*waiting[i]);
      if ((pinned && !best_pinned) || (pinned == best_pinned && order < best_order)) {
        best = i;
        best_pinned = pinned;
        best_order = order;
      }
    }
    return best;
  }

  // Pins are released only when at most one request runs (a running request needs a block)
  // or none does (admission); otherwise a running request is preempted and pins wait for
  // their expiry.
  bool release_pin_under_pressure(std::size_t num_running, bool growing) const override {
    return growing ? num_running <= 1 : num_running == 0;
  }

  std::size_t pick_victim(const std::vector<EngineRequest*>& running) const override {
    // A request not marked as its program's last step, if any; then the request of the
    // program that arrived latest; among its requests the newest.
    auto later = [&](const EngineRequest& a, const EngineRequest& b) {
      if (a.spec.is_last_step != b.spec.is_last_step) return !a.spec.is_last_step;
      if (order_of(a) != order_of(b)) return order_of(a) > order_of(b);
      return a.admission_seq > b.admission_seq;
    };
    std::size_t victim = running.size() - 1;
    for (std::size_t i = 0; i < running.size(); ++i)
      if (later(*running[i], *running[victim])) victim = i;
    return victim;
  }

  Seconds pin_ttl(const EngineRequest& r, Seconds) override {
    const std::string& tool = r.spec.next_tool;
    if (tool.empty()) return 0;  // the program waits on its user, not on a tool
    auto it = tool_stats_.find(tool);
    const Seconds mean = it == tool_stats_.end() ? 0.0 : it->second.total_s / it->second.count;
    return mean <= params_.max_tool_mean_to_pin_s ? params_.pin_ttl_s : 0.0;
  }

  void on_finished(const EngineRequest& r, Seconds now) override {
    const std::uint64_t key = r.spec.program_key;
    if (key == 0) return;
    if (r.spec.is_last_step) {
      program_order_.erase(key);
      last_finish_.erase(key);
      return;
    }
    last_finish_[key] = {now, r.spec.next_tool};
  }

 private:
  struct ToolStats {
    double total_s = 0;
    std::int64_t count = 0;
  };
  struct LastFinish {
    Seconds at = 0;
    std::string tool;
  };
  std::uint64_t order_of(const EngineRequest& r) const {
    auto it = program_order_.find(r.spec.program_key);
    // Requests outside programs are ordered by their own arrival, after known programs.
    return it == program_order_.end() ? (std::uint64_t{1} << 62) + r.admission_seq : it->second;
  }

  ContinuumParams params_;
  std::unordered_map<std::uint64_t, std::uint64_t> program_order_;
  std::uint64_t next_program_order_ = 0;
  std::unordered_map<std::uint64_t, LastFinish> last_finish_;
  std::unordered_map<std::string, ToolStats> tool_stats_;
};

}  // namespace

std::vector<PolicyInfo> engine_policy_infos() {
  return {
      {"fcfs", "vLLM V1: FCFS by arrival, newest running request preempted", {}},
      {"continuum", "Continuum: program-level FCFS plus TTL pins after calls into short tools", {}},
      {"plas",
       "Autellix PLAS: program-level least attained service in multi-level queues with "
       "quanta, anti-starvation promotion, batch re-formed by priority every pass_steps steps",
       describe_params<PlasParams>()},
  };
}

std::vector<std::string_view> engine_policy_names() {
  return {"fcfs", "continuum", "plas"};
}

Result<std::unique_ptr<EnginePolicy>> make_engine_policy(std::string_view name,
                                                         const ContinuumParams& continuum,
                                                         const EnginePolicyParams& params) {
  const auto infos = engine_policy_infos();
  const PolicyInfo* info = nullptr;
  for (const auto& i : infos)
    if (i.name == name) info = &i;
  if (!info) {
    std::string names;
    for (const auto& i : infos) names += (names.empty() ? "" : ", ") + i.name;
    return make_error(fmt::format("unknown engine policy '{}' (known: {})", name, names));
  }
  if (info->params.empty() && !params.empty())
    return make_error(fmt::format("engine policy '{}' has no parameter '{}' (parameters: none)",
                                  name, params.begin()->first));
  if (name == "fcfs") return std::unique_ptr<EnginePolicy>(std::make_unique<FcfsPolicy>());
  if (name == "continuum")
    return std::unique_ptr<EnginePolicy>(std::make_unique<ContinuumPolicy>(continuum));
  auto p = parse_params<PlasParams>("engine policy", params);
  if (!p) return p.error();
  return std::unique_ptr<EnginePolicy>(std::make_unique<PlasPolicy>(*p));
}

Result<std::unique_ptr<EnginePolicy>> make_engine_policy(std::string_view name,
                                                         const EnginePolicyParams& params) {
  return make_engine_policy(name, ContinuumParams{}, params);
}

}  // namespace agentsched
