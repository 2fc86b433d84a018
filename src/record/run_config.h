#pragma once
// agentsched/config.json (how a run was made) and agentsched/summary.json (what it did): one
// schema for simulated (`sim`) and live (`drive`) runs, filled by both, written here only.
// Every key `sim` writes, a live run writes too, in the same order, null where a live client
// cannot know the value (the engine's profile and KV blocks, the gateway's polling, the
// engines' counters); the live-only keys follow them. `call_timeout_s` and `arrivals` are
// written only when set, in both. `provenance` is added by the CLI (cli/provenance.h).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace agentsched {

struct RunConfig {
  std::string tool;  // "agentsched sim", "agentsched drive"
  std::string version = "0.1.0";
  // The system (gateway/systems.h); unknown to a bare `drive` run.
  std::optional<std::string> system, engine_policy, gateway_policy;
  std::optional<std::map<std::string, double>> gateway_params;
  // Every parameter in force of an engine policy that has named ones (plas); absent otherwise.
  std::optional<std::map<std::string, double>> engine_params;
  std::optional<double> call_timeout_s;  // the client's budget per call, when it has one
  std::optional<std::string> arrivals;   // open loop: the Poisson stages
  int concurrency = 0;
  std::optional<std::string> profile;
  std::optional<std::int64_t> num_gpu_blocks;
  // The host-memory KV tier, written only while it is on.
  struct HostTier {
    double kv_gib = 0;
    std::int64_t kv_blocks = 0;
    double link_gb_s = 0, link_latency_ms = 0;
  };
  std::optional<HostTier> host_tier;
  bool shared_heads = true;
  std::string workload;
  std::uint64_t workload_seed = 0;
  long programs = 0;
  std::optional<int> backends;
  std::optional<double> kv_sample_interval_s, metrics_interval_s, metrics_delay_s;
  std::optional<std::string> virtual_start;
  bool reward_modelled = false;

  // Written after the shared keys, by live runs only.
  struct Live {
    std::string command_line;
    std::string endpoint;
    std::string model;
    std::string user_model;
    double time_scale = 1;
    double clock_origin_unix = 0;
    double start_unix = 0;
    std::string start;
    std::int64_t pid = 0;
    int max_attempts = 0;
    double initial_backoff_s = 0, max_backoff_s = 0;
    double request_timeout_s = 0;  // emulated seconds per attempt; 0 = none
    std::vector<std::pair<std::string, std::vector<std::string>>> remote_models;  // name, URLs
  };
  std::optional<Live> live;
  // A JSON object kept as "provenance" (cli/provenance.h); "" for none.
  std::string provenance_json;
};

struct BackendSummary {
  double prefix_cache_queries = 0, prefix_cache_hits = 0, prefix_hit_rate = 0;
  double preemptions = 0, steps = 0, busy_s = 0, prompt_tokens_computed = 0;
  double generation_tokens = 0;
  double pins_created = 0, pins_reused = 0, pins_expired = 0, pins_evicted = 0;
  double mean_kv_usage = 0;
  // The host tier's counters (engine/host_kv_tier.h), written only while it is on.
  std::optional<std::vector<std::pair<std::string, double>>> host_tier;
  // Counters of engine policies that keep their own (plas); written only when there are any.
  std::vector<std::pair<std::string, double>> policy_stats;
};

struct RunSummary {
  long ok = 0;
  long errors = 0;
  double elapsed_s = 0;  // from the start to the last finished program
  long llm_calls = 0;
  std::optional<long> calls_timed_out;  // written when the run had a call budget
  // Time calls waited in the gateway, and the engines' counters: null in a live run's file.
  std::optional<double> gateway_held_s, max_gateway_hold_s;
  std::optional<std::vector<BackendSummary>> backends;
  // Counters of gateway policies that keep their own (programpool); written only when any.
  std::vector<std::pair<std::string, double>> gateway_stats;

  struct Live {
    long total = 0;
    long retries = 0;       // attempts beyond the first, all calls
    long remote_calls = 0;  // real user-simulator and expert calls
    double wall_s = 0;      // real seconds
    bool releases_sent = false;
  };
  std::optional<Live> live;
};

// Write <run_dir>/agentsched/config.json and summary.json (one line of JSON each).
Status write_run_config(const std::filesystem::path& run_dir, const RunConfig& config);
Status write_run_summary(const std::filesystem::path& run_dir, const RunSummary& summary);

}  // namespace agentsched
