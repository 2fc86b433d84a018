#pragma once
// agentsched/timeline.csv, the per-call record of a run: one row per LLM (orchestrator) call
// that got its answer -- when it left the client, was forwarded by the gateway, was first
// scheduled, gave its first token and finished (seconds since the run's start); where its
// time went in the engine; its tokens. One schema for simulated and live runs, so their calls
// compare directly: `sim` fills every column; a live run (`drive`) fills what a client sees
// (task, step, submitted_s, finished_s and the tokens of the reply's usage) and leaves the
// rest empty. The writer and the one reader of the format (the fidelity report, request
// latencies, the live-vs-sim replay) live here, over one column list.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace agentsched {

// Unknown values: NaN for times, -1 for counts; written as empty cells.
struct TimelineRow {
  std::string task;  // <domain>:<task_id>
  std::int64_t step = 0;
  std::int64_t backend = -1;
  double submitted_s = NAN, forwarded_s = NAN, first_scheduled_s = NAN, first_token_s = NAN,
         finished_s = NAN;
  double gateway_held_s = NAN, engine_waiting_s = NAN, prefill_s = NAN, decode_s = NAN;
  std::int64_t prompt_tokens = -1, cached_tokens = -1, computed_prompt_tokens = -1,
               output_tokens = -1, preemptions = -1;
};

// <run_dir>/agentsched/timeline.csv
std::filesystem::path timeline_path(const std::filesystem::path& run_dir);

class TimelineWriter {
 public:
  // Creates (truncates) the file and writes the header.
  static Result<std::unique_ptr<TimelineWriter>> create(const std::filesystem::path& run_dir);
  ~TimelineWriter();
  TimelineWriter(const TimelineWriter&) = delete;
  TimelineWriter& operator=(const TimelineWriter&) = delete;

  // Times with 3 decimals, counts as integers, unknown values as empty cells.
  void write(const TimelineRow& row);
  // Flushes what was written (live runs do so periodically); reports the first write error.
  Status flush();
  // Flushes and closes; reports the first write error seen.
  Status close();

 private:
  explicit TimelineWriter(std::filesystem::path path, std::FILE* file);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::string line_;
  bool failed_ = false;
};

// Reads <run_dir>/agentsched/timeline.csv. Columns are found by their header names; every
// row must have them all, as numbers or empty (unknown). Errors name the file, the line and
// the column.
Result<std::vector<TimelineRow>> read_timeline(const std::filesystem::path& run_dir);

}  // namespace agentsched
