#pragma once
// agentsched/status.json: the live driver's heartbeat, rewritten (atomically) about once a
// second. It says what the programs in flight are waiting on, so `check` can tell a run
// that waits on slow remote calls from a dead one (docs/reference-study.md 7.3) without
// guessing from logs.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace agentsched {

struct WaitCount {
  long count = 0;
  double oldest_s = 0;  // emulated seconds the longest of them has waited
};

struct RunStatus {
  std::string state;  // running, done, interrupted
  long pid = 0;
  double updated_real_unix = 0;  // real time of this write
  double updated_unix = 0;       // emulated time of this write
  double time_scale = 1;
  double clock_origin_unix = 0;
  long finished = 0, ok = 0, errors = 0, total = 0;
  long retries = 0;
  // By what programs wait on: user, llm, expert, tool, backoff.
  std::map<std::string, WaitCount> waits;
  long remote_waits = 0;  // user-simulator and expert calls in flight
  double oldest_remote_wait_s = 0;
};

inline constexpr const char* kRunStatusFile = "agentsched/status.json";

// The JSON text of status.json (one line, no newline).
std::string format_run_status(const RunStatus& status);
// Writes <run_dir>/agentsched/status.json through a temporary file and a rename.
Status write_run_status(const std::filesystem::path& run_dir, const RunStatus& status);
// Every field is required and checked: state one of the three above, pid a positive process
// id, counts non-negative integers, times finite, time_scale positive, waits non-negative.
// Errors name the file and the key.
Result<RunStatus> parse_run_status(std::string_view json_text, std::string_view origin);
// Fails when the file is missing or invalid.
Result<RunStatus> read_run_status(const std::filesystem::path& run_dir);

}  // namespace agentsched
