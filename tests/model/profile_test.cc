#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "model/profile.h"

namespace agentsched {
namespace {

// A small complete profile, with the line `line` (a whole `key = value`) replaced by `with`.
std::string profile_text(const std::string& line = "", const std::string& with = "") {
  std::string text = R"(name = "t"
[gpu]
name = "g"
memory_gib = 32.0
bandwidth_gb_s = 1000.0
bf16_tflops = 100.0
[model]
name = "m"
layers = 36
hidden = 4096
attention_heads = 32
kv_heads = 8
head_dim = 128
params_b = 8.0
nonembedding_params_b = 7.0
dtype_bytes = 2
max_model_len = 40960
[engine]
gpu_memory_utilization = 0.9
reserved_gib = 1.0
block_size = 16
max_num_seqs = 256
max_num_batched_tokens = 2048
[cost]
fixed_ms = 1.0
weight_factor = 1.0
kv_factor = 1.0
compute_factor = 1.0
per_request_ms = 0.0
)";
  if (!line.empty()) {
    const auto at = text.find(line + "\n");
    EXPECT_NE(at, std::string::npos) << line;
    if (at != std::string::npos) text.replace(at, line.size(), with);
  }
  return text;
}

TEST(Profile, ParsesAndDerivesTheKvCapacity) {
  auto p = parse_profile(profile_text(), "t.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_GT(p->num_gpu_blocks(), 2);
  EXPECT_EQ(p->kv_capacity_tokens(), p->num_gpu_blocks() * 16);
}

// Found by fuzz/profile_fuzz: dtype_bytes = 0 made every KV block zero bytes, and an infinite
// or huge memory size an infinite block count; converting either to an integer was undefined
// behaviour.
TEST(Profile, RefusesSizesThatGiveNoFiniteKvCapacity) {
  for (const auto& [line, with, expected] : {
           std::tuple{"dtype_bytes = 2", "dtype_bytes = 0", "model.dtype_bytes"},
           std::tuple{"memory_gib = 32.0", "memory_gib = inf", "gpu.memory_gib"},
           std::tuple{"memory_gib = 32.0", "memory_gib = 1e300", "KV blocks"},
           std::tuple{"reserved_gib = 1.0", "reserved_gib = -inf", "engine.reserved_gib"},
       }) {
    auto p = parse_profile(profile_text(line, with), "t.toml");
    ASSERT_FALSE(p.ok()) << with;
    EXPECT_NE(p.error().message.find(expected), std::string::npos) << p.error().message;
  }
}

// An unknown key used to be ignored: `max_num_seq = 12` left max_num_seqs as it was.
TEST(Profile, RefusesUnknownKeysNamingKeyFileAndLine) {
  auto p = parse_profile(profile_text("max_num_seqs = 256", "max_num_seqs = 256\nmax_num_seq = 12"),
                         "mine.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message,
            "mine.toml:23: unknown key 'engine.max_num_seq' (did you mean 'engine.max_num_seqs'?)");

  auto table = parse_profile(profile_text() + "[gpux]\nname = \"g\"\n", "mine.toml");
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.error().message.find("mine.toml:30: unknown key 'gpux'"), std::string::npos)
      << table.error().message;

  auto top = parse_profile("nmae = \"x\"\n" + profile_text(), "mine.toml");
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.error().message.find("mine.toml:1: unknown key 'nmae' (did you mean 'name'?)"),
            std::string::npos)
      << top.error().message;
}

