#pragma once
// Subcommand table: each <name>_cmd.cc registers its subcommand with a static
// RegisterCommand, so adding a command touches no shared file. `order` sets the order in
// --help (lower first).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace agentsched::cli {

using CommandRegistrar = std::function<void(CLI::App& root)>;

struct RegisterCommand {
  RegisterCommand(int order, CommandRegistrar registrar);

  // A command whose options are the fields of one struct, `Options`: `declare` binds them to
  // the command's options, and `run` gets their values when the command runs. `parent` names
  // the command it belongs to ("sim", "analyze", registered before it), "" for a top-level one.
  template <typename Options>
  RegisterCommand(int order, std::string parent, std::string name, std::string help,
                  void (*declare)(CLI::App* cmd, Options& options),
                  void (*run)(const Options& options))
      : RegisterCommand(order, [=](CLI::App& root) {
          CLI::App* owner = parent.empty() ? &root : root.get_subcommand(parent);
          auto options = std::make_shared<Options>();
          CLI::App* cmd = owner->add_subcommand(name, help);
          declare(cmd, *options);
          cmd->callback([options, run] { run(*options); });
        }) {}
};

void register_all_commands(CLI::App& root);

// Exit status of every command (README, `agentsched --help`): 0 success, 1 the command
// failed, 2 the command line is wrong; 128+N when stopped by signal N.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Thrown by command handlers to end with one "agentsched: error: ..." line and exit code 1
// (or `code`).
struct CommandFailure {
  std::string message;
  int code = kExitFailure;
};

// A mistake on the command line found by a handler (a malformed --param, an unparsable
// list): exit status 2, as for the mistakes CLI11 finds.
inline CommandFailure usage_error(std::string message) {
  return CommandFailure{std::move(message), kExitUsage};
}

// The (sub)command named by the leading words of `words` ("sim", "run", ...); `used` gets
// how many words named it. An unknown word where a command is expected throws a usage
// CommandFailure naming it and the nearest command (or, with !throw_on_unknown, ends the
// walk there).
CLI::App* resolve_command(CLI::App& root, const std::vector<std::string>& words,
                          std::size_t* used = nullptr, bool throw_on_unknown = true);

// Number checks for options, with messages that name the bound ("must be at least 0", "must
// be greater than 0"); CLI11's own NonNegativeNumber / PositiveNumber print the whole double
// range instead.
inline CLI::Validator number_bound(bool strictly_positive) {
  return CLI::Validator(
      [strictly_positive](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(v))
          return "'" + text + "' is not a number";
        if (strictly_positive ? !(v > 0) : !(v >= 0))
          return "'" + text +
                 (strictly_positive ? "' must be greater than 0" : "' must be at least 0");
        return {};
      },
      strictly_positive ? "POSITIVE" : "NONNEGATIVE");
}
inline const CLI::Validator kNonNegativeNumber = number_bound(false);
inline const CLI::Validator kPositiveNumber = number_bound(true);

}  // namespace agentsched::cli
