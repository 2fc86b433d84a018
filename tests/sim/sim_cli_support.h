#pragma once
// What the sim tests that run the agentsched binary share: running a command line (stderr
// merged into the output) and reading the JSON it writes.
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "command_runner.h"

namespace agentsched::sim_cli {

struct CommandResult {
  int code = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& args) {
  const auto r = test_commands::run_shell(std::string(AGENTSCHED_BINARY) + " " + args + " 2>&1");
  return CommandResult{r.exit_code, r.out};
}

inline boost::json::value read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return boost::json::parse(s.str());
}

}  // namespace agentsched::sim_cli
