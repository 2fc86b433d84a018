#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "fixture_files.h"
#include "http/prometheus.h"
#include "http/vllm_metrics.h"

namespace agentsched::http {
namespace {

// A /metrics page of tests/fixtures/metrics/ (real engine output; see the README there).
std::string fixture(const std::string& name) {
  return test_fixtures::read("metrics/" + name);
}

// The part of a fixture between two marker lines (the vLLM sample mixes several sources).
std::string section(const std::string& text, const std::string& begin, const std::string& end) {
  const auto b = text.find(begin);
  const auto e = text.find(end, b);
  EXPECT_NE(b, std::string::npos);
  return text.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

TEST(PrometheusParse, SamplesLabelsAndComments) {
  const auto t = parse_prometheus_text(
      "# HELP a_total Things.\n"
      "# TYPE a_total counter\n"
      "a_total{x=\"1\",y=\"two words\"} 3.5\n"
      "b 7 1700000000000\n"
      "c{esc=\"q\\\"b\\\\n\\n\"} -Inf\n"
      "\n"
      "d{} NaN\r\n");
  ASSERT_EQ(t.samples.size(), 4u);
  EXPECT_TRUE(t.bad_lines.empty());
  EXPECT_EQ(t.samples[0].name, "a_total");
  EXPECT_EQ(t.samples[0].label("y").value(), "two words");
  EXPECT_EQ(t.samples[0].value, 3.5);
  EXPECT_EQ(t.samples[1].value, 7);
  EXPECT_EQ(t.samples[2].label("esc").value(), "q\"b\\n\n");
  EXPECT_TRUE(std::isinf(t.samples[2].value) && t.samples[2].value < 0);
  EXPECT_TRUE(std::isnan(t.samples[3].value));
  EXPECT_EQ(t.types.at("a_total"), "counter");
  EXPECT_EQ(t.help.at("a_total"), "Things.");
}

TEST(PrometheusParse, SkipsGarbageLinesAndKeepsTheRest) {
  const auto t = parse_prometheus_text(
      "good 1\n"
      "<html>oops</html>\n"
      "bad{unterminated=\"x} 2\n"
      "novalue{a=\"b\"}\n"
      "trailing 1 2 3\n"
      "9starts_with_digit 1\n"
      "also_good{le=\"+Inf\"} 4e+06\n");
  ASSERT_EQ(t.samples.size(), 2u);
  EXPECT_EQ(t.samples[1].value, 4e6);
  EXPECT_EQ(t.bad_lines, (std::vector<std::size_t>{2, 3, 4, 5, 6}));
}

TEST(PrometheusParse, VllmFixtureParsesCleanly) {
  const auto t = parse_prometheus_text(fixture("vllm-0.9.2.txt"));
  EXPECT_TRUE(t.bad_lines.empty());
  EXPECT_GT(t.samples.size(), 80u);
  EXPECT_EQ(t.types.at("vllm:kv_cache_usage_perc"), "gauge");
  EXPECT_EQ(t.types.at("vllm:prefix_cache_hits_total"), "counter");
  EXPECT_EQ(t.types.at("vllm:time_to_first_token_seconds"), "histogram");
  auto info = find_samples(t, "vllm:cache_config_info");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]->label("num_gpu_blocks").value(), "6000");
}

TEST(PrometheusParse, OtherEngineFixturesParse) {
  for (const char* name : {"sglang.txt", "llamacpp.txt"}) {
    const auto t = parse_prometheus_text(fixture(name));
    EXPECT_TRUE(t.bad_lines.empty()) << name;
    EXPECT_GT(t.samples.size(), 10u) << name;
  }
  const auto sg = parse_prometheus_text(fixture("sglang.txt"));
  EXPECT_EQ(find_samples(sg, "sglang:token_usage").at(0)->value, 0.28);
  EXPECT_TRUE(backend_metrics_from_vllm(sg).ok() == false);
}

TEST(PrometheusFormat, ValuesLikePrometheusClient) {
  EXPECT_EQ(format_prometheus_value(0), "0.0");
  EXPECT_EQ(format_prometheus_value(12), "12.0");
  EXPECT_EQ(format_prometheus_value(0.8734), "0.8734");
  EXPECT_EQ(format_prometheus_value(9.75010481363281e-06), "9.75010481363281e-06");
  EXPECT_EQ(format_prometheus_value(4187300), "4.1873e+06");
  EXPECT_EQ(format_prometheus_value(212540), "212540.0");
  EXPECT_EQ(format_prometheus_value(1753795326.9352946), "1.7537953269352946e+09");
  EXPECT_EQ(format_prometheus_value(1e6), "1e+06");
  EXPECT_EQ(format_prometheus_value(0.001), "0.001");
  EXPECT_EQ(format_prometheus_value(0.0001), "0.0001");
  EXPECT_EQ(format_prometheus_value(0.00001), "1e-05");
  EXPECT_EQ(format_prometheus_value(-2.5), "-2.5");
  EXPECT_EQ(format_prometheus_value(1e16), "1e+16");
  EXPECT_EQ(format_prometheus_value(INFINITY), "+Inf");
  EXPECT_EQ(format_prometheus_value(NAN), "NaN");
}

TEST(PrometheusFormat, WriterMatchesFixtureLines) {
  const Labels labels{{"model_name", "nvidia/Nemotron-Orchestrator-8B"}, {"engine", "0"}};
  PrometheusWriter w;
  w.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels, 0.8734);
  w.counter("vllm:prompt_tokens", "Number of prefill tokens processed.", {{labels, 4.1873e+06}},
            1.7537953269354987e+09);
  const std::string fx = fixture("vllm-0.9.2.txt");
  // Every line written appears verbatim in the fixture (label order, number format, HELP).
  std::istringstream lines(w.text());
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("vllm:prompt_tokens_created{", 0) == 0) continue;  // value differs
    if (line.find("_created") != std::string::npos) continue;
    EXPECT_NE(fx.find(line + "\n"), std::string::npos) << line;
    ++checked;
  }
  EXPECT_EQ(checked, 6);
  EXPECT_NE(w.text().find("# TYPE vllm:prompt_tokens_created gauge\n"), std::string::npos);
}

