#pragma once
// Paths inside a run folder (docs/design.md, "Run folders"), shared by writers and readers.
#include <filesystem>

namespace agentsched::run_layout {

inline constexpr const char* kDriverLog = "driver.log";
inline constexpr const char* kGlobalLog = "logs/tau2_global.log";
inline constexpr const char* kKvCsv = "kv_cache_timeseries.csv";
inline constexpr const char* kMetricsJson = "outputs/metrics_global.json";
inline constexpr const char* kTaskOutputsDir = "outputs/all_domains";
inline constexpr const char* kOwnDir = "agentsched";  // agentsched's own additions
inline constexpr const char* kConfigJson = "agentsched/config.json";
inline constexpr const char* kKvCsvHeader = "ts_iso,ts_unix,port,metric,value";

inline std::filesystem::path driver_log(const std::filesystem::path& run) {
  return run / kDriverLog;
}
inline std::filesystem::path global_log(const std::filesystem::path& run) {
  return run / kGlobalLog;
}
inline std::filesystem::path kv_csv(const std::filesystem::path& run) {
  return run / kKvCsv;
}

// Whether `dir` already holds a run (finished or not): writers refuse it without --force,
// and a refused folder is left as it was, so it must not be reported as incomplete.
inline bool holds_run(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(driver_log(dir), ec);
}

}  // namespace agentsched::run_layout
