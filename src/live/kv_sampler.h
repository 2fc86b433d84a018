#pragma once
// `agentsched sample`: the reference's KV sampler. Every interval (emulated seconds on the
// run's scaled clock) it reads /metrics of each engine port and appends one CSV row per
// KV-usage sample to kv_cache_timeseries.csv (`ts_iso,ts_unix,port,metric,value`; NaN when a
// port does not answer).
//
// Made so it cannot pollute another run (docs/reference-study.md 7.1): it owns its file with an
// exclusive lock for as long as it runs, refuses a file that already holds samples (another
// run's) unless forced -- and never while another sampler holds it --, and stops with its
// parent process (or a given process, or when the run it samples for is over).
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace agentsched {
class Clock;
}

namespace agentsched::serve {

struct SamplerOptions {
  std::string host = "127.0.0.1";
  std::vector<std::uint16_t> ports;
  double interval_s = 5.0;  // emulated seconds
  double time_scale = 1.0;
  std::optional<double> clock_origin_unix;
  // The clock ticks are read from and waited on (http/clock_timer.h); null: an owned
  // ScaledClock of time_scale and clock_origin_unix. Tests bring a VirtualClock (whose 0 is
  // clock_origin_unix, else the Unix epoch) and `advance_clock`, which moves it to its next
  // wake-up when nothing else is ready and returns false when it has none.
  const Clock* clock = nullptr;
  std::function<bool()> advance_clock;
  std::filesystem::path out;  // the CSV
  bool force = false;         // replace a file of an earlier run (never one in use)
  double duration_s = 0;      // emulated seconds; 0 = until stopped
  // Stop when this process is gone (0: no such watch). The CLI passes its parent's pid.
  pid_t watch_pid = 0;
  // Stop (after one last sample) once the driver's status in this run folder says the run
  // is over.
  std::filesystem::path run_dir;
  double request_timeout_s = 2.0;  // real seconds per /metrics request
  std::function<bool()> stop_requested;
};

struct SamplerResult {
  long ticks = 0;
  long rows = 0;
  long nan_rows = 0;
  std::string stop_reason;
};

Result<SamplerResult> run_sampler(const SamplerOptions& options);

// One CSV row's metric and value.
struct KvRow {
  std::string metric;  // as exposed, commas in labels replaced by ';'
  double value = 0;
};

// The KV-usage rows of one /metrics text: every vllm:kv_cache_usage_perc sample; else (older
// vLLM) every vllm:gpu_cache_usage_perc sample; else (SGLang) sglang:token_usage. Empty when
// the text has none.
std::vector<KvRow> kv_rows_from_metrics(std::string_view metrics_text);

// Opens `path` for this sampler: creates it, or takes over an existing file that holds no
// samples (or any file with `force`), under an exclusive lock held until the descriptor is
// closed; writes the header. Fails when another process holds the lock, or when the file
// holds samples and `force` is false. Returns the descriptor.
Result<int> open_sample_file(const std::filesystem::path& path, bool force);

// Whether a live sampler holds the lock on `path` (false when the file does not exist).
bool sample_file_in_use(const std::filesystem::path& path);

// "8000,8001" -> ports; errors name the bad item.
Result<std::vector<std::uint16_t>> parse_port_list(std::string_view text);

}  // namespace agentsched::serve
