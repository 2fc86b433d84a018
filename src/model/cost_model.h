#pragma once
// Step-time cost model: how long one engine step (one forward pass over a continuous batch)
// takes on the profile's GPU, from the batch's shape.
#include "model/profile.h"

namespace agentsched {

// The shape of one engine step, accumulated while the scheduler fills the batch.
struct BatchShape {
  int num_requests = 0;
  std::int64_t num_tokens = 0;  // tokens computed this step (prefill chunks + decode tokens)
  // Sum over scheduled tokens of the number of earlier tokens each attends to.
  double attention_positions = 0;
  // KV tokens read from memory: every scheduled request's context.
  double kv_tokens_read = 0;

  void add(std::int64_t context_before, std::int64_t new_tokens) {
    ++num_requests;
    num_tokens += new_tokens;
    // positions context_before .. context_before + new_tokens - 1
    attention_positions += static_cast<double>(new_tokens) *
                           (static_cast<double>(context_before) + (new_tokens - 1) / 2.0);
    kv_tokens_read += static_cast<double>(context_before + new_tokens);
  }
};

class CostModel {
 public:
  explicit CostModel(const Profile& profile);
  // Seconds one step of this shape takes; 0 for an empty batch.
  double step_seconds(const BatchShape& batch) const;

 private:
  double fixed_s_;
  double weight_s_;        // weight_factor x one full weight read
  double kv_s_per_token_;  // kv_factor x seconds to read one token's KV
  double linear_s_per_token_;
  double attention_s_per_position_;
  double per_request_s_;
};

}  // namespace agentsched
