#pragma once
// A synthetic run folder in the reference formats, sized like a big real run: the driver
// log's line mix follows docs/reference-study.md section 3 (per task about 48 steps, 21 llm calls,
// 14 user-simulator calls, 8.5 expert calls, plus tool calls), the global log repeats its
// [PROFILE]/[USER_JUDGE] lines, and the KV CSV has a 5 s series with a busy middle and a
// near-idle tail.
#include <cstddef>
#include <filesystem>

namespace agentsched::bench {

struct SyntheticRunSize {
  std::size_t driver_lines = 0;
  std::size_t driver_bytes = 0;
  std::size_t global_bytes = 0;
  std::size_t kv_rows = 0;
  std::size_t tasks = 0;
};

// Writes driver.log, logs/tau2_global.log and kv_cache_timeseries.csv under `run_dir` with
// `driver_lines` lines in driver.log. Deterministic.
SyntheticRunSize write_synthetic_run(const std::filesystem::path& run_dir,
                                     std::size_t driver_lines);

}  // namespace agentsched::bench
