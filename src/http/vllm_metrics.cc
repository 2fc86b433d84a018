#include "http/vllm_metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <string>

namespace agentsched::http {

namespace {

std::string engine_of(const PrometheusSample& s) {
  auto e = s.label("engine");
  return e ? std::string(*e) : std::string();
}

// One engine core serves one model; cache_config_info carries only the engine label.
std::string engine_model_of(const PrometheusSample& s) {
  auto m = s.label("model_name");
  return engine_of(s) + '\n' + (m ? std::string(*m) : std::string());
}

// Bounds on what a backend's text may claim, so that sums over engines and
// num_gpu_blocks x block_size stay far from int64 overflow; beyond them a value is unknown.
constexpr std::int64_t kMaxBlocks = std::int64_t{1} << 40;
constexpr std::int64_t kMaxBlockSize = std::int64_t{1} << 20;

std::int64_t parse_int_label(const PrometheusSample& s, std::string_view name, std::int64_t max) {
  auto v = s.label(name);
  if (!v) return 0;
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size() || out < 0 || out > max)
    return 0;  // "None"
  return out;
}

// A summed gauge as a count: NaN, infinite or negative values (a broken exporter) count as 0,
// and the count is bounded, since converting such values to an integer is undefined.
std::int64_t to_count(double v) {
  return std::isfinite(v) && v > 0
             ? static_cast<std::int64_t>(std::min(v, static_cast<double>(kMaxBlocks)))
             : 0;
}

// Per-engine values of the first of `names` that is present (new name before deprecated).
std::map<std::string, double> per_engine(const PrometheusText& text,
                                         std::initializer_list<std::string_view> names) {
  std::map<std::string, double> values;
  for (std::string_view name : names) {
    for (const PrometheusSample* s : find_samples(text, name))
      values[engine_model_of(*s)] += s->value;
    if (!values.empty()) break;
  }
  return values;
}

double total(const std::map<std::string, double>& values) {
  double sum = 0;
  for (const auto& [engine, v] : values) sum += v;
  return sum;
}

}  // namespace

Result<BackendMetrics> backend_metrics_from_vllm(const PrometheusText& text) {
  const auto usage = per_engine(text, {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"});
  const auto running = per_engine(text, {"vllm:num_requests_running"});
  const auto waiting = per_engine(text, {"vllm:num_requests_waiting"});
  if (usage.empty() && running.empty() && waiting.empty())
    return make_error(
        "no vLLM metrics in /metrics text (expected vllm:kv_cache_usage_perc, "
        "vllm:gpu_cache_usage_perc or vllm:num_requests_running)");

  BackendMetrics m;
  m.num_running = to_count(total(running));
  m.num_waiting = to_count(total(waiting));
  m.prefix_cache_queries = total(
      per_engine(text, {"vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"}));
  m.prefix_cache_hits =
      total(per_engine(text, {"vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"}));
  m.num_preemptions = total(per_engine(text, {"vllm:num_preemptions_total"}));

  std::map<std::string, std::int64_t> blocks, host_blocks;
  for (const PrometheusSample* s : find_samples(text, "vllm:cache_config_info")) {
    blocks[engine_of(*s)] = parse_int_label(*s, "num_gpu_blocks", kMaxBlocks);
    host_blocks[engine_of(*s)] = parse_int_label(*s, "num_cpu_blocks", kMaxBlocks);
    if (m.block_size == 0) m.block_size = parse_int_label(*s, "block_size", kMaxBlockSize);
  }
  for (const auto& [engine, n] : blocks)
    m.num_gpu_blocks = std::min(m.num_gpu_blocks + n, kMaxBlocks);
  for (const auto& [engine, n] : host_blocks)
    m.num_host_blocks = std::min(m.num_host_blocks + n, kMaxBlocks);

  if (!usage.empty()) {
    double weighted = 0, weight = 0, plain = 0;
    bool all_weighted = true;
    for (const auto& [key, u] : usage) {
      plain += u;
      auto b = blocks.find(key.substr(0, key.find('\n')));
      if (b == blocks.end() || b->second <= 0)
        all_weighted = false;
      else {
        weighted += u * static_cast<double>(b->second);
        weight += static_cast<double>(b->second);
      }
    }
    m.kv_usage =
        all_weighted && weight > 0 ? weighted / weight : plain / static_cast<double>(usage.size());
  }
  return m;
}

}  // namespace agentsched::http
