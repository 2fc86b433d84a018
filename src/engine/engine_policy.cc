#include "engine/engine_policy.h"

#include <fmt/format.h>

#include <unordered_map>

#include "engine/engine_model.h"

namespace agentsched {

namespace {

// vLLM V1: FCFS by request arrival; a preempted request goes back to the front; the victim
// is the most recently admitted running request.
class FcfsPolicy final : public EnginePolicy {
 public:
  std::string_view name() const override { return "fcfs"; }
  void enqueue(std::deque<EngineRequest*>& waiting, EngineRequest* r, bool preempted) override {
    if (preempted)
      waiting.push_front(r);
    else
      waiting.push_back(r);
  }
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

  void enqueue(std::deque<EngineRequest*>& waiting, EngineRequest* r, bool) override {
    // A program with a live pin goes first; otherwise order by the program's first arrival
    // (stable: behind requests of the same or earlier programs).
    if (engine_ && engine_->has_pin(r->spec.program_key)) {
      waiting.push_front(r);
      return;
    }
    const std::uint64_t order = order_of(*r);
    auto pos = waiting.end();
    while (pos != waiting.begin()) {
      auto prev = pos - 1;
      if (order_of(**prev) <= order || (engine_ && engine_->has_pin((*prev)->spec.program_key)))
        break;
      pos = prev;
    }
    waiting.insert(pos, r);
  }

  std::size_t pick_victim(const std::vector<EngineRequest*>& running) const override {
    // The request of the program that arrived latest; among its requests the newest.
    std::size_t victim = running.size() - 1;
    for (std::size_t i = 0; i < running.size(); ++i)
      if (order_of(*running[i]) > order_of(*running[victim]) ||
          (order_of(*running[i]) == order_of(*running[victim]) &&
           running[i]->admission_seq > running[victim]->admission_seq))
        victim = i;
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

Result<std::unique_ptr<EnginePolicy>> make_engine_policy(std::string_view name,
                                                         const ContinuumParams& continuum) {
  if (name == "fcfs") return std::unique_ptr<EnginePolicy>(std::make_unique<FcfsPolicy>());
  if (name == "continuum")
    return std::unique_ptr<EnginePolicy>(std::make_unique<ContinuumPolicy>(continuum));
  return make_error(fmt::format("unknown engine policy '{}' (known: fcfs, continuum)", name));
}

std::vector<std::string_view> engine_policy_names() {
  return {"fcfs", "continuum"};
}

}  // namespace agentsched
