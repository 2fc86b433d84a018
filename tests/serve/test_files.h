#pragma once
// File helpers shared by the serve tests: a fresh scratch folder per test and whole-file reads.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace agentsched::testing {

// An empty folder agentsched-SUITE-NAME-PID under the system's temporary folder (emptied if a
// previous run left it).
inline std::filesystem::path scratch_dir(std::string_view suite, std::string_view name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("agentsched-" + std::string(suite) + "-" + std::string(name) +
                                     "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The whole file; "" when it cannot be read.
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace agentsched::testing
