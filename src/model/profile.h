#pragma once
// Hardware + model profile: everything the engine model needs to know about one GPU serving
// one model. Loaded from TOML (profiles/*.toml, embedded in the binary at build time, or any
// file path). KV capacity is derived from memory arithmetic, never typed in.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace agentsched {

struct GpuSpec {
  std::string name;
  double memory_gib = 0;
  double bandwidth_gb_s = 0;
  double bf16_tflops = 0;
};

struct ModelSpec {
  std::string name;
  int layers = 0;
  int hidden = 0;
  int attention_heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  double params_b = 0;
  double nonembedding_params_b = 0;
  int dtype_bytes = 2;
  int max_model_len = 0;
};

struct EngineLimits {
  double gpu_memory_utilization = 0.9;
  double reserved_gib = 0;
  int block_size = 16;
  int max_num_seqs = 256;
  int max_num_batched_tokens = 2048;
};

// Step time = fixed + max(weight_factor * weight-read, compute_factor * linear compute)
//           + kv_factor * KV-read + compute_factor * attention compute
//           + per_request * requests in the step.
struct CostCoefficients {
  double fixed_ms = 0;
  double weight_factor = 1;
  double kv_factor = 1;
  double compute_factor = 1;
  double per_request_ms = 0;
  // A request's time in the API server before the engine's scheduler sees it (HTTP, chat
  // template, tokenizer, hand-off to the engine core). Optional in a profile file (0).
  double frontend_ms = 0;
};

// The host link and the host-memory KV tier (vLLM's --kv-offloading-backend native
// --kv-offloading-size <GiB>, docs/host-tier.md). Blocks evicted from the GPU pool are kept in
// a host pool of kv_gib (LRU) and loaded back over the link instead of being recomputed.
// kv_gib = 0 turns the tier off; the link figures are then unused.
struct HostSpec {
  double bandwidth_gb_s = 0;  // one way, shared by stores and loads (1e9 bytes/s)
  double latency_ms = 0;      // added to every transfer
  double kv_gib = 0;          // host tier size; 0: off
};

struct EmulatorDefaults {
  double output_tokens_p50 = 250;
  double output_tokens_p90 = 900;
};

struct Profile {
  std::string name;
  std::string description;
  GpuSpec gpu;
  ModelSpec model;
  EngineLimits engine;
  CostCoefficients cost;
  HostSpec host;
  EmulatorDefaults emulator;

  double weight_bytes() const { return model.params_b * 1e9 * model.dtype_bytes; }
  // K and V for every layer and KV head.
  double kv_bytes_per_token() const {
    return 2.0 * model.layers * model.kv_heads * model.head_dim * model.dtype_bytes;
  }
  double kv_bytes_per_block() const { return kv_bytes_per_token() * engine.block_size; }
  // Bytes left for the KV cache: memory x utilisation - weights - reserved.
  double kv_cache_bytes() const;
  // Number of KV blocks the engine allocates (vLLM's num_gpu_blocks).
  std::int64_t num_gpu_blocks() const;
  std::int64_t kv_capacity_tokens() const { return num_gpu_blocks() * engine.block_size; }
  // Blocks the host tier holds (host.kv_gib over the bytes of a block); 0 when it is off.
  std::int64_t num_host_blocks() const;
};

// Parses a profile from TOML text; `origin` names the source in error messages.
Result<Profile> parse_profile(std::string_view toml_text, std::string_view origin);
// Loads a built-in profile by name, or a TOML file when `name_or_path` ends in ".toml" or
// contains a '/'.
Result<Profile> load_profile(std::string_view name_or_path);
// Names of the built-in profiles (the TOML files of profiles/ at build time).
std::vector<std::string> builtin_profile_names();
// The numeric fields a what-if study may set, by their TOML path ("cost.kv_factor",
// "engine.reserved_gib", "gpu.bandwidth_gb_s", ...).
std::vector<std::string> settable_profile_fields();
// Reads one of them; fails on an unknown key.
Result<double> get_profile_field(const Profile& profile, std::string_view key);
// Sets one of them; fails on an unknown key or a value the field cannot take (the KV
// capacity, derived from the memory fields, must stay at least two blocks).
Status set_profile_field(Profile& profile, std::string_view key, double value);
inline constexpr std::string_view kDefaultProfile = "rtx5090-qwen3-8b";

}  // namespace agentsched
