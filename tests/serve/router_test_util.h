#pragma once
// Helpers of the router tests: `agentsched engine` and `agentsched router` as child
// processes on port 0, blocking HTTP calls, raw sockets, and bounded waits on conditions.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "serve/child_process.h"

namespace agentsched::testing {

using namespace std::chrono_literals;

// A child announcing `listening on 127.0.0.1:PORT` on stdout (engine and router alike).
// Unlike ChildProcess, it closes every inherited descriptor above stderr: a server started
// while test threads hold client sockets must not keep those connections open.
class ServiceProcess {
 public:
  explicit ServiceProcess(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = spawn_child(argv, fds[1], fds[0], /*close_inherited=*/true);
    ::close(fds[1]);
    out_ = fds[0];
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    char c = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      if (::read(out_, &c, 1) != 1 || c == '\n') break;
      line += c;
    }
    const std::string prefix = "listening on 127.0.0.1:";
    if (line.rfind(prefix, 0) == 0) port_ = std::stoi(line.substr(prefix.size()));
    first_line_ = line;
  }
  ~ServiceProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit status (128 + signal when killed), or nullopt if still running at `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!status_) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
    return status_;
  }
  // SIGTERM and the exit status.
  std::optional<int> stop(std::chrono::milliseconds limit = 20s) {
    signal(SIGTERM);
    return wait(limit);
  }
  // Everything the child wrote on stdout: the first line, and the rest up to EOF (call it
  // once the child has exited) or `limit`.
  std::string all_stdout(std::chrono::milliseconds limit = 10s) {
    std::string out = first_line_ + "\n";
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (out_ >= 0 && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  std::string first_line_;
  std::optional<int> status_;
};

// An engine emulator; time scale 200 by default (fast tokens).
inline std::unique_ptr<ServiceProcess> start_engine(std::vector<std::string> extra = {},
                                                    int port = 0, double time_scale = 200) {
  std::vector<std::string> argv = {AGENTSCHED_BINARY, "engine",
                                   "--port",          std::to_string(port),
                                   "--time-scale",    std::to_string(time_scale)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ServiceProcess>(argv);
}

inline std::unique_ptr<ServiceProcess> start_router(const std::vector<std::string>& backends,
                                                    std::vector<std::string> extra = {}) {
  std::string list;
  for (const auto& b : backends) list += (list.empty() ? "" : ",") + b;
  std::vector<std::string> argv = {
      AGENTSCHED_BINARY, "router", "--port", "0", "--backends", list, "--metrics-interval", "0.1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ServiceProcess>(argv);
}

// The router with its stderr in `stderr_path` and `env` (NAME=VALUE) added to its
// environment: started through `sh -c 'exec env ...'`, so the process signalled and waited for
// is still the router itself.
inline std::unique_ptr<ServiceProcess> start_router_logged(
    const std::vector<std::string>& backends, std::vector<std::string> extra,
    const std::string& stderr_path, const std::vector<std::string>& env = {}) {
  std::string list;
  for (const auto& b : backends) list += (list.empty() ? "" : ",") + b;
  std::vector<std::string> argv = {"/bin/sh", "-c",        "f=$1; shift; exec \"$@\" 2>\"$f\"",
                                   "sh",      stderr_path, "/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  for (const char* a :
       {AGENTSCHED_BINARY, "router", "--port", "0", "--metrics-interval", "0.1", "--backends"})
    argv.push_back(a);
  argv.push_back(list);
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ServiceProcess>(argv);
}

inline Result<http::ClientResponse> call(int port, std::string_view method, std::string_view target,
                                         std::string_view body = {},
                                         const http::Headers& headers = {}, double timeout_s = 30) {
  return http::fetch("127.0.0.1", static_cast<std::uint16_t>(port), method, target, body, headers,
                     timeout_s);
}

inline boost::json::value get_json(int port, std::string_view target) {
  auto r = call(port, "GET", target);
  if (!r) return nullptr;
  boost::system::error_code ec;
  auto v = boost::json::parse(r->body, ec);
  return ec ? boost::json::value(nullptr) : v;
}

// Polls `cond` every few milliseconds until it holds or `limit` passes.
inline bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

inline std::string chat_body(std::string_view identity_member, int max_tokens = 4,
                             std::string_view extra = "") {
  std::string body = "{";
  if (!identity_member.empty()) body += std::string(identity_member) + ",";
  body += R"("messages":[{"role":"user","content":"hello from a router test"}],"max_tokens":)" +
          std::to_string(max_tokens) + R"(,"ignore_eos":true)";
  if (!extra.empty()) body.append(",").append(extra);
  return body.append("}");
}

// A blocking loopback TCP connection for raw HTTP.
class RawSocket {
 public:
  explicit RawSocket(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  bool ok() const { return fd_ >= 0; }
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until `stop` is in what was read, EOF, or the limit; returns what was read.
  std::string read_until(std::string_view stop, std::chrono::milliseconds limit = 10s) {
    return read_while([&](const std::string& out) { return out.find(stop) == std::string::npos; },
                      limit);
  }
  // Everything until the server closes the connection (or the limit).
  std::string read_to_eof(std::chrono::milliseconds limit = 30s) {
    return read_while([](const std::string&) { return true; }, limit);
  }
  // Whether a byte (or EOF) is waiting right now.
  bool anything_arrived() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  template <typename More>
  std::string read_while(More more, std::chrono::milliseconds limit) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (more(out)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  int fd_ = -1;
};

inline std::string post_request(std::string_view body, std::string_view extra_headers = "") {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" +
         std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

// The router's /programs entry of program `id`, if it is there.
inline const boost::json::object* find_program(const boost::json::value& programs,
                                               std::string_view id) {
  if (!programs.is_object()) return nullptr;
  for (const auto& p : programs.at("programs").as_array())
    if (p.at("id").as_string() == id) return &p.as_object();
  return nullptr;
}

// A copy of the program's entry in /programs, if it is there.
inline std::optional<boost::json::object> program_of(int router_port, std::string_view id) {
  const boost::json::value programs = get_json(router_port, "/programs");
  const boost::json::object* p = find_program(programs, id);
  return p ? std::optional<boost::json::object>(*p) : std::nullopt;
}

// The program's state in /programs ("in_flight", "held", "paused", "idle"), or "absent".
inline std::string state_of(int router_port, std::string_view id) {
  auto p = program_of(router_port, id);
  return p ? std::string(p->at("state").as_string()) : std::string("absent");
}

inline std::int64_t program_count(int router_port) {
  auto v = get_json(router_port, "/programs");
  return v.is_object() ? v.at("count").to_number<std::int64_t>() : -1;
}

// The router's /metrics text, led by a newline so that metric_value() finds the first line.
inline std::string router_metrics(int port) {
  auto r = call(port, "GET", "/metrics");
  return r ? "\n" + r->body : std::string();
}

// The value of a Prometheus sample line `name{labels} value` (or `name value`) in `text`.
inline double metric_value(const std::string& text, const std::string& name_and_labels) {
  const auto at = text.find("\n" + name_and_labels + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name_and_labels.size() + 2));
}

}  // namespace agentsched::testing