// Integers beyond the field's range used to wrap around (layers = 2^32 + 36 read as 36).
TEST(Profile, RefusesIntegersOutOfRange) {
  auto p = parse_profile(profile_text("layers = 36", "layers = 4294967332"), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("model.layers"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("out of range"), std::string::npos) << p.error().message;
}

// Cost coefficients and the other "0 means none" figures took NaN, infinities and negative
// values, which made every step time NaN or negative; emulator quantiles of 0 gave the
// emulator's log-normal a log(0).
TEST(Profile, RefusesNonFiniteAndNegativeCoefficientsNamingTheKey) {
  for (const auto& [line, with, expected] : {
           std::tuple{"fixed_ms = 1.0", "fixed_ms = nan", "'cost.fixed_ms'"},
           std::tuple{"fixed_ms = 1.0", "fixed_ms = -1.0", "'cost.fixed_ms'"},
           std::tuple{"weight_factor = 1.0", "weight_factor = inf", "'cost.weight_factor'"},
           std::tuple{"kv_factor = 1.0", "kv_factor = -nan", "'cost.kv_factor'"},
           std::tuple{"compute_factor = 1.0", "compute_factor = -inf", "'cost.compute_factor'"},
           std::tuple{"per_request_ms = 0.0", "per_request_ms = -0.5", "'cost.per_request_ms'"},
           std::tuple{"reserved_gib = 1.0", "reserved_gib = -1.0", "'engine.reserved_gib'"},
           std::tuple{"nonembedding_params_b = 7.0", "nonembedding_params_b = nan",
                      "'model.nonembedding_params_b'"},
           std::tuple{"attention_heads = 32", "attention_heads = -32", "'model.attention_heads'"},
           std::tuple{"per_request_ms = 0.0",
                      "per_request_ms = 0.0\n[emulator]\noutput_tokens_p50 = 0",
                      "'emulator.output_tokens_p50'"},
           std::tuple{"per_request_ms = 0.0",
                      "per_request_ms = 0.0\n[emulator]\noutput_tokens_p90 = inf",
                      "'emulator.output_tokens_p90'"},
       }) {
    auto p = parse_profile(profile_text(line, with), "t.toml");
    ASSERT_FALSE(p.ok()) << with;
    EXPECT_NE(p.error().message.find(expected), std::string::npos) << p.error().message;
  }
  auto zero = parse_profile(profile_text("per_request_ms = 0.0", "per_request_ms = 0"), "t.toml");
  EXPECT_TRUE(zero.ok()) << zero.error().message;
}

// Finite but huge coefficients overflowed the step time to infinity, freezing the virtual
// clock; the same through a what-if setting.
TEST(Profile, RefusesCoefficientsThatGiveAnInfiniteStepTime) {
  auto p = parse_profile(profile_text("kv_factor = 1.0", "kv_factor = 1e308"), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("longest engine step"), std::string::npos) << p.error().message;
  auto ok = parse_profile(profile_text(), "t.toml");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  Profile profile = *ok;
  const auto st = set_profile_field(profile, "cost.kv_factor", 1e308);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("infinite"), std::string::npos) << st.error().message;
  EXPECT_EQ(profile.cost.kv_factor, 1.0);
}

}  // namespace
}  // namespace agentsched

namespace agentsched {
namespace {

// The host tier (docs/host-tier.md): optional, off by default; its size in blocks of the GPU's
// size; a size needs a link.
TEST(Profile, HostTierIsOptionalAndSizedInGpuBlocks) {
  auto plain = parse_profile(profile_text(), "t.toml");
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->host.kv_gib, 0);
  EXPECT_EQ(plain->num_host_blocks(), 0);

  auto h100 = load_profile("h100-qwen3-8b");
  ASSERT_TRUE(h100.ok());
  EXPECT_EQ(h100->host.bandwidth_gb_s, 50);
  EXPECT_EQ(h100->host.kv_gib, 0);
  // 144 KiB a token, 2.25 MiB a block: 256 GiB = 116,508 blocks (256 x 1024 / 2.25, floored).
  ASSERT_TRUE(set_profile_field(*h100, "host.kv_gib", 256).ok());
  EXPECT_EQ(h100->num_host_blocks(), 116508);
  EXPECT_EQ(load_profile("a100-llama31-8b")->host.bandwidth_gb_s, 25);

  auto no_link = parse_profile(profile_text() + "[host]\nkv_gib = 16.0\n", "t.toml");
  ASSERT_FALSE(no_link.ok());
  EXPECT_NE(no_link.error().message.find("host.bandwidth_gb_s"), std::string::npos);
  EXPECT_FALSE(set_profile_field(*plain, "host.kv_gib", 16).ok());
  EXPECT_FALSE(set_profile_field(*plain, "host.kv_gib", -1).ok());
  auto linked = parse_profile(
      profile_text() + "[host]\nbandwidth_gb_s = 50.0\nlatency_ms = 0.1\nkv_gib = 16.0\n",
      "t.toml");
  ASSERT_TRUE(linked.ok()) << linked.error().message;
  EXPECT_GT(linked->num_host_blocks(), 0);
}

}  // namespace
}  // namespace agentsched
