// `agentsched help [COMMAND...]`: the help of a command, as `agentsched COMMAND... --help`.
#include <fmt/format.h>

#include <memory>

#include "cli/command_registry.h"

namespace agentsched::cli {
namespace {

const RegisterCommand registration(1000, [](CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "help", "Describe a command: `agentsched help sim run` is `agentsched sim run --help`");
  auto words = std::make_shared<std::vector<std::string>>();
  cmd->add_option("command", *words, "Command words, e.g. `sim run`");
  CLI::App* top = &root;
  cmd->callback([top, words] {
    std::size_t used = 0;
    CLI::App* command = resolve_command(*top, *words, &used);
    if (used < words->size())
      throw usage_error(
          fmt::format("'{}' has no command '{}'", command->get_name(), (*words)[used]));
    // Straight to the formatter: App::help() of the root would describe the selected
    // subcommand, which is `help` itself.
    std::string path = command->get_name();
    for (const CLI::App* p = command->get_parent(); p != nullptr; p = p->get_parent())
      path = p->get_name() + " " + path;
    fmt::print("{}",
               command->get_formatter()->make_help(command, path, CLI::AppFormatMode::Normal));
  });
});

}  // namespace
}  // namespace agentsched::cli
