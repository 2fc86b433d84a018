#pragma once
// Shared helpers of the analysis tests: fixture paths and scratch folders.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace agentsched::analysis::testing {

inline std::filesystem::path fixture(std::string_view name) {
  return std::filesystem::path(AGENTSCHED_SOURCE_DIR) / "tests/analysis/fixtures" / name;
}

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "agentsched-analysis-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

  // Writes `content` to path()/relative, creating folders.
  std::filesystem::path write(const std::string& relative, std::string_view content) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }
  // Copies a fixture run folder into path()/name.
  std::filesystem::path copy_fixture(std::string_view fixture_name, const std::string& name) const {
    const auto target = path_ / name;
    std::filesystem::copy(fixture(fixture_name), target, std::filesystem::copy_options::recursive);
    return target;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace agentsched::analysis::testing
