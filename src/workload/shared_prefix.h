#pragma once
// The shared-prefix request workload that load generators for vLLM build: G groups x U users.
// Each group has a system prompt of S tokens that its users share; each user a fixed question
// of Q tokens. Requests cycle through the G x U prompts in order (group 0's users, then group
// 1's, ...), so after the first pass a whole prompt can be a prefix hit as far as the cache
// holds it. Each request asks for O output tokens and is its own single-turn program, arriving
// open-loop by the given stages.
#include <cstdint>
#include <vector>

#include "core/result.h"
#include "workload/program_script.h"

namespace agentsched {

struct SharedPrefixParams {
  int groups = 9;
  int users = 5;              // per group
  int system_tokens = 100;    // S: shared by a group's users
  int question_tokens = 447;  // Q: one user's fixed question
  int output_tokens = 248;    // O: what each request asks for at most
  // Share of answers that end early (at EOS), at a length drawn uniformly from [1, O): a
  // realised mean output below O. 0: every answer runs to O (ignore_eos).
  double early_stop_share = 0;
  std::vector<ArrivalStage> stages = {{8, 600}, {20, 600}};
};

Result<Workload> generate_shared_prefix(const SharedPrefixParams& params, std::uint64_t seed);

}  // namespace agentsched
