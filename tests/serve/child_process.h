#pragma once
// A child process for integration tests: stdout through a pipe read line by line with a
// deadline, signals, and a bounded wait for its exit status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "spawn_child.h"

extern char** environ;

namespace agentsched::testing {

class ChildProcess {
 public:
  // Starts argv[0] with stdout piped to us (stderr inherited). pid() is -1 on failure.
  explicit ChildProcess(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = spawn_child(argv, fds[1], fds[0], /*close_inherited=*/false);
    close(fds[1]);
    out_ = fds[0];
  }
  ~ChildProcess() {
    if (pid_ > 0 && !exit_status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next stdout line, or nullopt at EOF or after `limit`.
  std::optional<std::string> read_line(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  void signal(int sig) { kill(pid_, sig); }

  // The exit status (WEXITSTATUS, or 128 + signal), or nullopt if still running at `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!exit_status_) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      // Child exit has no descriptor to wait on here; poll the status at a short interval.
      pollfd none{};
      poll(&none, 0, 10);
    }
    return exit_status_;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
  std::optional<int> exit_status_;
};

// Runs a shell command; returns its exit status and combined stdout/stderr.
inline std::pair<int, std::string> run_shell(const std::string& command) {
  std::string output;
  FILE* f = popen((command + " 2>&1").c_str(), "r");
  if (!f) return {-1, "popen failed"};
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, f)) output.append(buf, n);
  const int status = pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// Whether `tool` is on the PATH (tests that need curl or node skip without them).
inline bool have_command(const std::string& tool) {
  return run_shell("command -v " + tool).first == 0;
}

}  // namespace agentsched::testing
