#pragma once
// Child processes of an experiment (engines, router, sampler, driver), supervised so an
// experiment never leaves one behind (docs/reference-study.md 7.1: a sampler left running polluted
// the next run). Each child runs in its own process group with stdout and stderr in a log file,
// gets SIGTERM when its parent dies (PR_SET_PDEATHSIG), and is registered so that exit(),
// a fatal signal or an interrupt of the parent kills its whole group.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace agentsched::serve {

struct ChildSpec {
  std::string name;  // for messages: "engine0", "router", "sampler", "driver"
  // argv[0] is looked up in PATH. With `shell`, argv holds one command line run by
  // `/bin/sh -c` (user templates such as `CUDA_VISIBLE_DEVICES=1 vllm serve ...`); signals go
  // to the whole process group, so the shell and what it started stop together.
  std::vector<std::string> argv;
  bool shell = false;
  std::filesystem::path log;  // stdout and stderr, appended
};

class Child {
 public:
  static Result<std::unique_ptr<Child>> start(const ChildSpec& spec);
  ~Child();  // kills the group (SIGKILL) if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& log() const { return log_; }
  // The exit status (code, or 128 + signal) once the child has exited; never blocks.
  std::optional<int> poll();
  // Waits up to `seconds` (real) for the child to exit.
  std::optional<int> wait_for(double seconds);
  // SIGTERM to the group, up to `grace_s` for it to exit, then SIGKILL. Returns the exit
  // status and whether it had to be forced.
  struct Stopped {
    int status = 0;
    bool forced = false;
  };
  Stopped stop(double grace_s);
  // The last `max_bytes` of the log, for error messages.
  std::string log_tail(std::size_t max_bytes = 2000) const;

 private:
  Child() = default;
  // Reaps exited members of the child's process group (recording the leader's status);
  // true once none is left. `block` waits for them.
  bool reap_group(bool block = false);
  bool group_gone_ = false;
  std::string name_;
  pid_t pid_ = -1;
  std::filesystem::path log_;
  std::optional<int> status_;
};

// Installs (once) the exit and fatal-signal handlers that kill every registered child group.
void install_child_cleanup();

// SIGINT/SIGTERM/SIGHUP set a flag instead of killing the process; a second one kills every
// child group at once and exits. interrupted() reads the flag.
void install_interrupt_flag();
bool interrupted();
int interrupt_signal();

// Whether `port` can be bound on `host` right now.
bool port_is_free(const std::string& host, std::uint16_t port);
// A port the kernel considers free (bound to port 0 and released).
Result<std::uint16_t> pick_free_port(const std::string& host);

// Polls GET /health on host:port every `interval_s` until it answers 200, the child exits,
// `interrupted` says so, or `timeout_s` (real) passes.
Status wait_until_healthy(const std::string& host, std::uint16_t port, Child& child,
                          double timeout_s, double interval_s = 0.1);

// Path of the running executable (/proc/self/exe).
std::string self_executable();

// Splits a command line into words: blanks separate, single and double quotes group,
// backslash escapes outside single quotes.
Result<std::vector<std::string>> split_command_line(std::string_view line);

}  // namespace agentsched::serve
