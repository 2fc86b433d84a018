// Prometheus text exposition as engines serve it on /metrics (http/prometheus.h) and its
// mapping onto BackendMetrics for vLLM and SGLang (http/vllm_metrics.h,
// http/sglang_metrics.h). Every parsed sample, written back with PrometheusWriter, must parse
// to the same name, labels and value.
#include <algorithm>
#include <cmath>
#include <string>

#include "fuzz_util.h"
#include "http/prometheus.h"
#include "http/sglang_metrics.h"
#include "http/vllm_metrics.h"

using namespace agentsched::http;

namespace {

bool same_value(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

Labels sorted(Labels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

void check_metrics(const agentsched::Result<agentsched::BackendMetrics>& m) {
  if (!m) return;
  FUZZ_CHECK(m->num_gpu_blocks >= 0 && m->block_size >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = agentsched::fuzz::as_view(data, size);
  const PrometheusText parsed = parse_prometheus_text(text);
  check_metrics(backend_metrics_from_vllm(parsed));
  check_metrics(backend_metrics_from_sglang(parsed));

  std::size_t previous_bad = 0;
  for (std::size_t line : parsed.bad_lines) {
    FUZZ_CHECK(line > previous_bad);
    previous_bad = line;
  }
  for (const PrometheusSample& s : parsed.samples) {
    FUZZ_CHECK(!s.name.empty());
    FUZZ_CHECK(find_samples(parsed, s.name).size() >= 1);
    PrometheusWriter writer;
    writer.sample(s.name, s.labels, s.value);
    const PrometheusText again = parse_prometheus_text(writer.text());
    FUZZ_CHECK(again.samples.size() == 1 && again.bad_lines.empty());
    const PrometheusSample& t = again.samples[0];
    FUZZ_CHECK(t.name == s.name);
    FUZZ_CHECK(sorted(t.labels) == sorted(s.labels));
    FUZZ_CHECK(same_value(t.value, s.value));
  }
  return 0;
}
