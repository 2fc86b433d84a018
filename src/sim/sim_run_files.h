#pragma once
// A simulated run's config.json and summary.json (record/run_config.h: the one schema of sim
// and live runs), filled from the run's options, its first engine (KV and host-tier sizes),
// its result and its gateway policy's counters.
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "engine/engine_model.h"
#include "sim/simulation.h"

namespace agentsched {

Status write_sim_run_files(const SimOptions& options, const EngineModel& engine, long programs,
                           const SimResult& result,
                           const std::vector<std::pair<std::string, double>>& gateway_counters);

}  // namespace agentsched
