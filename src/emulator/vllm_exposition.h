#pragma once
// The engine emulator's /metrics: the metric families vLLM 0.9.2 (V1) exports, with its
// names, HELP texts, types, label style (engine, model_name; sorted) and histogram buckets
// (tests/fixtures/metrics/vllm-0.9.2.txt). Gauges and prefix-cache/preemption counters
// come from the engine model; request counters and latency histograms are observed here,
// in emulated seconds.
#include <cstdint>
#include <string>

#include "core/backend_metrics.h"
#include "http/prometheus.h"
#include "model/profile.h"

namespace agentsched::serve {

// The host-memory KV tier's counters (docs/host-tier.md), exported only while it is on.
struct HostTierMetrics {
  double queries = 0;  // tokens looked up on the host
  double hits = 0;     // tokens loaded from it
  double loads = 0;    // load transfers
  double load_blocks = 0;
  double load_wait_s = 0;  // sum of the loads' durations
  double stores = 0;       // blocks stored
  double evictions = 0;    // host blocks dropped (LRU)
  double link_busy_s = 0;
  double link_bytes = 0;
  std::int64_t loading = 0;  // requests waiting for a load
  std::int64_t blocks_used = 0;
  std::int64_t blocks_capacity = 0;
};

class VllmExposition {
 public:
  // `num_host_blocks`: the host tier's size (0: none), reported as cache_config_info's
  // num_cpu_blocks.
  VllmExposition(std::string model_name, const Profile& profile, std::int64_t num_gpu_blocks,
                 std::int64_t num_host_blocks, double created_unix);

  // A request produced its first token `ttft_s` after arrival.
  void on_first_token(double ttft_s, std::int64_t prompt_tokens);
  // A request produced a further token `interval_s` after its previous one.
  void on_next_token(double interval_s);
  // An engine step computed this many prompt and generated tokens.
  void on_step(std::int64_t tokens);
  struct Finished {
    std::string_view finish_reason;  // stop, length or abort
    double e2e_s = 0, queue_s = 0, inference_s = 0, prefill_s = 0, decode_s = 0;
    std::int64_t prompt_tokens = 0, generation_tokens = 0;
    std::int64_t max_tokens_param = 0;
  };
  void on_finished(const Finished& f);
  // A request aborted before it finished (client gone, shutdown).
  void on_abort();

  // The exposition text, with the engine's live gauges and counters (and the host tier's,
  // when `host` is given).
  std::string render(const BackendMetrics& engine, const HostTierMetrics* host = nullptr) const;

 private:
  std::string model_name_;
  http::Labels labels_;
  http::Labels cache_config_labels_;
  double created_;
  double prompt_tokens_ = 0;
  double generation_tokens_ = 0;
  double success_stop_ = 0, success_length_ = 0, success_abort_ = 0;
  http::PrometheusHistogram ttft_, tpot_, e2e_, queue_, inference_, prefill_, decode_;
  http::PrometheusHistogram prompt_hist_, generation_hist_, iteration_, params_n_, max_tokens_;
};

}  // namespace agentsched::serve
