#pragma once
// --admin-token and --admin-token-file, of `router` (the token it requires) and `drive` (the
// token it sends), and the token they or the environment give (http/admin_token.h).
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <optional>
#include <string>

#include "cli/command_registry.h"
#include "http/admin_token.h"

namespace agentsched::cli {

struct AdminTokenOptions {
  std::string token;
  std::string file;
  CLI::Option* token_option = nullptr;
  CLI::Option* file_option = nullptr;
};

// Both options, with the command's help texts.
inline void add_admin_token_options(CLI::App* cmd, AdminTokenOptions& o,
                                    const std::string& token_help, const std::string& file_help) {
  o.token_option = cmd->add_option("--admin-token", o.token, token_help)->type_name("TOKEN");
  o.file_option = cmd->add_option("--admin-token-file", o.file, file_help)->type_name("PATH");
}

// The token, "" for none; a bad one (or both options given) fails the command.
inline std::string admin_token_or_fail(const AdminTokenOptions& o) {
  auto token = serve::resolve_admin_token(
      o.token_option->count() ? std::optional<std::string>(o.token) : std::nullopt,
      o.file_option->count() ? std::optional<std::string>(o.file) : std::nullopt,
      std::getenv(serve::kAdminTokenEnv));
  if (!token) throw CommandFailure{token.error().message};
  return token->value_or("");
}

}  // namespace agentsched::cli
