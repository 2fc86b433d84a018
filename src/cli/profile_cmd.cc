// `agentsched profile list|show NAME`
#include <fmt/format.h>

#include "cli/command_registry.h"
#include "model/profile.h"

namespace agentsched::cli {
namespace {

void show_profile(const std::string& name) {
  auto loaded = load_profile(name);
  if (!loaded) throw CommandFailure{loaded.error().message};
  const Profile& p = *loaded;
  const double gib = 1024.0 * 1024.0 * 1024.0;
  fmt::print("profile      {}\n", p.name);
  if (!p.description.empty()) fmt::print("             {}\n", p.description);
  fmt::print("gpu          {}: {:.2f} GiB, {:.0f} GB/s, {:.1f} bf16 TFLOP/s\n", p.gpu.name,
             p.gpu.memory_gib, p.gpu.bandwidth_gb_s, p.gpu.bf16_tflops);
  fmt::print("model        {}: {} layers, {} KV heads x {} head dim, {:.2f} B params\n",
             p.model.name, p.model.layers, p.model.kv_heads, p.model.head_dim, p.model.params_b);
  fmt::print("weights      {:.2f} GB ({:.2f} GiB)\n", p.weight_bytes() / 1e9,
             p.weight_bytes() / gib);
  fmt::print("KV per token {:.0f} B; per block of {} tokens {:.2f} MiB\n", p.kv_bytes_per_token(),
             p.engine.block_size, p.kv_bytes_per_block() / (1024.0 * 1024.0));
  fmt::print(
      "KV cache     {:.2f} GiB x {:.2f} - {:.2f} GiB weights - {:.2f} GiB reserved = {:.2f} GiB\n",
      p.gpu.memory_gib, p.engine.gpu_memory_utilization, p.weight_bytes() / gib,
      p.engine.reserved_gib, p.kv_cache_bytes() / gib);
  fmt::print("KV capacity  {} blocks = {} tokens\n", p.num_gpu_blocks(), p.kv_capacity_tokens());
  fmt::print("limits       max_num_seqs {}, max_num_batched_tokens {}, max_model_len {}\n",
             p.engine.max_num_seqs, p.engine.max_num_batched_tokens, p.model.max_model_len);
  fmt::print("weight read  {:.2f} ms per step at peak bandwidth\n",
             p.weight_bytes() / (p.gpu.bandwidth_gb_s * 1e9) * 1e3);
  fmt::print(
      "cost model   fixed {:.2f} ms, weight x{:.2f}, KV x{:.2f}, compute x{:.2f}, "
      "{:.3f} ms per request, API server {:.1f} ms\n",
      p.cost.fixed_ms, p.cost.weight_factor, p.cost.kv_factor, p.cost.compute_factor,
      p.cost.per_request_ms, p.cost.frontend_ms);
}

const RegisterCommand registration(90, [](CLI::App& root) {
  auto* profile = root.add_subcommand("profile", "List and inspect hardware/model profiles");
  profile->require_subcommand(1);
  auto* list = profile->add_subcommand("list", "List the built-in profiles");
  list->callback([] {
    for (const auto& name : builtin_profile_names()) {
      auto p = load_profile(name);
      if (p) fmt::print("{:<20} {}\n", name, p->description);
    }
  });
  auto* show = profile->add_subcommand(
      "show", "Print a profile and the KV capacity derived from it (name or path to .toml)");
  auto name = std::make_shared<std::string>(std::string(kDefaultProfile));
  show->add_option("name", *name, "Built-in profile name or path to a TOML file");
  show->callback([name] { show_profile(*name); });
});

}  // namespace
}  // namespace agentsched::cli
