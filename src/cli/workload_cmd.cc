// `agentsched workload gen|show`
#include <fmt/format.h>

#include <filesystem>

#include "cli/command_registry.h"
#include "workload/arrivals.h"
#include "workload/shared_prefix.h"
#include "workload/trace.h"
#include "workload/workload_stats.h"

namespace agentsched::cli {
namespace {

struct GenOptions {
  std::uint64_t seed = 1;
  std::string out;
  std::string kind = "tau2";
  double turns_scale = 1.0;
  double wait_scale = 1.0;
  SharedPrefixParams shared_prefix;
  std::string stages = "8:600,20:600";
};

void print_distribution(std::string_view label, const Distribution& d, std::string_view unit) {
  fmt::print(
      "  {:<34} n={:<6} mean={:<10.1f} p10={:<9.1f} p50={:<9.1f} p90={:<9.1f} p99={:<10.1f} "
      "max={:.1f} {}\n",
      label, d.n, d.mean, d.p10, d.p50, d.p90, d.p99, d.max, unit);
}

void show(const std::string& spec, std::uint64_t seed, double turns_scale, double wait_scale) {
  Tau2Params params;
  params.turns_scale = turns_scale;
  params.wait_scale = wait_scale;
  auto w = load_workload(spec, seed, params);
  if (!w) throw CommandFailure{w.error().message};
  const WorkloadStats s = compute_stats(*w);
  fmt::print("workload {} (seed {}): {} programs", w->name, w->seed, s.programs);
  for (const auto& [domain, n] : s.programs_per_domain) fmt::print(", {} {}", domain, n);
  fmt::print(
      "\nper task (reference: steps ~48, LLM calls ~21, user calls ~14, expert calls ~8.5)\n");
  fmt::print(
      "  steps {:.1f}, LLM calls {:.1f}, user-simulator calls {:.1f}, expert calls {:.1f}, "
      "tool calls {:.1f}\n",
      s.steps_per_task, s.llm_calls_per_task, s.user_calls_per_task, s.expert_calls_per_task,
      s.tool_calls_per_task);
  fmt::print("  tasks that end in a permanent expert failure: {}\n", s.failing_tasks);
  fmt::print("latencies\n");
  print_distribution("user simulator", s.user_latency_ms, "ms");
  for (const auto& [model, d] : s.expert_latency_ms)
    print_distribution(fmt::format("expert {} ({:.0f}%)", model, 100 * s.expert_share.at(model)), d,
                       "ms");
  fmt::print("tokens\n");
  print_distribution("orchestrator output", s.output_tokens, "tokens");
  print_distribution("orchestrator prompt", s.prompt_tokens, "tokens");
  fmt::print("  calls whose prompt was cut at the {}-token cap: {:.1f}%\n", w->prompt_cap_tokens,
             100 * s.calls_with_cut_share);
}

const RegisterCommand registration(30, [](CLI::App& root) {
  auto* cmd = root.add_subcommand("workload", "Generate and inspect workload traces");
  cmd->require_subcommand(1);

  auto gen_opts = std::make_shared<GenOptions>();
  auto* gen =
      cmd->add_subcommand("gen",
                          "Generate a workload as a JSONL trace: the tau2 programs (278 agentic "
                          "tasks) or shared-prefix requests arriving open-loop");
  gen->add_option("--kind", gen_opts->kind,
                  "tau2: the agentic tasks of the reference study; shared-prefix: G groups x U "
                  "users, each group a shared system prompt, each user a fixed question, "
                  "single-turn requests cycling through the G x U prompts")
      ->capture_default_str()
      ->check(CLI::IsMember({"tau2", "shared-prefix"}));
  gen->add_option("--seed", gen_opts->seed, "Random seed")->capture_default_str();
  gen->add_option("--out", gen_opts->out, "Output trace file (JSONL)")->required();
  gen->add_option("--turns-scale", gen_opts->turns_scale,
                  "Multiply the number of agent turns per task (e.g. 2)")
      ->capture_default_str();
  gen->add_option("--wait-scale", gen_opts->wait_scale,
                  "Multiply tool, expert and user latencies (e.g. 0.25 for 4x shorter waits)")
      ->capture_default_str();
  SharedPrefixParams& sp = gen_opts->shared_prefix;
  gen->add_option("--groups", sp.groups, "shared-prefix: groups (G)")->capture_default_str();
  gen->add_option("--users", sp.users, "shared-prefix: users per group (U)")->capture_default_str();
  gen->add_option("--system", sp.system_tokens, "shared-prefix: system prompt tokens (S)")
      ->capture_default_str();
  gen->add_option("--question", sp.question_tokens, "shared-prefix: question tokens (Q)")
      ->capture_default_str();
  gen->add_option("--output", sp.output_tokens, "shared-prefix: output tokens per request (O)")
      ->capture_default_str();
  gen->add_option("--early-stop-share", sp.early_stop_share,
                  "shared-prefix: share of answers that end early, at a uniform length below O "
                  "(0: all run to O)")
      ->capture_default_str();
  gen->add_option("--stages", gen_opts->stages,
                  "shared-prefix: Poisson arrival stages RATE:SECONDS,... (requests per second)")
      ->capture_default_str();
  gen->callback([gen, gen_opts] {
    const bool tau2 = gen_opts->kind == "tau2";
    for (const char* name :
         {"--groups", "--users", "--system", "--question", "--output", "--stages"})
      if (tau2 && gen->count(name))
        throw usage_error(fmt::format("{} applies to --kind shared-prefix", name));
    for (const char* name : {"--turns-scale", "--wait-scale"})
      if (!tau2 && gen->count(name))
        throw usage_error(fmt::format("{} applies to --kind tau2", name));
    Result<Workload> w = make_error("no workload");
    if (tau2) {
      Tau2Params params;
      params.turns_scale = gen_opts->turns_scale;
      params.wait_scale = gen_opts->wait_scale;
      w = generate_tau2(params, gen_opts->seed);
    } else {
      auto stages = parse_arrival_stages(gen_opts->stages);
      if (!stages) throw usage_error("--stages: " + stages.error().message);
      SharedPrefixParams params = gen_opts->shared_prefix;
      params.stages = *stages;
      w = generate_shared_prefix(params, gen_opts->seed);
    }
    if (!w) throw CommandFailure{w.error().message};
    const std::filesystem::path out(gen_opts->out);
    const std::filesystem::path tmp = out.string() + ".partial";
    if (auto st = write_trace_file(*w, tmp); !st) throw CommandFailure{st.error().message};
    std::error_code ec;
    std::filesystem::rename(tmp, out, ec);
    if (ec) throw CommandFailure{fmt::format("cannot write '{}': {}", out.string(), ec.message())};
    fmt::print("wrote {} programs to {}\n", w->programs.size(), out.string());
  });

  auto show_spec = std::make_shared<std::string>("tau2");
  auto show_opts = std::make_shared<GenOptions>();
  auto* show_cmd = cmd->add_subcommand(
      "show", "Summary statistics of a workload (a trace file, or 'tau2' for the built-in one)");
  show_cmd->add_option("workload", *show_spec, "Trace file or 'tau2'")->capture_default_str();
  show_cmd->add_option("--seed", show_opts->seed, "Seed for the built-in workload")
      ->capture_default_str();
  show_cmd->add_option("--turns-scale", show_opts->turns_scale, "As for gen")
      ->capture_default_str();
  show_cmd->add_option("--wait-scale", show_opts->wait_scale, "As for gen")->capture_default_str();
  show_cmd->callback([show_spec, show_opts] {
    show(*show_spec, show_opts->seed, show_opts->turns_scale, show_opts->wait_scale);
  });
});

}  // namespace
}  // namespace agentsched::cli
