#include "cli/provenance.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "analysis/report_json.h"
#include "analysis/sha256.h"
#include "cli/build_info.h"
#include "model/profiles_embedded.h"
#include "record/run_layout.h"
#include "workload/trace.h"

namespace agentsched::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::vector<std::string>& stored_command_line() {
  static std::vector<std::string> words;
  return words;
}

// Options whose value must not land in a run folder others may read.
bool is_secret_option(std::string_view word) {
  return word == "--admin-token";
}

std::string sha256_hex(std::string_view text) {
  analysis::Sha256 hash;
  hash.update(text);
  return hash.hex_digest();
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(fmt::format("cannot read '{}'", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

void set_command_line(int argc, char** argv) {
  auto& words = stored_command_line();
  words.clear();
  bool hide_next = false;
  for (int i = 0; i < argc; ++i) {
    std::string word = argv[i];
    if (hide_next) {
      word = "<redacted>";
      hide_next = false;
    } else if (is_secret_option(word)) {
      hide_next = true;
    } else if (const auto eq = word.find('=');
               eq != std::string::npos && is_secret_option(std::string_view(word).substr(0, eq))) {
      word = word.substr(0, eq + 1) + "<redacted>";
    }
    words.push_back(std::move(word));
  }
}

const std::vector<std::string>& command_line() {
  return stored_command_line();
}

Result<json::object> describe_provenance(const ProvenanceInputs& in) {
  json::object p;
  p["version"] = kVersion;
  p["git_commit"] = kGitCommit;
  json::array words;
  for (const auto& w : command_line()) words.emplace_back(w);
  p["command_line"] = std::move(words);
  if (!in.profile_spec.empty()) {
    // The TOML text the profile was parsed from: the embedded copy of a built-in profile,
    // else the file.
    std::optional<std::string> text;
    for (const auto& entry : embedded_profiles())
      if (entry.name == in.profile_spec) text = std::string(entry.toml);
    if (!text) {
      auto file = read_file(in.profile_spec);
      if (!file) return file.error();
      text = std::move(*file);
    }
    p["profile"] = json::object{{"spec", in.profile_spec}, {"sha256", sha256_hex(*text)}};
  }
  if (in.workload) {
    // The programs as a JSONL trace (`agentsched workload gen` writes the same text): one
    // hash for a generated workload and a trace file alike.
    std::ostringstream trace;
    if (auto st = write_trace(*in.workload, trace); !st) return st.error();
    p["workload"] = json::object{{"spec", in.workload_spec},
                                 {"name", in.workload->name},
                                 {"seed", in.workload->seed},
                                 {"programs", in.workload->programs.size()},
                                 {"sha256", sha256_hex(trace.str())}};
  }
  return p;
}

Status record_provenance(const fs::path& run_dir, const json::object& provenance) {
  const fs::path path = run_dir / run_layout::kConfigJson;
  auto text = read_file(path);
  if (!text) return text.error();
  boost::system::error_code ec;
  json::value config = json::parse(*text, ec);
  if (ec || !config.is_object())
    return make_error(fmt::format("'{}' is not a JSON object", path.string()));
  config.as_object()["provenance"] = provenance;
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary);
    out << analysis::compact_json(config) << '\n';
    if (!out) return make_error(fmt::format("cannot write '{}'", temporary.string()));
  }
  std::error_code rename_error;
  fs::rename(temporary, path, rename_error);
  if (rename_error)
    return make_error(
        fmt::format("cannot replace '{}': {}", path.string(), rename_error.message()));
  return Ok{};
}

}  // namespace agentsched::cli
