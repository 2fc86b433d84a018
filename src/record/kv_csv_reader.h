#pragma once
// Reader of kv_cache_timeseries.csv (docs/design.md, "Run folders"):
// `ts_iso,ts_unix,port,metric,value`, one row per sample per port. Only metrics whose name
// contains `kv_cache_usage_perc` are usage samples (the deprecated `gpu_cache_usage_perc`
// duplicates them on vLLM 0.9.2 and is ignored); `NaN` values (port did not answer) are
// skipped and counted.
#include <cstddef>
#include <filesystem>
#include <vector>

#include "core/result.h"

namespace agentsched {

struct KvSample {
  double unix_time = 0;  // ts_unix (ts_iso when ts_unix is unusable), UTC seconds
  int port = 0;
  double usage = 0;  // fraction in [0, 1] as written
};

// What a read of the file found besides the samples themselves.
struct KvReadStats {
  std::vector<int> ports;       // distinct ports of usable samples, ascending
  std::size_t rows = 0;         // data rows (header excluded)
  std::size_t nan_samples = 0;  // kv_cache_usage_perc rows with NaN / empty value
  std::size_t other_metric_rows = 0;
  std::size_t garbled_rows = 0;                         // wrong field count or unparsable number
  std::vector<std::size_t> first_garbled_line_numbers;  // at most 5
};

struct KvSeries : KvReadStats {
  std::vector<KvSample> samples;  // usable samples, in file order
};

// Errors: missing/unreadable/empty file, a header other than the expected one, or a file
// with no usable kv_cache_usage_perc sample.
Result<KvSeries> read_kv_csv(const std::filesystem::path& path);

}  // namespace agentsched
