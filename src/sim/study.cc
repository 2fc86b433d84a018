#include "sim/study.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "model/cost_model.h"
#include "workload/arrivals.h"
#include "workload/workload_stats.h"

namespace agentsched {

namespace {

struct Tau2Knob {
  std::string_view name;
  double Tau2Params::*field;
  std::string_view help;
};

const std::vector<Tau2Knob>& tau2_knobs() {
  static const std::vector<Tau2Knob> knobs = {
      {"wait-scale", &Tau2Params::wait_scale, "multiply tool, expert and user latencies"},
      {"turns-scale", &Tau2Params::turns_scale, "multiply agent turns per task"},
      {"output-scale", &Tau2Params::output_scale,
       "multiply every orchestrator output (capped at 8,000 tokens)"},
      {"tool-result-scale", &Tau2Params::tool_result_scale, "multiply every tool result"},
  };
  return knobs;
}

const Tau2Knob* find_tau2_knob(std::string_view name) {
  for (const auto& k : tau2_knobs())
    if (k.name == name) return &k;
  return nullptr;
}

Result<double> parse_number(std::string_view text, std::string_view what) {
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    return make_error(fmt::format("{}: '{}' is not a number", what, s));
  return v;
}

std::string fmt_value(double v) {
  return fmt::format("{:g}", v);
}

// The default of a policy parameter `name` (the first policy that has it), if any has it.
template <typename Infos>
std::optional<double> param_default(const Infos& infos, std::string_view name) {
  for (const auto& info : infos)
    for (const auto& [param, value, meaning] : info.params)
      if (param == name) return value;
  return std::nullopt;
}

// The knobs that set a policy parameter: param.NAME for the gateway's policy, engine-param.NAME
// for the engine's.
struct PolicyParamKnob {
  std::string_view prefix;
  std::string_view policy;  // whose
  NamedParams StudyConfig::*params;
  std::optional<double> (*default_of)(std::string_view param);

