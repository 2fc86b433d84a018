// Hardware/model profiles in TOML (model/profile.h), given to `sim`, `engine` and
// `experiment` as files. A profile that parses must leave a usable KV cache.
#include <cmath>

#include "fuzz_util.h"
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
  return 0;
}
