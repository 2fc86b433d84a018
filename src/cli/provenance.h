#pragma once
// Provenance of a run folder: which code (version, git commit), which command line and
// which inputs (SHA-256 of the profile TOML and of the workload as a JSONL trace) made it,
// kept under "provenance" in agentsched/config.json so any figure traces back to them.
#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "workload/program_script.h"

namespace agentsched::cli {

// Set once by main(); secrets (--admin-token VALUE) are replaced by "<redacted>".
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

struct ProvenanceInputs {
  std::string profile_spec;  // built-in name or .toml path; empty: no profile (drive)
  std::string workload_spec;
  const Workload* workload = nullptr;
};

// {"version", "git_commit", "command_line": [...], "profile": {"spec", "sha256"},
//  "workload": {"spec", "name", "seed", "programs", "sha256"}}.
Result<boost::json::object> describe_provenance(const ProvenanceInputs& inputs);

// Adds `provenance` to <run_dir>/agentsched/config.json, which the run has written.
Status record_provenance(const std::filesystem::path& run_dir,
                         const boost::json::object& provenance);

}  // namespace agentsched::cli
