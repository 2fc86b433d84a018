#include "sim/limit.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "workload/workload_stats.h"

namespace agentsched {

std::int64_t ceiling_kv_blocks(const Workload& workload, int concurrency, std::int32_t block_size) {
  std::int64_t largest_call = 0;  // tokens
  std::set<std::pair<std::string, std::int32_t>> heads;
  std::int64_t head_blocks = 0;
  for (const auto& program : workload.programs) {
    std::int64_t context = program.head_tokens;
    for (const auto& turn : program.turns) {
      context += turn.new_tokens + turn.visible_tokens + turn.output_tokens;
      const std::int64_t prompt =
          std::min<std::int64_t>(context - turn.output_tokens, workload.prompt_cap_tokens);
      largest_call = std::max(largest_call, prompt + turn.output_tokens);
    }
    // Shared heads count once; a workload without sharing pays every head inside the programs'
    // own context, already counted above.
    if (heads.insert({program.domain, program.head_tokens}).second)
      head_blocks += program.head_tokens / block_size + 1;
  }
  const std::int64_t per_program = largest_call / block_size + 2;  // partial block, null block
  return 2 * static_cast<std::int64_t>(concurrency) * per_program + head_blocks;
}

std::size_t limit_run_count(const LimitPlan& p) {
  return (p.caps.size() + 1 + p.systems.size()) * p.concurrency.size() * p.seeds.size();
}

std::size_t LimitRuns::total_runs() const {
  std::size_t n = ceiling.size() + systems.size();
  for (const auto& [cap, cells] : caps) n += cells.size();
  return n;
}

namespace {

Status make_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(fmt::format("cannot create '{}': {}", dir.string(), ec.message()));
  return Ok{};
}

Result<std::vector<MatrixCellOutcome>> run_part(const StudyConfig& config, const LimitPlan& plan,
                                                std::vector<SystemSpec> systems,
                                                const std::filesystem::path& dir) {
  if (auto st = make_dir(dir); !st) return st.error();
  StudyMatrix m;
  m.systems = std::move(systems);
  m.concurrency = plan.concurrency;
  m.seeds = plan.seeds;
  m.jobs = plan.jobs;
  m.overwrite = plan.overwrite;
  m.progress = plan.progress;
  auto o = matrix_options(config, m, dir);
  if (!o) return o.error();
  o->base.max_programs = plan.max_programs;
  return run_matrix(*o);
}

}  // namespace

Result<LimitRuns> run_limit(const LimitPlan& plan, const std::filesystem::path& out) {
  if (plan.caps.empty()) return make_error("--caps: give at least one cap");
  if (plan.concurrency.empty()) return make_error("a limit study needs at least one concurrency");
  for (int cap : plan.caps)
    if (cap < 1) return make_error(fmt::format("--caps: cap {} must be at least 1", cap));
  auto cap_system = find_system("cap");
  if (!cap_system) return cap_system.error();
  auto baseline = find_system("baseline");
  if (!baseline) return baseline.error();

  LimitRuns runs;
  for (int cap : plan.caps) {
    SystemSpec s = *cap_system;
    s.gateway_params["cap"] = cap;
    auto cells = run_part(plan.config, plan, {s}, out / fmt::format("cap={}", cap));
    if (!cells) return cells.error();
    runs.caps.emplace_back(cap, std::move(*cells));
  }

  // One KV size for every C and seed of the ceiling: enough for the largest C and the hungriest
  // seed. More blocks than needed change nothing for a run that never fills.
  StudyConfig ceiling = plan.config;
  const int largest_c = *std::max_element(plan.concurrency.begin(), plan.concurrency.end());
  for (std::uint64_t seed : plan.seeds) {
    auto w = load_workload(plan.config.workload, seed, plan.config.tau2);
    if (!w) return w.error();
    runs.ceiling_blocks =
        std::max(runs.ceiling_blocks,
                 ceiling_kv_blocks(*w, largest_c, plan.config.profile.engine.block_size));
  }
  ceiling.kv_blocks = std::max(runs.ceiling_blocks, plan.config.profile.num_gpu_blocks());
  runs.ceiling_blocks = ceiling.kv_blocks;
  auto ceiling_cells = run_part(ceiling, plan, {*baseline}, out / "ceiling");
  if (!ceiling_cells) return ceiling_cells.error();
  runs.ceiling = std::move(*ceiling_cells);

  if (!plan.systems.empty()) {
    auto cells = run_part(plan.config, plan, plan.systems, out / "systems");
    if (!cells) return cells.error();
    runs.systems = std::move(*cells);
  }
  return runs;
}

}  // namespace agentsched
