#include <gtest/gtest.h>

#include "fixture_files.h"
#include "http/prometheus.h"
#include "http/sglang_metrics.h"
#include "http/vllm_metrics.h"

namespace agentsched::http {
namespace {

TEST(SglangMetrics, DocumentedFixture) {
  const std::string text = test_fixtures::read("metrics/sglang.txt");
  ASSERT_FALSE(text.empty());
  auto m = backend_metrics_from_sglang(parse_prometheus_text(text));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_DOUBLE_EQ(m->kv_usage, 0.28);
  EXPECT_EQ(m->num_running, 162);
  EXPECT_EQ(m->num_waiting, 2826);
  // No max_total_num_tokens in this older build: 123859 used / 0.28 usage.
  EXPECT_EQ(m->block_size, 1);
  EXPECT_EQ(m->num_gpu_blocks, 442354);
  EXPECT_EQ(m->prefix_cache_hits, 0);
  EXPECT_TRUE(m->healthy);
  // The vLLM mapping refuses SGLang text.
  EXPECT_FALSE(backend_metrics_from_vllm(parse_prometheus_text(text)));
}

TEST(SglangMetrics, NewerNamesAndDataParallel) {
  const std::string text =
      "sglang:token_usage{dp_rank=\"0\",model_name=\"m\"} 0.5\n"
      "sglang:token_usage{dp_rank=\"1\",model_name=\"m\"} 0.1\n"
      "sglang:max_total_num_tokens{dp_rank=\"0\",model_name=\"m\"} 1000\n"
      "sglang:max_total_num_tokens{dp_rank=\"1\",model_name=\"m\"} 3000\n"
      "sglang:num_running_reqs{dp_rank=\"0\",model_name=\"m\"} 3\n"
      "sglang:num_running_reqs{dp_rank=\"1\",model_name=\"m\"} 4\n"
      "sglang:num_queue_reqs{dp_rank=\"0\",model_name=\"m\"} 1\n"
      "sglang:prompt_tokens_total{dp_rank=\"0\",model_name=\"m\"} 500\n"
      "sglang:cached_tokens_total{dp_rank=\"0\",model_name=\"m\"} 200\n";
  auto m = backend_metrics_from_sglang(parse_prometheus_text(text));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_DOUBLE_EQ(m->kv_usage, (0.5 * 1000 + 0.1 * 3000) / 4000);
  EXPECT_EQ(m->num_gpu_blocks, 4000);
  EXPECT_EQ(m->kv_capacity_tokens(), 4000);
  EXPECT_EQ(m->num_running, 7);
  EXPECT_EQ(m->num_waiting, 1);
  EXPECT_EQ(m->prefix_cache_queries, 500);
  EXPECT_EQ(m->prefix_cache_hits, 200);
}

// Found by fuzz/prometheus_fuzz: a huge count was converted to an integer (undefined
// behaviour).
TEST(SglangMetrics, HugeValuesStayDefined) {
  auto m =
      backend_metrics_from_sglang(parse_prometheus_text("sglang:num_running_reqs 1e300\n"
                                                        "sglang:num_queue_reqs -5\n"
                                                        "sglang:token_usage 1e-5\n"
                                                        "sglang:num_used_tokens 1e290\n"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_GT(m->num_running, 0);
  EXPECT_EQ(m->num_waiting, 0);
  EXPECT_GT(m->num_gpu_blocks, 0);
  EXPECT_GT(m->kv_capacity_tokens(), 0);  // bounded: block_size 1 x at most 2^40 blocks
}

TEST(SglangMetrics, RejectsOtherText) {
  EXPECT_FALSE(backend_metrics_from_sglang(parse_prometheus_text("vllm:num_requests_running 1\n")));
  EXPECT_FALSE(backend_metrics_from_sglang(parse_prometheus_text("")));
}

}  // namespace
}  // namespace agentsched::http
