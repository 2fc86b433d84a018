#include "model/profile.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "core/suggest.h"
#include "core/toml_parse.h"
#include "model/cost_model.h"
#include "model/profiles_embedded.h"

namespace agentsched {

namespace {

// Far more KV blocks than any GPU holds (a memory or model-size typo).
constexpr double kMaxGpuBlocks = 1e8;

// Reads required keys with their types checked; the first problem is kept with its path.
class Reader {
 public:
  Reader(const toml::table& root, std::string_view origin) : root_(root), origin_(origin) {}

  template <typename T>
  void get(std::string_view path, T& out, bool required = true) {
    known_.emplace_back(path);
    if (!error_.empty()) return;
    const toml::node_view<const toml::node> node = root_.at_path(path);
    if (!node) {
      if (required) error_ = fmt::format("{}: missing key '{}'", origin_, path);
      return;
    }
    if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = node.value_exact<std::string>()) {
        out = *v;
        return;
      }
    } else if constexpr (std::is_integral_v<T>) {
      if (auto v = node.value_exact<std::int64_t>()) {
        // A value the field cannot hold is refused, not wrapped around.
        if (*v < std::numeric_limits<T>::min() || *v > std::numeric_limits<T>::max()) {
          error_ = fmt::format("{}: key '{}' is out of range ({})", origin_, path, *v);
          return;
        }
        out = static_cast<T>(*v);
        return;
      }
    } else {
      if (auto v = node.value<double>()) {  // integers are accepted where a float is expected
        out = *v;
        return;
      }
    }
    error_ = fmt::format("{}: key '{}' has the wrong type (expected {})", origin_, path,
                         std::is_same_v<T, std::string> ? "a string"
                         : std::is_integral_v<T>        ? "an integer"
                                                        : "a number");
  }

  void positive(std::string_view path, double value) {
    if (error_.empty() && !(value > 0 && std::isfinite(value)))
      error_ =
          fmt::format("{}: key '{}' must be positive and finite, got {}", origin_, path, value);
  }

  // Coefficients and sizes where 0 means "none": NaN, infinities and negative values would
  // make step times or memory NaN or negative.
  void non_negative(std::string_view path, double value) {
    if (error_.empty() && !(value >= 0 && std::isfinite(value)))
      error_ =
          fmt::format("{}: key '{}' must be finite and at least 0, got {}", origin_, path, value);
  }

  // After every get(): a key no get() asked for is a typo or a setting this version does not
  // have (`max_num_seq = 12` would otherwise leave max_num_seqs at its value in silence).
  void refuse_unknown_keys() { refuse_unknown_keys(root_, ""); }

  const std::string& error() const { return error_; }

 private:
  void refuse_unknown_keys(const toml::table& table, const std::string& prefix) {
    for (const auto& [key, node] : table) {
      if (!error_.empty()) return;
      const std::string path =
          prefix.empty() ? std::string(key.str()) : fmt::format("{}.{}", prefix, key.str());
      if (std::find(known_.begin(), known_.end(), path) != known_.end()) continue;
      const bool known_table = std::any_of(known_.begin(), known_.end(), [&](const auto& k) {
        return k.size() > path.size() && k.compare(0, path.size(), path) == 0 &&
               k[path.size()] == '.';
      });
      if (known_table && node.is_table()) {
        refuse_unknown_keys(*node.as_table(), path);
        continue;
      }
      error_ = fmt::format("{}:{}: unknown key '{}'{}", origin_, key.source().begin.line, path,
                           did_you_mean(path, known_));
    }
  }

  const toml::table& root_;
  std::string_view origin_;
  std::string error_;
  std::vector<std::string> known_;  // every path get() was asked for
};

// The longest step the engine can take: a full token budget, every sequence at the longest
// context. Every other step takes less, so when this one is finite all are; huge
// coefficients or tiny GPU figures would otherwise overflow to an infinite clock.
double longest_step_seconds(const Profile& p) {
  BatchShape longest;
  longest.num_requests = p.engine.max_num_seqs;
  longest.num_tokens = p.engine.max_num_batched_tokens;
  longest.attention_positions =
      static_cast<double>(p.engine.max_num_batched_tokens) * p.model.max_model_len;
  longest.kv_tokens_read = static_cast<double>(p.engine.max_num_seqs) * p.model.max_model_len;
  return CostModel(p).step_seconds(longest);
}

}  // namespace

