#pragma once
// What built this binary: the version and the git commit of the source tree, for
// `--version` and the provenance block of every run's config.json. build_info.cc is
// generated at build time by cmake/AgentschedBuildInfo.cmake.
namespace agentsched::cli {

extern const char* const kVersion;
// `git rev-parse HEAD`, with "-dirty" when tracked files had uncommitted changes at build
// time; "unknown" when built outside a git checkout (a source tarball).
extern const char* const kGitCommit;

}  // namespace agentsched::cli
