#pragma once
// Starts a test's child process so that it dies with the test: a test killed by its ctest
// timeout must not leave servers behind that hold the CI log's stderr open.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace agentsched::testing {

// fork + exec of argv[0] with stdout on `stdout_fd` (closed in the parent by the caller);
// with `close_inherited`, every descriptor above stderr is closed in the child. -1 on failure.
inline pid_t spawn_child(const std::vector<std::string>& argv, int stdout_fd, int unused_fd,
                         bool close_inherited) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;  // parent (or -1)
  // Child: only async-signal-safe calls from here on.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  if (unused_fd >= 0) ::close(unused_fd);
  ::dup2(stdout_fd, STDOUT_FILENO);
  if (close_inherited)
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
  else if (stdout_fd != STDOUT_FILENO)
    ::close(stdout_fd);
  ::execv(args[0], args.data());
  ::_exit(127);
}

}  // namespace agentsched::testing