double Profile::kv_cache_bytes() const {
  const double gib = 1024.0 * 1024.0 * 1024.0;
  return gpu.memory_gib * gib * engine.gpu_memory_utilization - weight_bytes() -
         engine.reserved_gib * gib;
}

std::int64_t Profile::num_gpu_blocks() const {
  const double blocks = std::floor(kv_cache_bytes() / kv_bytes_per_block());
  // Bounded: converting inf or a huge double to an integer is undefined.
  return blocks > 0 ? static_cast<std::int64_t>(std::min(blocks, kMaxGpuBlocks)) : 0;
}

std::int64_t Profile::num_host_blocks() const {
  if (!(host.kv_gib > 0)) return 0;
  const double blocks = std::floor(host.kv_gib * 1024.0 * 1024.0 * 1024.0 / kv_bytes_per_block());
  return blocks > 0 ? static_cast<std::int64_t>(std::min(blocks, 1e12)) : 0;
}

Result<Profile> parse_profile(std::string_view text, std::string_view origin) {
  auto parsed = parse_toml(text, origin);
  if (!parsed) return parsed.error();
  const toml::table& root = *parsed;
  Profile p;
  Reader r(root, origin);
  r.get("name", p.name);
  r.get("description", p.description, false);
  r.get("gpu.name", p.gpu.name);
  r.get("gpu.memory_gib", p.gpu.memory_gib);
  r.get("gpu.bandwidth_gb_s", p.gpu.bandwidth_gb_s);
  r.get("gpu.bf16_tflops", p.gpu.bf16_tflops);
  r.get("model.name", p.model.name);
  r.get("model.layers", p.model.layers);
  r.get("model.hidden", p.model.hidden);
  r.get("model.attention_heads", p.model.attention_heads);
  r.get("model.kv_heads", p.model.kv_heads);
  r.get("model.head_dim", p.model.head_dim);
  r.get("model.params_b", p.model.params_b);
  r.get("model.nonembedding_params_b", p.model.nonembedding_params_b);
  r.get("model.dtype_bytes", p.model.dtype_bytes);
  r.get("model.max_model_len", p.model.max_model_len);
  r.get("engine.gpu_memory_utilization", p.engine.gpu_memory_utilization);
  r.get("engine.reserved_gib", p.engine.reserved_gib);
  r.get("engine.block_size", p.engine.block_size);
  r.get("engine.max_num_seqs", p.engine.max_num_seqs);
  r.get("engine.max_num_batched_tokens", p.engine.max_num_batched_tokens);
  r.get("cost.fixed_ms", p.cost.fixed_ms);
  r.get("cost.weight_factor", p.cost.weight_factor);
  r.get("cost.kv_factor", p.cost.kv_factor);
  r.get("cost.compute_factor", p.cost.compute_factor);
  r.get("cost.per_request_ms", p.cost.per_request_ms);
  r.get("cost.frontend_ms", p.cost.frontend_ms, false);
  r.get("host.bandwidth_gb_s", p.host.bandwidth_gb_s, false);
  r.get("host.latency_ms", p.host.latency_ms, false);
  r.get("host.kv_gib", p.host.kv_gib, false);
  r.get("emulator.output_tokens_p50", p.emulator.output_tokens_p50, false);
  r.get("emulator.output_tokens_p90", p.emulator.output_tokens_p90, false);
  r.refuse_unknown_keys();
  r.positive("gpu.memory_gib", p.gpu.memory_gib);
  r.positive("gpu.bandwidth_gb_s", p.gpu.bandwidth_gb_s);
  r.positive("gpu.bf16_tflops", p.gpu.bf16_tflops);
  r.positive("model.layers", p.model.layers);
  r.positive("model.kv_heads", p.model.kv_heads);
  r.positive("model.head_dim", p.model.head_dim);
  r.positive("model.params_b", p.model.params_b);
  r.positive("model.dtype_bytes", p.model.dtype_bytes);
  r.positive("model.max_model_len", p.model.max_model_len);
  r.positive("engine.gpu_memory_utilization", p.engine.gpu_memory_utilization);
  r.positive("engine.block_size", p.engine.block_size);
  r.positive("engine.max_num_seqs", p.engine.max_num_seqs);
  r.positive("engine.max_num_batched_tokens", p.engine.max_num_batched_tokens);
  r.non_negative("model.hidden", p.model.hidden);
  r.non_negative("model.attention_heads", p.model.attention_heads);
  r.non_negative("model.nonembedding_params_b", p.model.nonembedding_params_b);
  r.non_negative("engine.reserved_gib", p.engine.reserved_gib);
  r.non_negative("cost.fixed_ms", p.cost.fixed_ms);
  r.non_negative("cost.weight_factor", p.cost.weight_factor);
  r.non_negative("cost.kv_factor", p.cost.kv_factor);
  r.non_negative("cost.compute_factor", p.cost.compute_factor);
  r.non_negative("cost.per_request_ms", p.cost.per_request_ms);
  r.non_negative("cost.frontend_ms", p.cost.frontend_ms);
  r.non_negative("host.bandwidth_gb_s", p.host.bandwidth_gb_s);
  r.non_negative("host.latency_ms", p.host.latency_ms);
  r.non_negative("host.kv_gib", p.host.kv_gib);
  // The emulator draws output lengths from a log-normal through these two quantiles.
  r.positive("emulator.output_tokens_p50", p.emulator.output_tokens_p50);
  r.positive("emulator.output_tokens_p90", p.emulator.output_tokens_p90);
  if (!r.error().empty()) return make_error(r.error());
  if (p.engine.gpu_memory_utilization > 1.0)
    return make_error(fmt::format("{}: engine.gpu_memory_utilization must be at most 1", origin));
  if (p.kv_cache_bytes() / p.kv_bytes_per_block() > kMaxGpuBlocks)
    return make_error(
        fmt::format("{}: more than {:g} KV blocks: check gpu.memory_gib and the model dimensions",
                    origin, kMaxGpuBlocks));
  if (p.host.kv_gib > 0 && !(p.host.bandwidth_gb_s > 0))
    return make_error(fmt::format("{}: host.kv_gib needs host.bandwidth_gb_s", origin));
  if (p.num_gpu_blocks() < 2)
    return make_error(
        fmt::format("{}: no memory left for the KV cache ({:.2f} GiB after weights and reserve)",
                    origin, p.kv_cache_bytes() / (1024.0 * 1024.0 * 1024.0)));
  // emulator.output_tokens_* may exceed max_model_len (small test profiles do): the emulator
  // cuts every drawn length at the room left in the context before rounding it.
  if (const double t = longest_step_seconds(p); !std::isfinite(t))
    return make_error(fmt::format(
        "{}: the longest engine step would take {} s: check the cost.* coefficients and the "
        "gpu.* figures",
        origin, t));
  return p;
}