TEST(PrometheusFormat, HistogramRoundTrip) {
  PrometheusHistogram h({0.1, 1.0, 10.0});
  for (double v : {0.05, 0.5, 0.7, 5.0, 50.0}) h.observe(v);
  PrometheusWriter w;
  w.histogram("x_seconds", "Help.", {{"engine", "0"}}, h, 1.0);
  const auto t = parse_prometheus_text(w.text());
  EXPECT_TRUE(t.bad_lines.empty());
  auto buckets = find_samples(t, "x_seconds_bucket");
  ASSERT_EQ(buckets.size(), 4u);
  EXPECT_EQ(buckets[0]->label("le").value(), "0.1");
  EXPECT_EQ(buckets[1]->value, 3);
  EXPECT_EQ(buckets[3]->label("le").value(), "+Inf");
  EXPECT_EQ(buckets[3]->value, 5);
  EXPECT_EQ(find_samples(t, "x_seconds_count").at(0)->value, 5);
  EXPECT_DOUBLE_EQ(find_samples(t, "x_seconds_sum").at(0)->value, 56.25);
  EXPECT_EQ(t.types.at("x_seconds"), "histogram");
  // Labels come out sorted, with le between engine and model_name as in vLLM's output.
  PrometheusWriter w2;
  w2.histogram("y", "H.", {{"model_name", "m"}, {"engine", "0"}}, h, 1.0);
  EXPECT_NE(w2.text().find("y_bucket{engine=\"0\",le=\"1.0\",model_name=\"m\"} 3.0\n"),
            std::string::npos);
}

TEST(VllmMetrics, MapsSynthesizedReferenceSection) {
  const std::string fx = fixture("vllm-0.9.2.txt");
  const auto t = parse_prometheus_text(section(fx, "[SYNTH] begin", "[SYNTH] end"));
  auto m = backend_metrics_from_vllm(t);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_DOUBLE_EQ(m->kv_usage, 0.8734);
  EXPECT_EQ(m->num_running, 12);
  EXPECT_EQ(m->num_waiting, 3);
  EXPECT_EQ(m->num_gpu_blocks, 6000);
  EXPECT_EQ(m->block_size, 16);
  EXPECT_EQ(m->kv_capacity_tokens(), 96000);
  EXPECT_DOUBLE_EQ(m->prefix_cache_queries, 4.1873e6);
  EXPECT_DOUBLE_EQ(m->prefix_cache_hits, 3.3102e6);
  EXPECT_EQ(m->num_preemptions, 7);
  EXPECT_EQ(m->num_host_blocks, 0);  // vLLM 0.9.2 reports num_cpu_blocks="None"
}

TEST(VllmMetrics, EarlyV1WithoutEngineLabelUsesDeprecatedNames) {
  const std::string fx = fixture("vllm-0.9.2.txt");
  const auto t = parse_prometheus_text(section(fx, "[COPIED-B] begin", "[COPIED-B] end"));
  auto m = backend_metrics_from_vllm(t);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kv_usage, 0.0);
  EXPECT_EQ(m->num_running, 0);
  EXPECT_EQ(m->num_gpu_blocks, 0);  // no cache_config_info: capacity unknown
}

