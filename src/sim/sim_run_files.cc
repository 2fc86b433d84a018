#include "sim/sim_run_files.h"

#include "core/time_format.h"
#include "gateway/policies.h"
#include "record/run_config.h"
#include "workload/arrivals.h"

namespace agentsched {
namespace {

// Engine policies with named parameters record every value in force, defaults included.
std::optional<std::map<std::string, double>> engine_params_in_force(const SimOptions& options) {
  for (const auto& info : engine_policy_infos()) {
    if (info.name != options.system.engine_policy || info.params.empty()) continue;
    std::map<std::string, double> params;
    for (const auto& [name, value, meaning] : info.params) {
      auto given = options.system.engine_params.find(name);
      params[name] = given == options.system.engine_params.end() ? value : given->second;
    }
    return params;
  }
  return std::nullopt;
}

// The host tier's settings, while it is on.
std::optional<RunConfig::HostTier> host_tier_config(const SimOptions& options,
                                                    const EngineModel& engine) {
  if (!engine.host_tier_on()) return std::nullopt;
  return RunConfig::HostTier{options.profile.host.kv_gib, engine.host_blocks_capacity(),
                             options.profile.host.bandwidth_gb_s, options.profile.host.latency_ms};
}

// A backend's host-tier counters, while the tier is on.
std::optional<std::vector<std::pair<std::string, double>>> host_tier_counters(
    const SimOptions& options, const EngineCounters& c) {
  if (options.profile.num_host_blocks() <= 0) return std::nullopt;
  return std::vector<std::pair<std::string, double>>{
      {"host_queries", c.host_queries},
      {"host_hit_tokens", c.host_hit_tokens},
      {"host_loads", c.host_loads},
      {"host_load_blocks", c.host_load_blocks},
      {"host_load_wait_s", c.host_load_wait_s},
      {"host_stores", c.host_stores},
      {"host_store_refreshes", c.host_store_refreshes},
      {"host_evictions", c.host_evictions},
      {"host_link_busy_s", c.host_link_busy_s},
      {"host_link_bytes", c.host_link_bytes}};
}

}  // namespace

Status write_sim_run_files(const SimOptions& options, const EngineModel& engine, long programs,
                           const SimResult& result,
                           const std::vector<std::pair<std::string, double>>& gateway_counters) {
  const PolicyParams& params = options.system.gateway_params;
  const RunConfig config{
      .tool = "agentsched sim",
      .system = options.system.name,
      .engine_policy = options.system.engine_policy,
      .gateway_policy = options.no_gateway ? "none" : options.system.gateway_policy,
      .gateway_params = std::map<std::string, double>(params.begin(), params.end()),
      .engine_params = engine_params_in_force(options),
      .call_timeout_s =
          options.call_timeout_s > 0 ? std::optional(options.call_timeout_s) : std::nullopt,
      .arrivals = options.workload->open_loop()
                      ? std::optional(format_arrival_stages(options.workload->arrival_stages))
                      : std::nullopt,
      .concurrency = options.concurrency,
      .profile = options.profile.name,
      .num_gpu_blocks = engine.block_pool().num_blocks(),
      .host_tier = host_tier_config(options, engine),
      .shared_heads = options.share_heads,
      .workload = options.workload->name,
      .workload_seed = options.workload->seed,
      .programs = programs,
      .backends = options.backends,
      .kv_sample_interval_s = options.kv_sample_interval_s,
      .metrics_interval_s = options.metrics_interval_s,
      .metrics_delay_s = options.metrics_delay_s,
      .virtual_start = format_datetime(kVirtualEpochUnix),
      .live = std::nullopt,
      .provenance_json = {},
  };
  RunSummary summary{
      .ok = result.ok,
      .errors = result.errors,
      .elapsed_s = result.elapsed_s,
      .llm_calls = result.llm_calls,
      .calls_timed_out =
          options.call_timeout_s > 0 ? std::optional(result.calls_timed_out) : std::nullopt,
      .gateway_held_s = result.gateway_held_s,
      .max_gateway_hold_s = result.max_gateway_hold_s,
      .backends = std::vector<BackendSummary>(),
      .gateway_stats = {},
      .live = std::nullopt,
  };
  for (const auto& b : result.backends) {
    const EngineCounters& c = b.counters;
    summary.backends->push_back(
        {c.prefix_cache_queries,
         c.prefix_cache_hits,
         c.prefix_cache_queries > 0 ? c.prefix_cache_hits / c.prefix_cache_queries : 0.0,
         c.preemptions,
         c.steps,
         c.busy_s,
         c.prompt_tokens_computed,
         c.generation_tokens,
         c.pins_created,
         c.pins_reused,
         c.pins_expired,
         c.pins_evicted,
         b.mean_kv_usage,
         host_tier_counters(options, c),
         {}});
    // Counters of engine policies that keep their own (plas); none for the others.
    if (!b.policy_stats.empty()) {
      auto& stats = summary.backends->back().policy_stats;
      stats.emplace_back("priority_preemptions", c.priority_preemptions);
      for (const auto& [name, value] : b.policy_stats) stats.emplace_back(name, value);
    }
  }
  for (const auto& [name, value] : gateway_counters)
    summary.gateway_stats.emplace_back(name, value);
  if (auto st = write_run_config(options.out_dir, config); !st) return st;
  return write_run_summary(options.out_dir, summary);
}

}  // namespace agentsched
