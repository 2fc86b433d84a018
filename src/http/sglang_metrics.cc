#include "http/sglang_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace agentsched::http {

namespace {

// Label set of a sample as a key (SGLang labels every gauge of one scheduler alike).
std::string key_of(const PrometheusSample& s) {
  std::string key;
  for (const auto& [name, value] : s.labels) {
    key += name;
    key += '=';
    key += value;
    key += '\n';
  }
  return key;
}

std::map<std::string, double> by_labels(const PrometheusText& text, std::string_view name) {
  std::map<std::string, double> out;
  for (const PrometheusSample* s : find_samples(text, name)) out[key_of(*s)] += s->value;
  return out;
}

double total(const std::map<std::string, double>& values) {
  double sum = 0;
  for (const auto& [key, v] : values)
    if (std::isfinite(v)) sum += v;
  return sum;
}

// A sum as a count: negative values count as 0, and the count is bounded (2^40) so that
// converting it to an integer is defined and num_gpu_blocks x block_size cannot overflow.
std::int64_t to_count(double v) {
  constexpr double kMax = static_cast<double>(std::int64_t{1} << 40);
  return std::isfinite(v) && v > 0 ? static_cast<std::int64_t>(std::min(v, kMax)) : 0;
}

}  // namespace

Result<BackendMetrics> backend_metrics_from_sglang(const PrometheusText& text) {
  const auto usage = by_labels(text, "sglang:token_usage");
  const auto running = by_labels(text, "sglang:num_running_reqs");
  const auto waiting = by_labels(text, "sglang:num_queue_reqs");
  if (usage.empty() && running.empty() && waiting.empty())
    return make_error(
        "no SGLang metrics in /metrics text (expected sglang:token_usage, "
        "sglang:num_running_reqs or sglang:num_queue_reqs; is the server started with "
        "--enable-metrics?)");
  BackendMetrics m;
  m.num_running = to_count(total(running));
  m.num_waiting = to_count(total(waiting));
  m.prefix_cache_queries = total(by_labels(text, "sglang:prompt_tokens_total"));
  const auto cached = by_labels(text, "sglang:cached_tokens_total");
  if (cached.empty())
    m.prefix_cache_queries = 0;
  else
    m.prefix_cache_hits = total(cached);

  // Capacity per label set: the exported maximum, else used / usage.
  const auto max_tokens = by_labels(text, "sglang:max_total_num_tokens");
  const auto used = by_labels(text, "sglang:num_used_tokens");
  std::map<std::string, double> capacity;
  for (const auto& [key, v] : max_tokens)
    if (std::isfinite(v) && v > 0) capacity[key] = v;
  if (capacity.empty())
    for (const auto& [key, u] : usage) {
      auto n = used.find(key);
      if (n != used.end() && std::isfinite(u) && u > 0 && std::isfinite(n->second))
        capacity[key] = std::round(n->second / u);
    }
  if (!capacity.empty()) {
    m.block_size = 1;
    m.num_gpu_blocks = to_count(total(capacity));
  }

  if (!usage.empty()) {
    double weighted = 0, weight = 0, plain = 0;
    bool all_weighted = true;
    for (const auto& [key, u] : usage) {
      plain += u;
      auto c = capacity.find(key);
      if (c == capacity.end()) {
        all_weighted = false;
      } else {
        weighted += u * c->second;
        weight += c->second;
      }
    }
    m.kv_usage =
        all_weighted && weight > 0 ? weighted / weight : plain / static_cast<double>(usage.size());
  }
  return m;
}

}  // namespace agentsched::http