Result<Profile> load_profile(std::string_view name_or_path) {
  const bool is_path =
      name_or_path.find('/') != std::string_view::npos ||
      (name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".toml");
  if (!is_path) {
    for (const auto& entry : embedded_profiles())
      if (entry.name == name_or_path) return parse_profile(entry.toml, entry.name);
    std::string known;
    for (const auto& entry : embedded_profiles()) known += (known.empty() ? "" : ", ") + entry.name;
    return make_error(
        fmt::format("unknown profile '{}' (built-in profiles: {}; or give a path "
                    "to a .toml file)",
                    name_or_path, known));
  }
  std::ifstream in{std::string(name_or_path)};
  if (!in) return make_error(fmt::format("cannot read profile file '{}'", name_or_path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_profile(buffer.str(), name_or_path);
}

namespace {

// Pointer to the field a key names, with whether it holds an integer and whether zero is
// allowed; nullptr for an unknown key.
struct FieldRef {
  double* real = nullptr;
  int* integer = nullptr;
  bool zero_ok = false;
};

FieldRef field_of(Profile& p, std::string_view key) {
  if (key == "gpu.memory_gib") return {&p.gpu.memory_gib};
  if (key == "gpu.bandwidth_gb_s") return {&p.gpu.bandwidth_gb_s};
  if (key == "gpu.bf16_tflops") return {&p.gpu.bf16_tflops};
  if (key == "engine.gpu_memory_utilization") return {&p.engine.gpu_memory_utilization};
  if (key == "engine.reserved_gib") return {&p.engine.reserved_gib, nullptr, true};
  if (key == "engine.max_num_seqs") return {nullptr, &p.engine.max_num_seqs};
  if (key == "engine.max_num_batched_tokens") return {nullptr, &p.engine.max_num_batched_tokens};
  if (key == "cost.fixed_ms") return {&p.cost.fixed_ms, nullptr, true};
  if (key == "cost.weight_factor") return {&p.cost.weight_factor, nullptr, true};
  if (key == "cost.kv_factor") return {&p.cost.kv_factor, nullptr, true};
  if (key == "cost.compute_factor") return {&p.cost.compute_factor, nullptr, true};
  if (key == "cost.per_request_ms") return {&p.cost.per_request_ms, nullptr, true};
  if (key == "cost.frontend_ms") return {&p.cost.frontend_ms, nullptr, true};
  if (key == "host.bandwidth_gb_s") return {&p.host.bandwidth_gb_s};
  if (key == "host.latency_ms") return {&p.host.latency_ms, nullptr, true};
  if (key == "host.kv_gib") return {&p.host.kv_gib, nullptr, true};
  return {};
}

}  // namespace

std::vector<std::string> settable_profile_fields() {
  return {"gpu.memory_gib",
          "gpu.bandwidth_gb_s",
          "gpu.bf16_tflops",
          "engine.gpu_memory_utilization",
          "engine.reserved_gib",
          "engine.max_num_seqs",
          "engine.max_num_batched_tokens",
          "cost.fixed_ms",
          "cost.weight_factor",
          "cost.kv_factor",
          "cost.compute_factor",
          "cost.per_request_ms",
          "cost.frontend_ms",
          "host.bandwidth_gb_s",
          "host.latency_ms",
          "host.kv_gib"};
}

Result<double> get_profile_field(const Profile& profile, std::string_view key) {
  Profile copy = profile;
  const FieldRef ref = field_of(copy, key);
  if (ref.real) return *ref.real;
  if (ref.integer) return static_cast<double>(*ref.integer);
  return make_error(fmt::format("unknown profile field '{}'", key));
}

Status set_profile_field(Profile& p, std::string_view key, double value) {
  const FieldRef ref = field_of(p, key);
  if (!ref.real && !ref.integer) {
    std::string known;
    for (const auto& k : settable_profile_fields()) known += (known.empty() ? "" : ", ") + k;
    return make_error(fmt::format("unknown profile field '{}' (settable: {})", key, known));
  }
  if (!std::isfinite(value) || value < 0 || (value == 0 && !ref.zero_ok))
    return make_error(fmt::format("profile field '{}' must be {}, got {}", key,
                                  ref.zero_ok ? "at least 0" : "positive", value));
  if (key == "engine.gpu_memory_utilization" && value > 1.0)
    return make_error("profile field 'engine.gpu_memory_utilization' must be at most 1");
  Profile changed = p;
  FieldRef target = field_of(changed, key);
  if (target.integer) {
    if (value != std::floor(value) || value > 1e9)
      return make_error(fmt::format("profile field '{}' must be an integer, got {}", key, value));
    *target.integer = static_cast<int>(value);
  } else {
    *target.real = value;
  }
  if (changed.host.kv_gib > 0 && !(changed.host.bandwidth_gb_s > 0))
    return make_error(fmt::format(
        "profile field '{}' = {}: a host tier needs host.bandwidth_gb_s (the profile has none)",
        key, value));
  if (key == "host.kv_gib" && value > 1e6)
    return make_error(
        fmt::format("profile field 'host.kv_gib' = {} is more memory than any host", value));
  if (changed.num_gpu_blocks() < 2)
    return make_error(
        fmt::format("profile field '{}' = {} leaves no memory for the KV cache", key, value));
  if (!std::isfinite(longest_step_seconds(changed)))
    return make_error(
        fmt::format("profile field '{}' = {} makes the longest engine step infinite", key, value));
  p = changed;
  return Ok{};
}

std::vector<std::string> builtin_profile_names() {
  std::vector<std::string> names;
  for (const auto& entry : embedded_profiles()) names.push_back(entry.name);
  return names;
}

}  // namespace agentsched
