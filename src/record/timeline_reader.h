#pragma once
// Reader of agentsched/timeline.csv, the per-call record a simulated run writes (one row per
// LLM call: when it left the client, was forwarded, first scheduled, gave its first token and
// finished; where its time went in the engine; its tokens). The one reader of the format:
// the fidelity report, request latencies and the live-vs-sim replay all use it. Columns are
// found by their header names; every row must have them all, as numbers.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace agentsched {

struct TimelineRow {
  std::string task;  // <domain>:<task_id>
  double submitted_s = 0, forwarded_s = 0, first_scheduled_s = 0, first_token_s = 0, finished_s = 0;
  double gateway_held_s = 0, engine_waiting_s = 0, prefill_s = 0, decode_s = 0;
  std::int64_t prompt_tokens = 0, cached_tokens = 0, computed_prompt_tokens = 0, output_tokens = 0,
               preemptions = 0;
};

// <run_dir>/agentsched/timeline.csv. Errors name the file, the line and the column.
Result<std::vector<TimelineRow>> read_timeline(const std::filesystem::path& run_dir);

}  // namespace agentsched