TEST(VllmMetrics, DeprecatedNamesAndNoneBlocks) {
  const auto t = parse_prometheus_text(
      "vllm:gpu_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.5\n"
      "vllm:gpu_prefix_cache_queries_total{engine=\"0\",model_name=\"m\"} 100.0\n"
      "vllm:gpu_prefix_cache_hits_total{engine=\"0\",model_name=\"m\"} 40.0\n"
      "vllm:cache_config_info{block_size=\"16\",engine=\"0\",num_gpu_blocks=\"None\"} 1.0\n");
  auto m = backend_metrics_from_vllm(t);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kv_usage, 0.5);
  EXPECT_EQ(m->prefix_cache_queries, 100);
  EXPECT_EQ(m->prefix_cache_hits, 40);
  EXPECT_EQ(m->num_gpu_blocks, 0);
  EXPECT_EQ(m->block_size, 16);
  EXPECT_EQ(m->num_host_blocks, 0);  // no num_cpu_blocks label: no host tier known
}

TEST(VllmMetrics, HostTierSizeFromNumCpuBlocks) {
  const auto t = parse_prometheus_text(
      "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.5\n"
      "vllm:cache_config_info{block_size=\"16\",engine=\"0\",num_cpu_blocks=\"None\","
      "num_gpu_blocks=\"100\"} 1.0\n"
      "vllm:cache_config_info{block_size=\"16\",engine=\"1\",num_cpu_blocks=\"250\","
      "num_gpu_blocks=\"100\"} 1.0\n");
  auto m = backend_metrics_from_vllm(t);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->num_host_blocks, 250);  // "None" on engine 0 counts as none
  EXPECT_EQ(m->host_capacity_tokens(), 4000);
}

TEST(VllmMetrics, NewNamesWinOverDeprecatedAndEnginesCombine) {
  const auto t = parse_prometheus_text(
      "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.2\n"
      "vllm:kv_cache_usage_perc{engine=\"1\",model_name=\"m\"} 0.8\n"
      "vllm:gpu_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.9\n"
      "vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 2\n"
      "vllm:num_requests_running{engine=\"1\",model_name=\"m\"} 3\n"
      "vllm:cache_config_info{block_size=\"16\",engine=\"0\",num_gpu_blocks=\"100\"} 1.0\n"
      "vllm:cache_config_info{block_size=\"16\",engine=\"1\",num_gpu_blocks=\"300\"} 1.0\n");
  auto m = backend_metrics_from_vllm(t);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->kv_usage, (0.2 * 100 + 0.8 * 300) / 400);
  EXPECT_EQ(m->num_running, 5);
  EXPECT_EQ(m->num_gpu_blocks, 400);
}

// Found by fuzz/prometheus_fuzz: an infinite or huge count was converted to an integer
// (undefined behaviour), and huge num_gpu_blocks labels overflowed their sum.
TEST(VllmMetrics, BrokenExporterValuesStayDefined) {
  auto m = backend_metrics_from_vllm(parse_prometheus_text(
      "vllm:num_requests_running +Inf\n"
      "vllm:num_requests_waiting{engine=\"0\"} 1e300\n"
      "vllm:num_requests_waiting{engine=\"1\"} NaN\n"
      "vllm:cache_config_info{block_size=\"9223372036854775807\",engine=\"0\","
      "num_gpu_blocks=\"9223372036854775807\"} 1.0\n"
      "vllm:cache_config_info{block_size=\"16\",engine=\"1\","
      "num_gpu_blocks=\"9223372036854775807\"} 1.0\n"
      "vllm:cache_config_info{block_size=\"16\",engine=\"2\",num_gpu_blocks=\"100\"} 1.0\n"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->num_running, 0);
  EXPECT_EQ(m->num_waiting, 0);  // 1e300 + NaN
  EXPECT_EQ(m->block_size, 16);  // the absurd first one reads as unknown
  EXPECT_EQ(m->num_gpu_blocks, 100);
  auto big = backend_metrics_from_vllm(parse_prometheus_text("vllm:num_requests_running 1e300\n"));
  ASSERT_TRUE(big.ok());
  EXPECT_GT(big->num_running, 0);
  EXPECT_EQ(big->kv_capacity_tokens(), 0);
}

TEST(VllmMetrics, RejectsTextWithoutVllmMetrics) {
  auto m = backend_metrics_from_vllm(parse_prometheus_text("garbage here\nfoo 1\n"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("no vLLM metrics"), std::string::npos);
}

}  // namespace
}  // namespace agentsched::http