  std::string no_such_param(std::string_view knob, std::string_view param) const {
    return fmt::format("{}: no {} policy has a parameter '{}'", knob, policy, param);
  }
};

const PolicyParamKnob kPolicyParamKnobs[] = {
    {"param.", "gateway", &StudyConfig::gateway_params,
     [](std::string_view param) { return param_default(gateway_policy_infos(), param); }},
    {"engine-param.", "engine", &StudyConfig::engine_params,
     [](std::string_view param) { return param_default(engine_policy_infos(), param); }},
};

const PolicyParamKnob* find_policy_param_knob(std::string_view name) {
  for (const auto& k : kPolicyParamKnobs)
    if (name.starts_with(k.prefix)) return &k;
  return nullptr;
}

// Merges `knobs` into the parameters of a system whose policy has those names.
template <typename Infos>
NamedParams applicable(const NamedParams& knobs, const Infos& infos, const std::string& policy) {
  NamedParams out;
  for (const auto& info : infos) {
    if (info.name != policy) continue;
    for (const auto& [param, value, meaning] : info.params)
      if (auto it = knobs.find(param); it != knobs.end()) out[param] = it->second;
  }
  return out;
}

}  // namespace

std::vector<KnobInfo> knob_infos() {
  std::vector<KnobInfo> out = {
      {"kv-blocks", "KV capacity in blocks (0: derived from the profile's memory fields)"},
      {"shared-heads", "1: a domain's programs share their prompt head's cached blocks; 0: not"},
      {"arrival-rate",
       "open loop: programs arrive by a Poisson process at this rate per second, however many "
       "are in flight (0: closed loop, C at a time)"},
      {"host-kv-gib",
       "host-memory KV tier in GiB (0: off): blocks the GPU evicts are kept there and loaded "
       "back over the profile's host link (sets the profile's host.kv_gib)"},
      {"call-timeout",
       "the client's budget per LLM call in seconds, after which its task ends as an error (0: "
       "none)"},
  };
  for (const auto& k : tau2_knobs()) out.push_back({std::string(k.name), std::string(k.help)});
  out.push_back({"param.NAME",
                 "a gateway policy parameter, for the systems whose policy has it (e.g. "
                 "param.token_capacity)"});
  out.push_back({"engine-param.NAME",
                 "an engine policy parameter, for the systems whose engine policy has it (e.g. "
                 "engine-param.beta)"});
  for (const auto& f : settable_profile_fields()) out.push_back({f, "profile field (TOML path)"});
  return out;
}

Status set_knob(StudyConfig& c, std::string_view name, double value) {
  if (!std::isfinite(value)) return make_error(fmt::format("{}: value must be finite", name));
  if (name == "kv-blocks") {
    if (value < 0 || value != std::floor(value) || value == 1 || value > 1e8)
      return make_error(
          fmt::format("kv-blocks must be 0 (derived) or a whole number of at least 2, got {}",
                      fmt_value(value)));
    c.kv_blocks = static_cast<std::int64_t>(value);
    return Ok{};
  }
  if (name == "shared-heads") {
    if (value != 0 && value != 1)
      return make_error(fmt::format("shared-heads must be 0 or 1, got {}", fmt_value(value)));
    c.share_heads = value == 1;
    return Ok{};
  }
  if (name == "arrival-rate") {
    if (value < 0)
      return make_error(
          fmt::format("arrival-rate must be >= 0 per second, got {}", fmt_value(value)));
    c.arrival_rate = value;
    return Ok{};
  }
  if (name == "host-kv-gib") return set_profile_field(c.profile, "host.kv_gib", value);
  if (name == "call-timeout") {
    if (value < 0)
      return make_error(fmt::format("call-timeout must be >= 0 seconds, got {}", fmt_value(value)));
    c.call_timeout_s = value;
    return Ok{};
  }
  if (const Tau2Knob* k = find_tau2_knob(name)) {
    if (c.workload != "tau2")
      return make_error(fmt::format("{} applies to --workload tau2 only", name));
    if (!(value > 0))
      return make_error(fmt::format("{} must be positive, got {}", name, fmt_value(value)));
    c.tau2.*(k->field) = value;
    return Ok{};
  }
  if (const PolicyParamKnob* k = find_policy_param_knob(name)) {
    const std::string param(name.substr(k->prefix.size()));
    if (!k->default_of(param)) return make_error(k->no_such_param(name, param));
    (c.*(k->params))[param] = value;
    return Ok{};
  }
  if (name.find('.') != std::string_view::npos) return set_profile_field(c.profile, name, value);
  std::string known;
  for (const auto& k : knob_infos()) known += (known.empty() ? "" : ", ") + k.name;
  return make_error(fmt::format("unknown knob '{}' (known: {})", name, known));
}

Result<double> knob_value(const StudyConfig& c, std::string_view name) {
  if (name == "kv-blocks")
    return static_cast<double>(c.kv_blocks > 0 ? c.kv_blocks : c.profile.num_gpu_blocks());
  if (name == "shared-heads") return c.share_heads ? 1.0 : 0.0;
  if (name == "call-timeout") return c.call_timeout_s;
  if (name == "host-kv-gib") return c.profile.host.kv_gib;
  if (name == "arrival-rate") return c.arrival_rate;
  if (const Tau2Knob* k = find_tau2_knob(name)) return c.tau2.*(k->field);
  if (const PolicyParamKnob* k = find_policy_param_knob(name)) {
    const std::string param(name.substr(k->prefix.size()));
    const NamedParams& given = c.*(k->params);
    if (auto it = given.find(param); it != given.end()) return it->second;
    if (auto d = k->default_of(param)) return *d;
    return make_error(k->no_such_param(name, param));
  }
  return get_profile_field(c.profile, name);
}

Result<std::pair<std::string, double>> parse_knob_setting(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return make_error(fmt::format("'{}': expected name=value", text));
  auto v = parse_number(text.substr(eq + 1), text.substr(0, eq));
  if (!v) return v.error();
  return std::pair{std::string(text.substr(0, eq)), *v};
}

Result<SweepAxis> parse_sweep_axis(std::string_view text, const StudyConfig& config) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return make_error(fmt::format("'{}': expected name=value1,value2,...", text));
  SweepAxis axis;
  axis.knob = std::string(text.substr(0, eq));
  std::string_view rest = text.substr(eq + 1);
  while (true) {
    const auto comma = rest.find(',');
    auto v = parse_number(rest.substr(0, comma), axis.knob);
    if (!v) return v.error();
    StudyConfig probe = config;
    if (auto st = set_knob(probe, axis.knob, *v); !st) return st.error();
    if (std::find(axis.values.begin(), axis.values.end(), *v) != axis.values.end())
      return make_error(fmt::format("{}: value {} given twice", axis.knob, fmt_value(*v)));
    axis.values.push_back(*v);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return axis;
}

Result<MatrixOptions> matrix_options(const StudyConfig& config, const StudyMatrix& m,
                                     const std::filesystem::path& out) {
  if (m.systems.empty()) return make_error("a study needs at least one system");
  if (m.concurrency.empty()) return make_error("a study needs at least one concurrency");
  if (m.seeds.empty()) return make_error("a study needs at least one seed");
  if (config.workload != "tau2" && m.seeds.size() > 1)
    return make_error("--seeds: a trace workload is one fixed workload; give one seed");
  MatrixOptions o;
  o.systems = m.systems;
  for (SystemSpec& s : o.systems) {
    // Policy-parameter knobs reach the systems whose policies have them, validated there.
    for (const auto& [k, v] :
         applicable(config.gateway_params, gateway_policy_infos(), s.gateway_policy))
      s.gateway_params[k] = v;
    for (const auto& [k, v] :
         applicable(config.engine_params, engine_policy_infos(), s.engine_policy))
      s.engine_params[k] = v;
    if (auto p = make_gateway_policy(s.gateway_policy, s.gateway_params); !p)
      return make_error(fmt::format("{}: {}", s.name, p.error().message));
    if (auto p = make_engine_policy(s.engine_policy, s.engine_params); !p)
      return make_error(fmt::format("{}: {}", s.name, p.error().message));
  }
  o.concurrency = m.concurrency;
  for (std::uint64_t seed : m.seeds) {
    auto w = load_workload(config.workload, seed, config.tau2);
    if (!w) return w.error();
    if (config.arrival_rate > 0)
      if (auto st = assign_arrivals(*w, {ArrivalStage{config.arrival_rate}}, seed); !st)
        return st.error();
    o.workloads.push_back(std::make_shared<const Workload>(std::move(*w)));
  }
  o.base.profile = config.profile;
  o.base.num_gpu_blocks_override = config.kv_blocks;
  o.base.share_heads = config.share_heads;
  o.base.call_timeout_s = config.call_timeout_s;
  o.base.overwrite = m.overwrite;
  o.out = out;
  o.jobs = m.jobs;
  o.progress = m.progress;
  return o;
}

Result<std::vector<SweepPoint>> run_sweep(const StudyConfig& base, const SweepAxis& axis,
                                          const StudyMatrix& m, const std::filesystem::path& out) {
  std::vector<SweepPoint> points;
  for (double value : axis.values) {
    StudyConfig config = base;
    if (auto st = set_knob(config, axis.knob, value); !st) return st.error();
    SweepPoint p;
    p.value = value;
    p.label = fmt::format("{}={}", axis.knob, fmt_value(value));
    p.dir = out / p.label;
    std::error_code ec;
    std::filesystem::create_directories(p.dir, ec);
    if (ec) return make_error(fmt::format("cannot create '{}': {}", p.dir.string(), ec.message()));
    auto o = matrix_options(config, m, p.dir);
    if (!o) return o.error();
    p.cells = run_matrix(*o);
    points.push_back(std::move(p));
  }
  return points;
}

std::vector<CalibrationRow> describe_calibration(const StudyConfig& c) {
  std::vector<CalibrationRow> rows;
  const Profile& p = c.profile;
  auto add = [&](std::string group, std::string parameter, std::string value, std::string basis) {
    rows.push_back({std::move(group), std::move(parameter), std::move(value), std::move(basis)});
  };
  const std::string hw = fmt::format("profile `{}`", p.name);
  add(hw, "GPU",
      fmt::format("{} GiB, {:g} GB/s, {:g} dense bf16 TFLOP/s", p.gpu.memory_gib,
                  p.gpu.bandwidth_gb_s, p.gpu.bf16_tflops),
      "RTX 5090 datasheet (docs/reference-study.md section 8)");
  const std::int64_t blocks = c.kv_blocks > 0 ? c.kv_blocks : p.num_gpu_blocks();
  add(hw, "KV capacity",
      fmt::format("{} blocks ({}k tokens){}", blocks, blocks * p.engine.block_size / 1000,
                  c.kv_blocks > 0 ? " (overridden)" : ""),
      fmt::format("memory arithmetic: {:g} GiB x {:g} - {:.2f} GiB of weights - {:g} GiB of "
                  "activations, sampler and non-torch memory, in blocks of {:.2f} MiB; the "
                  "reference derives 5,900-6,450",
                  p.gpu.memory_gib, p.engine.gpu_memory_utilization,
                  p.weight_bytes() / (1024.0 * 1024 * 1024), p.engine.reserved_gib,
                  p.kv_bytes_per_block() / (1024.0 * 1024)));
  add(hw, "scheduler limits",
      fmt::format("max_num_batched_tokens {}, max_num_seqs {}", p.engine.max_num_batched_tokens,
                  p.engine.max_num_seqs),
      "vLLM 0.9.2 defaults on a GPU under 70 GiB");
  const CostModel cost(p);
  BatchShape one, eight, chunk;
  one.add(10000, 1);
  for (int i = 0; i < 8; ++i) eight.add(10000, 1);
  chunk.add(8000, p.engine.max_num_batched_tokens);
  std::string anchor = "the H100 profile is not built in";
  if (auto h100 = load_profile("h100-qwen3-8b")) {
    h100->cost = p.cost;
    BatchShape four;
    for (int i = 0; i < 4; ++i) four.add(1000, 1);
    anchor = fmt::format("{:.2f} ms", CostModel(*h100).step_seconds(four) * 1e3);
  }
  add(hw, "decode step",
      fmt::format("fixed {:g} ms, weight factor {:g}, KV factor {:g}: {:.1f} ms for one request "
                  "at 10k tokens of context, {:.1f} ms for eight",
                  p.cost.fixed_ms, p.cost.weight_factor, p.cost.kv_factor,
                  cost.step_seconds(one) * 1e3, cost.step_seconds(eight) * 1e3),
      fmt::format("roofline over the weight and KV reads at {:.0f}% of peak bandwidth plus the CPU "
                  "side of a step; anchored on the measured H100 point (4 concurrent: 7.4 ms a "
                  "token; the same coefficients on the H100 give {}); a request spends {:g} ms "
                  "in the API server before the scheduler sees it (docs/open-loop.md)",
                  100 / std::max(p.cost.weight_factor, 1e-9), anchor, p.cost.frontend_ms));
  add(hw, "prefill",
      fmt::format("compute factor {:g}: a {}-token chunk at 8k tokens of context takes {:.0f} ms "
                  "({:.1f}k tokens/s)",
                  p.cost.compute_factor, p.engine.max_num_batched_tokens,
                  cost.step_seconds(chunk) * 1e3,
                  p.engine.max_num_batched_tokens / cost.step_seconds(chunk) / 1e3),
      fmt::format("roofline over 2 x {:g} B linear FLOPs and the attention FLOPs per token at "
                  "{:.0f}% of the dense bf16 peak: large GEMMs ~90%, FlashAttention ~65%, "
                  "weighted by the FLOP mix of a chunk; the linear layers' weight read is hidden "
                  "under their compute",
                  p.model.nonembedding_params_b, 100 / std::max(p.cost.compute_factor, 1e-9)));

  if (c.workload != "tau2") {
    add("workload", "trace", c.workload, "given with --workload");
  } else if (auto w = generate_tau2(c.tau2, 1)) {
    const WorkloadStats s = compute_stats(*w);
    const std::string wl = "workload `tau2`";
    add(wl, "tasks", "278: retail 114, telecom 114, airline 50, round-robin",
        "docs/reference-study.md section 2");
    add(wl, "per task",
        fmt::format("{:.1f} steps, {:.1f} LLM calls, {:.1f} user-simulator calls, {:.1f} expert "
                    "calls (seed 1)",
                    s.steps_per_task, s.llm_calls_per_task, s.user_calls_per_task,
                    s.expert_calls_per_task),
        "docs/reference-study.md section 3: ~48 steps, ~21 calls, ~14 user, ~8.5 expert; steps are "
        "1 + 2 x calls in tau2's turn structure, so matching the steps gives ~23 calls");
    add(wl, "user, expert and tool latencies",
        fmt::format("user simulator mean {:.1f} s, p50 {:.1f} s", s.user_latency_ms.mean / 1e3,
                    s.user_latency_ms.p50 / 1e3),
        "inverse-CDF sampling through the reference's p10/p50/p90/p99/max (docs/reference-study.md "
        "section 3), log-linear between points");
    add(wl, "orchestrator output",
        fmt::format(
            "p10 {:.0f}, p50 {:.0f}, p90 {:.0f}, p99 {:.0f}, max {:.0f}, mean {:.0f} tokens",
            s.output_tokens.p10, s.output_tokens.p50, s.output_tokens.p90, s.output_tokens.p99,
            s.output_tokens.max, s.output_tokens.mean),
        "shape from the reference's call-latency quantiles; median such that the simulated "
        "baseline at C = 32 has the reference's decode p50 of 3,050 ms (checked below)");
    double turns = 0, growth = 0;
    for (const auto& prog : w->programs) {
      for (std::size_t k = 0; k < prog.turns.size(); ++k) {
        growth += prog.turns[k].visible_tokens + (k > 0 ? prog.turns[k].new_tokens : 0);
        turns += 1;
      }
    }
    add(wl, "prompts",
        fmt::format(
            "heads {} tokens; {:.0f} tokens a turn; p50 {:.0f}, mean {:.0f} at the calls; "
            "{:.1f}% cut at {}",
            [&] {
              std::string h;
              for (const auto& d : c.tau2.domains)
                h += (h.empty() ? "" : " / ") + fmt::format("{}", d.head_tokens);
              return h;
            }(),
            turns > 0 ? growth / turns : 0.0, s.prompt_tokens.p50, s.prompt_tokens.mean,
            100 * s.calls_with_cut_share, c.tau2.prompt_cap_tokens),
        "heads from the fixture's first retail and second telecom calls; growth from tau2's "
        "tool results (JSON records, median 250 tokens) and messages; the driver's 23k cut");
  }
  add("simulator", "prompt heads",
      c.share_heads ? "shared by a domain's programs" : "distinct per program",
      "vLLM's prefix cache is content-addressed and every task of a tau2 domain opens with the "
      "same system prompt, policy and tool schemas");
  add("simulator", "systems", "baseline, continuum and thunderreact share everything above",
      "no per-system factor");
  return rows;
}

}  // namespace agentsched
