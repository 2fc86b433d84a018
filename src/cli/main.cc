#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string_view>
#include <vector>

#include "cli/build_info.h"
#include "cli/command_registry.h"
#include "cli/provenance.h"
#include "core/suggest.h"

namespace agentsched::cli {

namespace {
std::vector<std::pair<int, CommandRegistrar>>& registry() {
  static std::vector<std::pair<int, CommandRegistrar>> commands;
  return commands;
}

std::vector<std::string> subcommand_names(CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

std::string command_path(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* p = app.get_parent(); p != nullptr; p = p->get_parent())
    path = p->get_name() + " " + path;
  return path;
}

std::string names_text(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

bool looks_like_option(std::string_view arg) {
  // "-1" and "-0.5" are values, not options.
  return arg.size() >= 2 && arg[0] == '-' && (arg[1] == '-' || std::isalpha(arg[1]));
}

}  // namespace

RegisterCommand::RegisterCommand(int order, CommandRegistrar registrar) {
  registry().emplace_back(order, std::move(registrar));
}

void register_all_commands(CLI::App& root) {
  auto& commands = registry();
  std::stable_sort(commands.begin(), commands.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, registrar] : commands) registrar(root);
}

CLI::App* resolve_command(CLI::App& root, const std::vector<std::string>& words, std::size_t* used,
                          bool throw_on_unknown) {
  CLI::App* current = &root;
  std::size_t i = 0;
  for (; i < words.size(); ++i) {
    if (looks_like_option(words[i])) break;
    const auto names = subcommand_names(*current);
    if (names.empty()) break;  // a word for the command's own positionals
    if (std::find(names.begin(), names.end(), words[i]) == names.end()) {
      if (!throw_on_unknown) break;
      throw CommandFailure{
          fmt::format("unknown command '{}' for '{}'{}; commands: {}", words[i],
                      command_path(*current), did_you_mean(words[i], names), names_text(names)),
          kExitUsage};
    }
    current = current->get_subcommand(words[i]);
  }
  if (used) *used = i;
  return current;
}

// CLI11 checks required options and subcommands before it complains about words it does not
// know, so `sim run --sytem baseline` would be told "--system is required". Name the
// unknown word instead, with the nearest valid one.
std::optional<std::string> diagnose_unknown_word(CLI::App& root,
                                                 const std::vector<std::string>& args) {
  std::size_t used = 0;
  CLI::App* command = nullptr;
  try {
    command = resolve_command(root, args, &used);
  } catch (const CommandFailure& failure) {
    return failure.message;
  }
  if (command->get_require_subcommand_min() > 0 && used == args.size())
    return fmt::format("'{}' needs a command: {}", command_path(*command),
                       names_text(subcommand_names(*command)));
  std::vector<std::string> known;
  for (const CLI::Option* opt : command->get_options()) {
    for (const auto& l : opt->get_lnames()) known.push_back("--" + l);
    for (const auto& s : opt->get_snames()) known.push_back("-" + s);
  }
  for (std::size_t i = used; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (!looks_like_option(arg)) continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    return fmt::format("unknown option '{}' for '{}'{}", name, command_path(*command),
                       did_you_mean(name, known));
  }
  return std::nullopt;
}

}  // namespace agentsched::cli

int main(int argc, char** argv) {
  using namespace agentsched::cli;
  // Named, so messages say "agentsched", not argv[0] ("build/agentsched").
  CLI::App app{
      "agentsched: serve, simulate and measure agentic LLM workloads.\n"
      "Start with `agentsched sim matrix --out runs/matrix` to compare the reference systems.",
      "agentsched"};
  app.set_version_flag("--version", fmt::format("agentsched {} (commit {})", kVersion, kGitCommit));
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 success; 1 the command failed (a run, a file, a check that found a "
      "problem); 2 the command line is wrong (unknown command or option, bad value); 128+N "
      "when stopped by signal N.\n`agentsched help COMMAND...` or `agentsched COMMAND "
      "--help` describes a command.");
  register_all_commands(app);
  set_command_line(argc, argv);
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    // One prefix and one exit status for every mistake on the command line.
    const std::string message = diagnose_unknown_word(app, args).value_or(e.what());
    std::fprintf(stderr, "agentsched: error: %s\n", message.c_str());
    CLI::App* command = resolve_command(app, args, nullptr, /*throw_on_unknown=*/false);
    std::fprintf(stderr, "Run '%s --help' for usage.\n", command_path(*command).c_str());
    return kExitUsage;
  } catch (const CommandFailure& failure) {
    std::fprintf(stderr, "agentsched: error: %s\n", failure.message.c_str());
    return failure.code;
  }
  return kExitOk;
}
