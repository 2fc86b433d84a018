// The repository stands alone: a clone with nothing beside it builds, passes every test, and
// sends its reader to nothing it does not hold. Two ways this broke before, each with a check:
//
// 1. Tracked files cited documents and fixtures kept in a folder beside the checkout (a
//    project-internal briefing no user of the repository has). NoFileRefersOutsideTheRepository
//    reads every file of the tree and fails, printing file:line, on a name of those outside
//    documents, on a climb out of the tree joined to AGENTSCHED_SOURCE_DIR, and on a Markdown
//    link or code span whose relative path climbs above the repository root (and on a Markdown
//    link to a file the tree does not have). Its patterns are assembled from pieces so this
//    file does not match itself, and it skips itself anyway.
//    The files are those git knows (`git ls-files --cached --others --exclude-standard`, so a
//    file not yet committed is checked too); in a tree that is not a git checkout, or where
//    git is missing, a walk of the source folder without build*/, node_modules/ and .git/.
//
// 2. Tests read their fixtures from beside the checkout and skipped when absent. Instead of
//    building a second clone inside the suite (minutes; scripts/check_standalone.sh does
//    exactly that by hand), the suite proves no test can read outside the tree: every test
//    binary gets tests/fixtures/ from the build as AGENTSCHED_FIXTURES_DIR, which
//    FixturesDirIsInsideTheSourceTree asserts lies under AGENTSCHED_SOURCE_DIR and holds
//    every fixture; check 1 rejects any other path built from the source folder that climbs
//    out of it; and tests/fixture_files.h fails, never skips, on a missing fixture.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace agentsched {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = fs::path(AGENTSCHED_SOURCE_DIR).lexically_normal();
constexpr std::string_view kSelf = "tests/repo/standalone_test.cc";

