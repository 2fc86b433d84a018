// Hardware/model profiles in TOML (model/profile.h), given to `sim`, `engine` and
// `experiment` as files. A profile that parses must leave a usable KV cache, and its cost
// coefficients must give finite, non-negative step times.
#include <cmath>

#include "fuzz_util.h"
#include "model/cost_model.h"
#include "model/profile.h"

using namespace agentsched;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto p = parse_profile(agentsched::fuzz::as_view(data, size), "fuzz.toml");
  if (!p) {
    FUZZ_CHECK(!p.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(p->model.layers > 0 && p->model.kv_heads > 0 && p->model.head_dim > 0 &&
             p->model.dtype_bytes > 0);
  FUZZ_CHECK(p->engine.block_size > 0 && p->engine.max_num_seqs > 0 &&
             p->engine.max_num_batched_tokens > 0);
  FUZZ_CHECK(p->engine.gpu_memory_utilization > 0 && p->engine.gpu_memory_utilization <= 1);
  FUZZ_CHECK(p->num_gpu_blocks() >= 2);
  FUZZ_CHECK(p->kv_bytes_per_block() > 0);
  for (double c :
       {p->cost.fixed_ms, p->cost.weight_factor, p->cost.kv_factor, p->cost.compute_factor,
        p->cost.per_request_ms, p->engine.reserved_gib, p->model.nonembedding_params_b})
    FUZZ_CHECK(std::isfinite(c) && c >= 0);
  FUZZ_CHECK(p->model.attention_heads >= 0 && p->model.hidden >= 0);
  FUZZ_CHECK(std::isfinite(p->emulator.output_tokens_p50) && p->emulator.output_tokens_p50 > 0);
  FUZZ_CHECK(std::isfinite(p->emulator.output_tokens_p90) && p->emulator.output_tokens_p90 > 0);
  const CostModel cost(*p);
  for (const BatchShape& b :
       {BatchShape{1, 1, 0, 0},
        BatchShape{p->engine.max_num_seqs, p->engine.max_num_batched_tokens, 1e6, 1e6}}) {
    const double t = cost.step_seconds(b);
    FUZZ_CHECK(std::isfinite(t) && t >= 0);
  }
  return 0;
}
