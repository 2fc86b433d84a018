#pragma once
// What a gateway needs of a vLLM engine, read from its parsed /metrics: maps vLLM's metric
// names (0.9.x new and deprecated ones, with or without the `engine` label) onto
// BackendMetrics, the engine view shared with the simulator.
#include "core/backend_metrics.h"
#include "core/result.h"
#include "http/prometheus.h"

namespace agentsched::http {

// KV usage from vllm:kv_cache_usage_perc, else the deprecated vllm:gpu_cache_usage_perc;
// running/waiting from vllm:num_requests_*; prefix-cache counters from
// vllm:prefix_cache_*_total, else vllm:gpu_prefix_cache_*_total; preemptions from
// vllm:num_preemptions_total; capacity from the num_gpu_blocks and block_size labels of
// vllm:cache_config_info ("None" counts as unknown), and a host-memory KV tier's size from
// its num_cpu_blocks label (vLLM V1 leaves it "None"; the emulator puts its host tier's blocks
// there; docs/host-tier.md). With several engines (data parallel,
// one `engine` label each) counts add up and usage is the block-weighted mean.
// Fails when the text carries neither a KV-usage nor a request-count metric of vLLM.
Result<BackendMetrics> backend_metrics_from_vllm(const PrometheusText& text);

}  // namespace agentsched::http
