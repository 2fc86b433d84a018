#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "cli/command_registry.h"

namespace agentsched::cli {

namespace {
std::vector<std::pair<int, CommandRegistrar>>& registry() {
  static std::vector<std::pair<int, CommandRegistrar>> commands;
  return commands;
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

}  // namespace agentsched::cli

int main(int argc, char** argv) {
  CLI::App app{
      "agentsched: serve, simulate and measure agentic LLM workloads.\n"
      "Start with `agentsched sim matrix --out runs/matrix` to compare the reference systems."};
  app.set_version_flag("--version", "agentsched 0.1.0");
  app.require_subcommand(1);
  agentsched::cli::register_all_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const agentsched::cli::CommandFailure& failure) {
    std::fprintf(stderr, "agentsched: error: %s\n", failure.message.c_str());
    return failure.code;
  }
  return 0;
}
