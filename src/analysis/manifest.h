#pragma once
// What a table was computed from: per run folder, each input file with its size, line count
// and SHA-256, and the driver's closing summary line, so a published figure can be traced
// back to (and checked against) exact inputs.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace agentsched::analysis {

struct ManifestFile {
  std::string role;            // driver_log, global_log, kv_csv, metrics_json, config_json
  std::filesystem::path path;  // inside the run folder
  bool present = false;
  std::uintmax_t bytes = 0;
  std::size_t lines = 0;  // '\n' count, plus one for a last line without it
  std::string sha256;     // lowercase hex; empty when absent
};

struct RunManifest {
  std::string name;
  std::filesystem::path run_dir;
  std::vector<ManifestFile> files;
  std::optional<std::string> summary_line;  // "Global evaluation complete: ..." as written
};

// Hashes every known input of the run that exists. Errors: the folder is missing, or holds
// none of the inputs, or a present file cannot be read.
Result<RunManifest> build_manifest(const std::string& name, const std::filesystem::path& run_dir);

// Hash and line count of one file, streamed.
Result<ManifestFile> describe_file(const std::string& role, const std::filesystem::path& path);

}  // namespace agentsched::analysis
