#include "model/cost_model.h"

#include <algorithm>

namespace agentsched {

CostModel::CostModel(const Profile& p) {
  const double bandwidth = p.gpu.bandwidth_gb_s * 1e9;
  const double flops = p.gpu.bf16_tflops * 1e12;
  fixed_s_ = p.cost.fixed_ms / 1e3;
  weight_s_ = p.cost.weight_factor * p.weight_bytes() / bandwidth;
  kv_s_per_token_ = p.cost.kv_factor * p.kv_bytes_per_token() / bandwidth;
  // 2 FLOPs per non-embedding parameter per token for the linear layers.
  linear_s_per_token_ = p.cost.compute_factor * 2.0 * p.model.nonembedding_params_b * 1e9 / flops;
  // QK^T and AV: 2 x 2 x layers x heads x head_dim FLOPs per attended position.
  attention_s_per_position_ = p.cost.compute_factor * 4.0 * p.model.layers *
                              p.model.attention_heads * p.model.head_dim / flops;
  per_request_s_ = p.cost.per_request_ms / 1e3;
}

double CostModel::step_seconds(const BatchShape& b) const {
  if (b.num_requests == 0) return 0.0;
  // The linear layers' GEMMs stream the weights while they compute, so that part of a step
  // takes the longer of the two: the weight read for a decode batch (tens of tokens, far
  // below the GPU's ridge point), the compute for a prefill chunk. Attention reads each
  // request's own KV and is added: it runs in its own kernels, after the projections.
  const double linear_s =
      std::max(weight_s_, linear_s_per_token_ * static_cast<double>(b.num_tokens));
  return fixed_s_ + linear_s + kv_s_per_token_ * b.kv_tokens_read +
         attention_s_per_position_ * b.attention_positions + per_request_s_ * b.num_requests;
}

}  // namespace agentsched
