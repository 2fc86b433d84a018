#pragma once
// Headless chromium for the browser tests (CTest label `browser`): Debian's chromium renders a
// page, and the tests read the DOM it dumps and the screenshots it takes. chromium is a test
// dependency like any other (scripts/setup.sh installs it); a test that finds it missing fails
// and says so rather than skipping.
#include <sys/wait.h>

#include <fmt/format.h>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include "command_runner.h"

namespace agentsched::browser {

namespace fs = std::filesystem;

constexpr const char* kChromium = "/usr/bin/chromium";

inline std::string missing_chromium_message() {
  return fmt::format(
      "{} is missing: run scripts/setup.sh, which installs Debian's chromium for the browser "
      "tests",
      kChromium);
}

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout
};

// Runs `command` with sh, collecting its stdout.
inline Outcome run(const std::string& command) {
  const auto r = test_commands::run_shell(command);
  return Outcome{r.exit_code, r.out};
}

// `path` in single quotes for sh (the paths the tests make hold no quote).
inline std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

// chromium, headless, on `url` (file:// or http://); `arguments` pick what it does
// (--dump-dom, --screenshot=..., --virtual-time-budget=...). Its profile lives in `profile`,
// its own diagnostics (console messages included) go to `log`.
inline Outcome chromium(const std::string& url, const std::string& arguments,
                        const fs::path& profile, const fs::path& log, int timeout_s = 120) {
  return run(fmt::format(
      "timeout {} {} --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
      "--user-data-dir={} --enable-logging=stderr --v=0 {} '{}' 2>{}",
      timeout_s, kChromium, quoted(profile), arguments, url, quoted(log)));
}

// Where the tests leave screenshots and printouts for people to look at: build/browser/.
inline fs::path output_dir(const fs::path& build_dir) {
  const fs::path dir = build_dir / "browser";
  fs::create_directories(dir);
  return dir;
}

inline std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size()))
    ++n;
  return n;
}

// PNG: 8-byte signature, then the IHDR chunk with width and height (big-endian).
inline std::pair<unsigned, unsigned> png_size(const std::string& png) {
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(png[at + 3]));
  };
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  return {be32(16), be32(20)};
}

}  // namespace agentsched::browser
