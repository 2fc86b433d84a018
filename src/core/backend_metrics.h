#pragma once
// What a gateway can see of one engine: the numbers vLLM exports on /metrics. Produced by the
// engine model's snapshot in the simulator and by parsing /metrics text in the live router.
#include <cstdint>

namespace agentsched {

struct BackendMetrics {
  double kv_usage = 0.0;  // vllm:kv_cache_usage_perc, a fraction in [0, 1]
  std::int64_t num_running = 0;
  std::int64_t num_waiting = 0;
  std::int64_t num_gpu_blocks = 0;   // from cache_config_info; 0 when unknown
  std::int64_t block_size = 0;       // tokens per block; 0 when unknown
  std::int64_t num_host_blocks = 0;  // host-memory KV tier, in GPU-sized blocks; 0: none/unknown
  double prefix_cache_queries = 0;   // tokens queried, cumulative
  double prefix_cache_hits = 0;      // tokens hit, cumulative
  double num_preemptions = 0;        // cumulative
  bool healthy = true;

  std::int64_t kv_capacity_tokens() const { return num_gpu_blocks * block_size; }
  std::int64_t host_capacity_tokens() const { return num_host_blocks * block_size; }
};

}  // namespace agentsched
