#include "analysis/manifest.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "analysis/sha256.h"
#include "record/driver_log_reader.h"
#include "record/run_layout.h"

namespace agentsched::analysis {

namespace {

class SummaryFinder final : public LogVisitor {
 public:
  SummaryFinder() : LogVisitor(0) {}  // the driver's summary line only
  void on_global_summary(const GlobalSummaryRecord& record) override {
    line = std::string(record.text);
  }
  std::optional<std::string> line;
};

}  // namespace

Result<ManifestFile> describe_file(const std::string& role, const std::filesystem::path& path) {
  ManifestFile file;
  file.role = role;
  file.path = path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return file;
  file.present = true;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> handle(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
  if (!handle) return make_error(path.string() + ": cannot open: " + std::strerror(errno));
  std::vector<char> buffer(std::size_t{1} << 20);
  Sha256 hash;
  char last = '\n';
  for (;;) {
    const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), handle.get());
    if (got == 0) break;
    hash.update(buffer.data(), got);
    file.bytes += got;
    file.lines += static_cast<std::size_t>(std::count(buffer.data(), buffer.data() + got, '\n'));
    last = buffer[got - 1];
  }
  if (std::ferror(handle.get())) return make_error(path.string() + ": read error");
  if (last != '\n') ++file.lines;
  file.sha256 = hash.hex_digest();
  return file;
}

Result<RunManifest> build_manifest(const std::string& name, const std::filesystem::path& run_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(run_dir, ec))
    return make_error(run_dir.string() + ": no such run folder");
  RunManifest manifest;
  manifest.name = name;
  manifest.run_dir = run_dir;
  const std::pair<const char*, const char*> inputs[] = {
      {"driver_log", run_layout::kDriverLog},
      {"global_log", run_layout::kGlobalLog},
      {"kv_csv", run_layout::kKvCsv},
      {"metrics_json", run_layout::kMetricsJson},
      // agentsched's own runs: the configuration with its provenance (git commit, command
      // line, profile and workload hashes), so the manifest pins the code and inputs too.
      {"config_json", run_layout::kConfigJson},
  };
  bool any = false;
  for (const auto& [role, relative] : inputs) {
    auto file = describe_file(role, run_dir / relative);
    if (!file) return file.error();
    any |= file->present;
    manifest.files.push_back(std::move(*file));
  }
  if (!any) {
    return make_error(run_dir.string() +
                      ": none of driver.log, logs/tau2_global.log, kv_cache_timeseries.csv, "
                      "outputs/metrics_global.json is there");
  }
  if (manifest.files.front().present && manifest.files.front().bytes > 0) {
    SummaryFinder finder;
    auto scanned = scan_log(run_layout::driver_log(run_dir), finder);
    if (!scanned) return scanned.error();
    manifest.summary_line = finder.line;
  }
  return manifest;
}

}  // namespace agentsched::analysis
