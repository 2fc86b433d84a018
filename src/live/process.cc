#include "live/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "http/client.h"

namespace agentsched::serve {

namespace fs = std::filesystem;

namespace {

// Process groups to kill when the parent goes down. A fixed array of atomics, so the
// signal handler can read it safely.
constexpr std::size_t kMaxChildren = 64;
std::array<std::atomic<pid_t>, kMaxChildren> g_groups{};

void register_group(pid_t pgid) {
  for (auto& slot : g_groups) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pgid)) return;
  }
}

void unregister_group(pid_t pgid) {
  for (auto& slot : g_groups) {
    pid_t expected = pgid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

// Async-signal-safe.
void kill_all_groups() {
  for (auto& slot : g_groups) {
    const pid_t g = slot.load();
    if (g > 0) ::kill(-g, SIGKILL);
  }
}

void on_fatal_signal(int sig) {
  kill_all_groups();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

std::atomic<int> g_interrupt_signal{0};

void on_interrupt(int sig) {
  if (g_interrupt_signal.exchange(sig) != 0) {
    // Asked twice: no more waiting for graceful stops.
    kill_all_groups();
    ::_exit(128 + sig);
  }
}

int status_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void install_child_cleanup() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  // Descendants orphaned inside a child's group (the engine a template's shell started)
  // become our children, so their ends can be awaited and reaped.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::atexit(kill_all_groups);
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) {
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    ::sigaction(sig, &sa, nullptr);
  }
}

void install_interrupt_flag() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(sig, &sa, nullptr);
  }
}

bool interrupted() {
  return g_interrupt_signal.load() != 0;
}

int interrupt_signal() {
  return g_interrupt_signal.load();
}

Result<std::unique_ptr<Child>> Child::start(const ChildSpec& spec) {
  if (spec.argv.empty()) return make_error(fmt::format("{}: empty command", spec.name));
  install_child_cleanup();
  std::vector<std::string> words = spec.argv;
  if (spec.shell) words = {"/bin/sh", "-c", spec.argv.front()};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::error_code ec;
  if (spec.log.has_parent_path()) fs::create_directories(spec.log.parent_path(), ec);
  const int log_fd = ::open(spec.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return make_error(fmt::format("{}: cannot open log '{}': {}", spec.name, spec.log.string(),
                                  std::strerror(errno)));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  // Blocks signals across fork so the child cannot run our handlers before exec.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL})
      ::signal(sig, SIG_DFL);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::execvp(argv[0], argv.data());
    const char* msg = "agentsched: exec failed: ";
    (void)!::write(STDERR_FILENO, msg, std::strlen(msg));
    (void)!::write(STDERR_FILENO, argv[0], std::strlen(argv[0]));
    (void)!::write(STDERR_FILENO, "\n", 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  if (pid > 0) {
    ::setpgid(pid, pid);  // also here: no race with a kill of the group right after
    register_group(pid);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0)
    return make_error(fmt::format("{}: fork failed: {}", spec.name, std::strerror(fork_errno)));
  std::unique_ptr<Child> child(new Child());
  child->name_ = spec.name;
  child->pid_ = pid;
  child->log_ = spec.log;
  return child;
}

Child::~Child() {
  if (pid_ <= 0) return;
  if (!reap_group()) {
    ::kill(-pid_, SIGKILL);
    reap_group(true);
  }
  unregister_group(pid_);
}

bool Child::reap_group(bool block) {
  if (group_gone_) return true;
  for (;;) {
    int status = 0;
    // Every member of the group is our child: the leader, and (as we are a subreaper) what
    // it started once it is gone.
    const pid_t r = ::waitpid(-pid_, &status, block ? 0 : WNOHANG);
    if (r > 0) {
      if (r == pid_) status_ = status_code(status);
      continue;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    group_gone_ = true;  // ECHILD: nobody left
    unregister_group(pid_);
    return true;
  }
}

std::optional<int> Child::poll() {
  if (!status_) reap_group();
  if (status_ && !group_gone_) {
    // The leader is gone (a crash, or its own end); whatever it left in its group goes too.
    ::kill(-pid_, SIGKILL);
    reap_group(true);
  }
  return status_;
}

std::optional<int> Child::wait_for(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds));
  for (;;) {
    if (auto s = poll()) return s;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    // No descriptor to wait on for a child's exit here; a short poll interval.
    ::poll(nullptr, 0, 20);
  }
}

Child::Stopped Child::stop(double grace_s) {
  Stopped out;
  if (!reap_group()) {
    // Graceful: SIGTERM to the whole group, then wait for every member (not just the
    // leader: a shell running a template exits at once, the engine it started drains).
    ::kill(-pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(grace_s));
    while (!reap_group()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        out.forced = true;
        ::kill(-pid_, SIGKILL);
        reap_group(true);
        break;
      }
      ::poll(nullptr, 0, 20);
    }
  }
  out.status = status_.value_or(0);
  return out;
}

std::string Child::log_tail(std::size_t max_bytes) const {
  std::ifstream in(log_, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  const std::size_t from = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(size - from, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

bool port_is_free(const std::string& host, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = INADDR_ANY;
  // Same option as the servers use, so a port in TIME_WAIT counts as free, as for them.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

Result<std::uint16_t> pick_free_port(const std::string& host) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = INADDR_ANY;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error(fmt::format("cannot bind a free port on {}: {}", host, std::strerror(e)));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

Status wait_until_healthy(const std::string& host, std::uint16_t port, Child& child,
                          double timeout_s, double interval_s) {
  const auto start = std::chrono::steady_clock::now();
  const std::string get = "GET", health = "/health";
  std::string last = "no answer yet";
  for (;;) {
    if (auto s = child.poll())
      return make_error(
          fmt::format("{} exited with status {} before it was ready; the end of "
                      "its log ({}):\n{}",
                      child.name(), *s, child.log().string(), child.log_tail()));
    if (interrupted()) return make_error("interrupted");
    auto r = http::fetch(host, port, get, health, {}, {}, 2.0);
    if (r && r->status == 200) return Ok{};
    last = r ? fmt::format("HTTP {}", r->status) : r.error().message;
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited >= timeout_s)
      return make_error(fmt::format("{} on {}:{} not healthy after {:.0f} s ({}); see {}",
                                    child.name(), host, port, waited, last, child.log().string()));
    ::poll(nullptr, 0, static_cast<int>(interval_s * 1000));
  }
}

std::string self_executable() {
  std::error_code ec;
  std::string p = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return "agentsched";
  // A binary rebuilt while an experiment runs shows as "<path> (deleted)"; the new binary at
  // the same path is the one to start for the next cells.
  constexpr std::string_view kDeleted = " (deleted)";
  if (p.size() > kDeleted.size() &&
      p.compare(p.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0)
    p.resize(p.size() - kDeleted.size());
  return p;
}

Result<std::vector<std::string>> split_command_line(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    // A backslash escapes the next character everywhere but inside single quotes.
    if (c == '\\' && quote != '\'' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
      continue;
    }
    if (quote) {  // inside quotes up to the closing one
      if (c == quote)
        quote = 0;
      else
        word += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    word += c;
    in_word = true;
  }
  if (quote) return make_error(fmt::format("unclosed {} quote in '{}'", quote, line));
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace agentsched::serve
