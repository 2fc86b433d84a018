#pragma once
// `sim limit`: two reference lines for a workload at each concurrency C.
//  - The admission bound: system `cap` (fcfs engine, gateway admitting at most `cap` programs
//    per backend, FIFO) swept over cap values; the best cap in hindsight is the best an
//    admission-only policy can do on stock vLLM.
//  - The ceiling: system `baseline` on an engine whose KV never runs out, limited by compute
//    alone: no scheduler on this GPU beats it.
// Plus the given systems, for comparison. This file runs the simulations; the report comes
// from the run folders (analysis/limit_report.h).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "core/result.h"
#include "sim/matrix.h"
#include "sim/study.h"

namespace agentsched {

// KV blocks enough that nothing is evicted at concurrency C: twice C times the largest context
// any call of the workload can reach (its prompt, bounded by the prompt cap, plus its output),
// plus every program's head. Running requests then hold at most half the blocks, so the cached
// prefixes of programs between calls are not crowded out either.
std::int64_t ceiling_kv_blocks(const Workload& workload, int concurrency, std::int32_t block_size);

struct LimitPlan {
  StudyConfig config;
  std::vector<int> concurrency;
  std::vector<std::uint64_t> seeds;
  std::vector<int> caps;
  std::vector<SystemSpec> systems;  // compared against both lines
  int max_programs = 0;             // 0: the whole workload
  int jobs = 0;
  bool overwrite = false;
  std::function<void(const MatrixCell&, bool done, long finished, long total)> progress;
};

struct LimitRuns {
  // Per cap value, in the plan's order: runs of system `cap` in <out>/cap=<N>/.
  std::vector<std::pair<int, std::vector<MatrixCellOutcome>>> caps;
  std::vector<MatrixCellOutcome> ceiling;  // <out>/ceiling/
  std::int64_t ceiling_blocks = 0;
  std::vector<MatrixCellOutcome> systems;  // <out>/systems/
  std::size_t total_runs() const;
};

// Cells in all: caps x C x seeds + C x seeds + systems x C x seeds.
std::size_t limit_run_count(const LimitPlan& plan);

Result<LimitRuns> run_limit(const LimitPlan& plan, const std::filesystem::path& out);

}  // namespace agentsched
