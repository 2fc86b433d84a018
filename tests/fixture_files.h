#pragma once
// Access to tests/fixtures/ for every test binary. The folder comes from the build
// (AGENTSCHED_FIXTURES_DIR, cmake/AgentschedTest.cmake) and lies inside the source tree, so a
// clone with nothing beside it has every file a test reads. A missing or empty fixture fails
// the test that wanted it: a skip would hide exactly the gap this guards against.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace agentsched::test_fixtures {

inline std::filesystem::path path(std::string_view relative) {
  return std::filesystem::path(AGENTSCHED_FIXTURES_DIR) / relative;
}

// Whole content of tests/fixtures/<relative>; "" plus a test failure when it cannot be read.
inline std::string read(std::string_view relative) {
  const auto file = path(relative);
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  if (in) ss << in.rdbuf();
  if (ss.str().empty()) ADD_FAILURE() << "missing or empty fixture " << file.string();
  return ss.str();
}

}  // namespace agentsched::test_fixtures
