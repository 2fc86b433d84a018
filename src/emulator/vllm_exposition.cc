#include "emulator/vllm_exposition.h"

#include <fmt/format.h>

#include <vector>

namespace agentsched::serve {

namespace {

// vLLM's build_1_2_5_buckets(max_model_len): 1, 2, 5, 10, 20, 50, ... up to the limit.
std::vector<double> one_two_five(double limit) {
  std::vector<double> out;
  for (double exp = 1;; exp *= 10)
    for (double m : {1.0, 2.0, 5.0}) {
      if (m * exp > limit) return out;
      out.push_back(m * exp);
    }
}

const std::vector<double> kTtftBuckets = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                          0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                          20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
const std::vector<double> kTpotBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                          0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
const std::vector<double> kRequestLatencyBuckets = {
    0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
    30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const std::vector<double> kIterationBuckets = {1,   8,    16,   32,   64,   128,  256,
                                               512, 1024, 2048, 4096, 8192, 16384};

// The host tier's counters, one field of HostTierMetrics each. The first two are the
// families vLLM (0.11 on) exports for KV connectors, under their names; the tier's transfer
// counters have no vLLM name and carry ours.
struct HostCounter {
  const char* name;
  const char* help;
  double HostTierMetrics::*value;
};
constexpr HostCounter kHostCounters[] = {
    {"vllm:external_prefix_cache_queries",
     "External prefix cache queries from KV connector cross-instance cache sharing, in terms of "
     "number of queried tokens.",
     &HostTierMetrics::queries},
    {"vllm:external_prefix_cache_hits",
     "External prefix cache hits from KV connector cross-instance cache sharing, in terms of "
     "number of cached tokens.",
     &HostTierMetrics::hits},
    {"agentsched_host_kv_loads", "Loads of KV blocks from the host tier (transfers).",
     &HostTierMetrics::loads},
    {"agentsched_host_kv_load_blocks", "KV blocks loaded from the host tier.",
     &HostTierMetrics::load_blocks},
    {"agentsched_host_kv_load_seconds",
     "Sum over loads of the time from start to done (what the requests waited).",
     &HostTierMetrics::load_wait_s},
    {"agentsched_host_kv_stores", "KV blocks stored to the host tier.", &HostTierMetrics::stores},
    {"agentsched_host_kv_evictions", "Host tier blocks evicted (LRU) to make room.",
     &HostTierMetrics::evictions},
    {"agentsched_host_link_busy_seconds", "Time the GPU-host link moved bytes.",
     &HostTierMetrics::link_busy_s},
    {"agentsched_host_link_bytes", "Bytes moved over the GPU-host link, both ways.",
     &HostTierMetrics::link_bytes},
};

std::string py_float(double v) {
  return http::format_prometheus_value(v);
}

}  // namespace

VllmExposition::VllmExposition(std::string model_name, const Profile& profile,
                               std::int64_t num_gpu_blocks, std::int64_t num_host_blocks,
                               double created_unix)
    : model_name_(std::move(model_name)),
      labels_{{"engine", "0"}, {"model_name", model_name_}},
      created_(created_unix),
      ttft_(kTtftBuckets),
      tpot_(kTpotBuckets),
      e2e_(kRequestLatencyBuckets),
      queue_(kRequestLatencyBuckets),
      inference_(kRequestLatencyBuckets),
      prefill_(kRequestLatencyBuckets),
      decode_(kRequestLatencyBuckets),
      prompt_hist_(one_two_five(profile.model.max_model_len)),
      generation_hist_(one_two_five(profile.model.max_model_len)),
      iteration_(kIterationBuckets),
      params_n_({1, 2, 5, 10, 20}),
      max_tokens_(one_two_five(profile.model.max_model_len)) {
  // CacheConfig.metrics_info() as 0.9.x prints it (Python reprs of the config fields).
  cache_config_labels_ = {
      {"block_size", std::to_string(profile.engine.block_size)},
      {"cache_dtype", "auto"},
      {"calculate_kv_scales", "False"},
      {"cpu_offload_gb", "0"},
      {"enable_prefix_caching", "True"},
      {"engine", "0"},
      {"gpu_memory_utilization", py_float(profile.engine.gpu_memory_utilization)},
      {"is_attention_free", "False"},
      // A host tier's size goes where CacheConfig keeps CPU blocks (docs/host-tier.md).
      {"num_cpu_blocks", num_host_blocks > 0 ? std::to_string(num_host_blocks) : "None"},
      {"num_gpu_blocks", std::to_string(num_gpu_blocks)},
      {"num_gpu_blocks_override", "None"},
      {"prefix_caching_hash_algo", "builtin"},
      {"sliding_window", "None"},
      {"swap_space_bytes", "4294967296"}};
}

void VllmExposition::on_first_token(double ttft_s, std::int64_t prompt_tokens) {
  ttft_.observe(ttft_s);
  prompt_tokens_ += static_cast<double>(prompt_tokens);
  ++generation_tokens_;
}

void VllmExposition::on_next_token(double interval_s) {
  tpot_.observe(interval_s);
  ++generation_tokens_;
}

void VllmExposition::on_step(std::int64_t tokens) {
  if (tokens > 0) iteration_.observe(static_cast<double>(tokens));
}

void VllmExposition::on_finished(const Finished& f) {
  (f.finish_reason == "length" ? success_length_ : success_stop_) += 1;
  e2e_.observe(f.e2e_s);
  queue_.observe(f.queue_s);
  inference_.observe(f.inference_s);
  prefill_.observe(f.prefill_s);
  decode_.observe(f.decode_s);
  prompt_hist_.observe(static_cast<double>(f.prompt_tokens));
  generation_hist_.observe(static_cast<double>(f.generation_tokens));
  params_n_.observe(1);
  max_tokens_.observe(static_cast<double>(f.max_tokens_param));
}

void VllmExposition::on_abort() {
  ++success_abort_;
}

std::string VllmExposition::render(const BackendMetrics& m, const HostTierMetrics* host) const {
  http::PrometheusWriter w;
  const auto& L = labels_;
  w.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", L,
          static_cast<double>(m.num_running));
  w.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", L,
          static_cast<double>(m.num_waiting));
  w.gauge("vllm:gpu_cache_usage_perc",
          "GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use "
          "vllm:kv_cache_usage_perc instead.",
          L, m.kv_usage);
  w.counter("vllm:gpu_prefix_cache_queries",
            "GPU prefix cache queries, in terms of number of queriedtokens. DEPRECATED: Use "
            "vllm:prefix_cache_queries instead.",
            {{L, m.prefix_cache_queries}}, created_);
  w.counter("vllm:gpu_prefix_cache_hits",
            "GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use "
            "vllm:prefix_cache_hits instead.",
            {{L, m.prefix_cache_hits}}, created_);
  w.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", L, m.kv_usage);
  w.counter("vllm:prefix_cache_queries",
            "Prefix cache queries, in terms of number of queried tokens.",
            {{L, m.prefix_cache_queries}}, created_);
  w.counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.",
            {{L, m.prefix_cache_hits}}, created_);
  w.counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.",
            {{L, m.num_preemptions}}, created_);
  w.counter("vllm:prompt_tokens", "Number of prefill tokens processed.", {{L, prompt_tokens_}},
            created_);
  w.counter("vllm:generation_tokens", "Number of generation tokens processed.",
            {{L, generation_tokens_}}, created_);
  auto with_reason = [&](std::string_view reason) {
    http::Labels l = L;
    l.emplace_back("finished_reason", std::string(reason));
    return l;
  };
  w.counter("vllm:request_success", "Count of successfully processed requests.",
            {{with_reason("stop"), success_stop_},
             {with_reason("length"), success_length_},
             {with_reason("abort"), success_abort_}},
            created_);
  // vLLM's histograms, in its order.
  struct HistogramFamily {
    const char* name;
    const char* help;
    http::PrometheusHistogram VllmExposition::*histogram;
  };
  static constexpr HistogramFamily kHistograms[] = {
      {"vllm:request_prompt_tokens", "Number of prefill tokens processed.",
       &VllmExposition::prompt_hist_},
      {"vllm:request_generation_tokens", "Number of generation tokens processed.",
       &VllmExposition::generation_hist_},
      {"vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.",
       &VllmExposition::iteration_},
      {"vllm:request_params_n", "Histogram of the n request parameter.",
       &VllmExposition::params_n_},
      {"vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.",
       &VllmExposition::max_tokens_},
      {"vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
       &VllmExposition::ttft_},
      {"vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.",
       &VllmExposition::tpot_},
      {"vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
       &VllmExposition::e2e_},
      {"vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
       &VllmExposition::queue_},
      {"vllm:request_inference_time_seconds",
       "Histogram of time spent in RUNNING phase for request.", &VllmExposition::inference_},
      {"vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
       &VllmExposition::prefill_},
      {"vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
       &VllmExposition::decode_},
  };
  for (const HistogramFamily& h : kHistograms)
    w.histogram(h.name, h.help, L, this->*h.histogram, created_);
  w.gauge("vllm:cache_config_info", "Information of the LLMEngine CacheConfig",
          cache_config_labels_, 1.0);
  if (host) {
    for (const HostCounter& c : kHostCounters)
      w.counter(c.name, c.help, {{L, host->*c.value}}, created_);
    w.gauge("agentsched_num_requests_loading",
            "Requests waiting for their prefix to load from the host tier (counted in "
            "vllm:num_requests_waiting too).",
            L, static_cast<double>(host->loading));
    w.gauge("agentsched_host_kv_usage_perc", "Host tier usage. 1 means 100 percent usage.", L,
            host->blocks_capacity > 0 ? static_cast<double>(host->blocks_used) /
                                            static_cast<double>(host->blocks_capacity)
                                      : 0.0);
    w.gauge("agentsched_host_kv_blocks", "Host tier capacity in KV blocks.", L,
            static_cast<double>(host->blocks_capacity));
  }
  return w.take();
}

}  // namespace agentsched::serve
