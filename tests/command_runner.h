#pragma once
// Running a command from a test (through sh): its exit status and its standard output. The
// tests that run the agentsched binary or a browser share it.
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace agentsched::test_commands {

struct CommandOutput {
  int exit_code = -1;  // -1: not started, or ended by a signal
  std::string out;     // stdout (add 2>&1 to the command for stderr too)
};

inline CommandOutput run_shell(const std::string& command) {
  CommandOutput result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, got);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace agentsched::test_commands