// Runs `command`, returning its standard output; nullopt when it could not run or failed.
std::optional<std::string> run_capture(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Files of the tree, relative to `root`, as git sees them (tracked, plus untracked files that
// are not ignored); nullopt when git is missing or `root` is not a checkout.
std::optional<std::vector<std::string>> git_files(const fs::path& root) {
  const std::string git = AGENTSCHED_GIT;
  if (git.empty()) return std::nullopt;
  auto out = run_capture(shell_quote(git) + " -C " + shell_quote(root.string()) +
                         " ls-files -z --cached --others --exclude-standard 2>/dev/null");
  if (!out || out->empty()) return std::nullopt;
  std::vector<std::string> files;
  for (size_t begin = 0; begin < out->size();) {
    const size_t end = out->find('\0', begin);
    files.push_back(out->substr(begin, end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return files;
}

// The fallback without git: every regular file under `root` outside build output, installed
// node packages and git's own folder.
std::vector<std::string> walked_files(const fs::path& root) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() &&
        (name.starts_with("build") || name == "node_modules" || name == ".git")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(it->path().lexically_relative(root).string());
  }
  return files;
}

std::vector<std::string> repository_files(const fs::path& root) {
  if (auto files = git_files(root)) return *files;
  return walked_files(root);
}

// True when `target`, a relative path written in `file` (itself relative to the root), leads
// out of the repository once resolved against the file's folder.
bool climbs_out(const std::string& file, const std::string& target) {
  const fs::path resolved = (fs::path(file).parent_path() / target).lexically_normal();
  return !resolved.empty() && *resolved.begin() == "..";
}

// Offences on one line of `file`, as "what was found" strings.
std::vector<std::string> offences(const std::string& file, const std::string& line) {
  std::vector<std::string> found;
  // Names of the outside documents and folders; lower-case docs/design.md is the project's.
  static const std::vector<std::string> kNames = {
      std::string("..") + "/shared", std::string("shared") + "/fixtures",
      std::string("REFERENCE") + ".md", std::string("DESIGN") + ".md",
      std::string("ANCHORS") + ".md"};
  for (const auto& name : kNames) {
    if (line.find(name) != std::string::npos) found.push_back("'" + name + "'");
  }
  // A path built from the source folder that climbs out of it: SOURCE_DIR) + "/..",
  // path(SOURCE_DIR) / "../x" and the like.
  static const std::regex kSourceClimb(std::string("AGENTSCHED_") + "SOURCE_DIR\\)?\\s*[+/]\\s*" +
                                       "\"/?\\.\\.(/|\")");
  if (std::regex_search(line, kSourceClimb))
    found.push_back("a path climbing out of the source dir");
  // Markdown: link targets and code spans holding a relative path that climbs above the root.
  if (file.ends_with(".md")) {
    static const std::regex kLink(R"(\]\(([^)\s]+)\))");
    static const std::regex kCodeSpan(R"(`(\.\./[^`\s]*)`)");
    for (const std::regex* re : {&kLink, &kCodeSpan}) {
      for (std::sregex_iterator m(line.begin(), line.end(), *re), end; m != end; ++m) {
        std::string target = (*m)[1].str();
        if (target.find("://") != std::string::npos || target.starts_with("mailto:") ||
            target.starts_with('#'))
          continue;
        target = target.substr(0, target.find('#'));
        if (target.starts_with('/') || climbs_out(file, target)) {
          found.push_back("a path outside the repository: " + target);
        }
      }
    }
  }
  return found;
}

// Relative Markdown link targets on one line of `file` that name no file or folder of the
// tree: a document moved or renamed leaves its readers pointing nowhere.
std::vector<std::string> dangling_links(const std::string& file, const std::string& line) {
  std::vector<std::string> found;
  if (!file.ends_with(".md")) return found;
  static const std::regex kLink(R"(\]\(([^)\s]+)\))");
  for (std::sregex_iterator m(line.begin(), line.end(), kLink), end; m != end; ++m) {
    std::string target = (*m)[1].str();
    if (target.find("://") != std::string::npos || target.starts_with("mailto:") ||
        target.starts_with('#') || target.starts_with('/'))
      continue;
    target = target.substr(0, target.find('#'));
    if (climbs_out(file, target)) continue;  // offences() reports it
    if (!fs::exists(kSourceDir / fs::path(file).parent_path() / target)) {
      found.push_back("a link to a missing file: " + target);
    }
  }
  return found;
}

TEST(Standalone, NoFileRefersOutsideTheRepository) {
  const auto files = repository_files(kSourceDir);
  ASSERT_GT(files.size(), 50u) << "found too few files under " << kSourceDir;
  std::string report;
  size_t offenders = 0;
  for (const auto& file : files) {
    if (file == kSelf) continue;
    std::ifstream in(kSourceDir / file, std::ios::binary);
    if (!in) continue;  // listed by git but deleted in the working tree
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (content.find('\0') != std::string::npos) continue;  // binary
    size_t line_no = 0;
    for (size_t begin = 0; begin <= content.size();) {
      size_t end = content.find('\n', begin);
      if (end == std::string::npos) end = content.size();
      ++line_no;
      const std::string line = content.substr(begin, end - begin);
      auto found = offences(file, line);
      for (auto& what : dangling_links(file, line)) found.push_back(std::move(what));
      for (const auto& what : found) {
        report += file + ":" + std::to_string(line_no) + ": " + what + "\n";
        ++offenders;
      }
      begin = end + 1;
    }
  }
  EXPECT_EQ(offenders, 0u) << "references to paths outside the repository (cite docs/design.md, "
                              "docs/reference-study.md or tests/fixtures/ instead):\n"
                           << report;
}

TEST(Standalone, FixturesDirIsInsideTheSourceTree) {
  const fs::path fixtures = fs::path(AGENTSCHED_FIXTURES_DIR).lexically_normal();
  const fs::path relative = fixtures.lexically_relative(kSourceDir);
  ASSERT_FALSE(relative.empty()) << fixtures << " is not under " << kSourceDir;
  EXPECT_NE(*relative.begin(), "..") << fixtures << " is not under " << kSourceDir;
  // Symbolic links could still lead out: compare the resolved paths too.
  std::error_code ec;
  const fs::path real_source = fs::canonical(kSourceDir, ec);
  const fs::path real_fixtures = fs::canonical(fixtures, ec);
  ASSERT_FALSE(ec) << fixtures << ": " << ec.message();
  const fs::path real_relative = real_fixtures.lexically_relative(real_source);
  EXPECT_FALSE(real_relative.empty() || *real_relative.begin() == "..") << real_fixtures;
  // Every fixture the tests open (tests/fixtures/README.md describes them).
  for (const char* name : {"metrics/vllm-0.9.2.txt", "metrics/sglang.txt", "metrics/llamacpp.txt",
                           "run-format/driver.log", "run-format/kv_cache_timeseries.csv"}) {
    EXPECT_GT(fs::file_size(fixtures / name, ec), 0u) << fixtures / name;
  }
}

// The checks themselves, on lines made up here.
TEST(Standalone, OffencesAreRecognised) {
  const std::string outside = std::string("..") + "/shared";
  EXPECT_EQ(offences("README.md", "see " + outside + "/notes").size(), 1u);
  EXPECT_EQ(offences("src/a.h", std::string("// per REF") + "ERENCE.md section 3").size(), 1u);
  EXPECT_TRUE(offences("src/a.h", "// per docs/design.md and docs/reference-study.md").empty());
  EXPECT_EQ(
      offences("tests/a.cc", std::string("path(AGENTSCHED_") + "SOURCE_DIR) / \"../elsewhere\"")
          .size(),
      1u);
  EXPECT_TRUE(
      offences("tests/a.cc", std::string("path(AGENTSCHED_") + "SOURCE_DIR) / \"tests/node\"")
          .empty());
  // Markdown links resolve against the file's folder.
  EXPECT_TRUE(offences("docs/a.md", "[design](design.md), [readme](../README.md)").empty());
  EXPECT_EQ(offences("docs/a.md", "[x](../../elsewhere/x.md)").size(), 1u);
  EXPECT_EQ(offences("docs/a.md", "run `../../tool`").size(), 1u);
  EXPECT_EQ(offences("README.md", "[x](/etc/x)").size(), 1u);
  EXPECT_TRUE(offences("README.md", "[vLLM](https://github.com/vllm-project/vllm)").empty());
  EXPECT_TRUE(offences("README.md", "[top](#set-up)").empty());
}

TEST(Standalone, WalkWithoutGitSkipsBuildOutput) {
  const fs::path root =
      fs::temp_directory_path() / ("agentsched-standalone-" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (const char* dir : {"src", "build", "build-asan/x", "node_modules/p", ".git"}) {
    fs::create_directories(root / dir);
  }
  for (const char* file :
       {"src/a.cc", "build/b.cc", "build-asan/x/c.cc", "node_modules/p/d.js", ".git/HEAD"}) {
    std::ofstream(root / file) << "x\n";
  }
  EXPECT_EQ(walked_files(root), std::vector<std::string>{"src/a.cc"});
  fs::remove_all(root);
}

}  // namespace
}  // namespace agentsched
