#pragma once
// Subcommand table: each <name>_cmd.cc registers its subcommand with a static
// RegisterCommand, so adding a command touches no shared file. `order` sets the order in
// --help (lower first).
#include <CLI/CLI.hpp>
#include <functional>

namespace agentsched::cli {

using CommandRegistrar = std::function<void(CLI::App& root)>;

struct RegisterCommand {
  RegisterCommand(int order, CommandRegistrar registrar);
};

void register_all_commands(CLI::App& root);

// Thrown by command handlers to end with a one-line error and exit code 1 (or `code`).
struct CommandFailure {
  std::string message;
  int code = 1;
};

}  // namespace agentsched::cli
