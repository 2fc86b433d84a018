#pragma once
// What a gateway needs of an SGLang engine, read from its parsed /metrics (server started
// with --enable-metrics): SGLang's names mapped onto BackendMetrics, next to the vLLM mapping.
#include "core/backend_metrics.h"
#include "core/result.h"
#include "http/prometheus.h"

namespace agentsched::http {

// kv_usage from sglang:token_usage (like vLLM's, evictable radix-cache tokens count as free);
// running from sglang:num_running_reqs; waiting from sglang:num_queue_reqs; capacity from
// sglang:max_total_num_tokens as blocks of one token (SGLang's default page size), or, on
// builds without that gauge, estimated as num_used_tokens / token_usage while usage is above
// zero; prefix-cache queries from sglang:prompt_tokens_total and hits from
// sglang:cached_tokens_total when exported (else both stay 0: SGLang's cache_hit_rate gauge is
// not a cumulative count). With several label sets (data parallel) counts add up and usage is
// the capacity-weighted mean (a plain mean without capacities).
// Fails when the text carries none of token_usage, num_running_reqs, num_queue_reqs.
Result<BackendMetrics> backend_metrics_from_sglang(const PrometheusText& text);

}  // namespace agentsched::http
