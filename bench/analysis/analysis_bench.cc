// `analyze window`, `breakdown` and `bottleneck` on a big synthetic run (400k lines, ~70 MB
// of driver.log and as much of logs/tau2_global.log), generated once in a temp folder.
// Each benchmark does what the CLI command does, from the files, so the figures include
// reading (from the page cache) and parsing.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "analysis/bottleneck.h"
#include "analysis/window.h"
#include "synthetic_run.h"

namespace {

using namespace agentsched;

constexpr std::size_t kDriverLines = 400'000;

// Generated on first use, removed at exit.
class SyntheticRunFolder {
 public:
  SyntheticRunFolder()
      : path_(std::filesystem::temp_directory_path() /
              fmt::format("agentsched-analysis-bench-{}", ::getpid())) {
    const auto size = bench::write_synthetic_run(path_, kDriverLines);
    fmt::print(stderr,
               "synthetic run {}: driver.log {} lines, {:.1f} MB; tau2_global.log {:.1f} MB; "
               "{} KV rows; {} tasks\n",
               path_.string(), size.driver_lines, size.driver_bytes / 1e6, size.global_bytes / 1e6,
               size.kv_rows, size.tasks);
  }
  ~SyntheticRunFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

const std::filesystem::path& run_dir() {
  static const SyntheticRunFolder folder;
  return folder.path();
}

void BM_Window(benchmark::State& state) {
  const auto& dir = run_dir();
  for (auto _ : state) {
    auto report = analysis::analyze_window(dir, 70.0);
    if (!report) state.SkipWithError(report.error().message.c_str());
    benchmark::DoNotOptimize(report);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(std::filesystem::file_size(dir / "driver.log")));
}
BENCHMARK(BM_Window)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Bottleneck(benchmark::State& state) {
  const auto& dir = run_dir();
  for (auto _ : state) {
    auto report = analysis::analyze_bottleneck(dir, 70.0);
    if (!report) state.SkipWithError(report.error().message.c_str());
    benchmark::DoNotOptimize(report);
  }
}
BENCHMARK(BM_Bottleneck)->Unit(benchmark::kMillisecond)->UseRealTime();

// The three commands one after the other, as a user runs them (breakdown is the window
// analysis printed another way, so it costs one more window pass).
void BM_WindowBreakdownBottleneck(benchmark::State& state) {
  const auto& dir = run_dir();
  for (auto _ : state) {
    auto window = analysis::analyze_window(dir, 70.0);
    auto breakdown = analysis::analyze_window(dir, 70.0);
    auto bottleneck = analysis::analyze_bottleneck(dir, 70.0);
    if (!window || !breakdown || !bottleneck) state.SkipWithError("analysis failed");
    benchmark::DoNotOptimize(bottleneck);
  }
}
BENCHMARK(BM_WindowBreakdownBottleneck)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
