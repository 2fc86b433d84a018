#pragma once
// Summary statistics of a workload, to compare with docs/reference-study.md section 3.
#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "workload/program_script.h"
#include "workload/tau2_generator.h"

namespace agentsched {

struct Distribution {
  std::size_t n = 0;
  double mean = 0, p10 = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
Distribution summarize(std::vector<double> values);

struct WorkloadStats {
  std::size_t programs = 0;
  std::map<std::string, std::size_t> programs_per_domain;
  double steps_per_task = 0;
  double llm_calls_per_task = 0;
  double user_calls_per_task = 0;
  double expert_calls_per_task = 0;
  double tool_calls_per_task = 0;
  std::size_t failing_tasks = 0;
  std::map<std::string, double> expert_share;  // by model
  Distribution user_latency_ms;
  std::map<std::string, Distribution> expert_latency_ms;
  Distribution output_tokens;
  Distribution prompt_tokens;       // at every call, after cuts
  double calls_with_cut_share = 0;  // calls whose prompt was cut
};

WorkloadStats compute_stats(const Workload& w, int block_size = 16);

// "tau2" (the built-in generator with `params` and `seed`) or a path to a JSONL trace.
Result<Workload> load_workload(const std::string& spec, std::uint64_t seed,
                               const Tau2Params& params = {});

}  // namespace agentsched
