// Fault injection on loopback with the real binary (AGENTSCHED_BINARY): `agentsched drive`
// runs a small workload through `agentsched router` in front of `agentsched engine`
// processes while a backend is killed and restarted, stalls, answers 500, closes mid-answer
// or serves garbage metrics, while the driver's clients hang up on calls in flight or held,
// and while the router itself is killed and restarted. Every scenario ends the same way:
// every program of the workload has exactly one end in driver.log (ok, or error with its
// reason), the count equals the programs run, the router holds no program state after the
// releases (GET /programs is empty), and `agentsched check` judges the run DONE.
//
// Time: every process runs its clock kScale times faster than real time, so a program of
// minutes takes a second or two. Waits are bounded polls on conditions (driver.log, the
// router's and the engine's own views), never sleeps that time something; no assertion is
// on wall-clock speed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "http/prometheus.h"
#include "record/driver_log_reader.h"
#include "serve/child_process.h"
#include "serve/router_test_util.h"
#include "serve/spawn_child.h"
#include "serve/test_files.h"
#include "workload/workload_stats.h"

namespace agentsched::serve {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::call;
using testing::get_json;
using testing::run_shell;
using testing::ServiceProcess;
using testing::wait_until;

constexpr double kScale = 200;  // emulated seconds per real second, in every process
// Generous bounds for conditions: sanitizer builds run these processes many times slower.
constexpr auto kLong = 180s;

std::string scale_text() {
  return std::to_string(static_cast<int>(kScale));
}

fs::path temp_dir(const std::string& name) {
  return testing::scratch_dir("fault", name);
}

using testing::read_file;

std::size_t count(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::unique_ptr<ServiceProcess> engine(std::vector<std::string> extra = {}, int port = 0) {
  return testing::start_engine(std::move(extra), port, kScale);
}

// A router on `port` (0: a free one) on the run's clock; polls every 10 emulated seconds
// (50 ms real).
std::unique_ptr<ServiceProcess> router(const std::vector<std::string>& backends,
                                       std::vector<std::string> extra = {}, int port = 0) {
  std::string list;
  for (const auto& b : backends) list += (list.empty() ? "" : ",") + b;
  std::vector<std::string> argv = {
      AGENTSCHED_BINARY,    "router", "--port",       std::to_string(port),
      "--backends",         list,     "--time-scale", scale_text(),
      "--metrics-interval", "10"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ServiceProcess>(argv);
}

// `agentsched drive` as a child process, its stdout and stderr in a file of the test folder.
class DriverProcess {
 public:
  DriverProcess(int endpoint_port, const fs::path& out, int programs, int concurrency,
                std::vector<std::string> extra)
      : out_(out), log_(out.parent_path() / "drive.out") {
    std::vector<std::string> argv = {AGENTSCHED_BINARY,
                                     "drive",
                                     "--endpoint",
                                     "http://127.0.0.1:" + std::to_string(endpoint_port),
                                     "-c",
                                     std::to_string(concurrency),
                                     "--max-programs",
                                     std::to_string(programs),
                                     "--time-scale",
                                     scale_text(),
                                     "--no-progress",
                                     "--out",
                                     out.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    // stderr too: the child's stderr is ours unless redirected, so send it to the file.
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(fd, STDERR_FILENO);
    pid_ = testing::spawn_child(argv, fd, -1, /*close_inherited=*/true);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::close(fd);
  }
  ~DriverProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  DriverProcess(const DriverProcess&) = delete;
  DriverProcess& operator=(const DriverProcess&) = delete;

  bool running() {
    poll_exit();
    return !status_;
  }
  // The exit status, or nullopt if still running at `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit = kLong) {
    wait_until([&] { return !running(); }, limit);
    return status_;
  }
  std::string output() const { return read_file(log_); }
  // [TAU2_TASK_COMPLETE] lines in driver.log so far (flushed about once a real second).
  std::size_t ended() const {
    return count(read_file(out_ / "driver.log"), "[TAU2_TASK_COMPLETE]");
  }

 private:
  void poll_exit() {
    if (status_ || pid_ <= 0) return;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_)
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  fs::path out_;
  fs::path log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// The programs the driver runs: the first `n` of the tau2 workload (seed 1, the driver's
// default), by "<domain>:<task_id>", with whether the script itself ends in an error (an
// expert call scripted to fail).
std::map<std::string, bool> workload_programs(int n) {
  std::map<std::string, bool> out;
  auto w = load_workload("tau2", 1);
  EXPECT_TRUE(w.ok());
  if (!w.ok()) return out;
  for (int i = 0; i < n && i < static_cast<int>(w->programs.size()); ++i) {
    const auto& p = w->programs[static_cast<std::size_t>(i)];
    out[p.domain + ":" + p.task_id] = p.fails();
  }
  return out;
}

// What driver.log says about each program's end.
struct Ends : LogVisitor {
  std::map<std::string, int> ends;                  // [TAU2_TASK_COMPLETE] records per program
  std::map<std::string, std::string> status;        // ok / error
  std::map<std::string, std::string> error_reason;  // from `Task failed: ... error=<reason>`
  long total = -1, ok = -1, errors = -1;

  void on_task_complete(const TaskCompleteRecord& r) override {
    const std::string key = std::string(r.domain) + ":" + std::string(r.task_id);
    ++ends[key];
    status[key] = std::string(r.status);
  }
  void on_driver_message(const DriverMessageRecord& r) override {
    if (r.message.rfind("Task failed:", 0) != 0) return;
    const auto domain = find_field(r.message, "domain");
    const auto id = find_field(r.message, "task_id");
    const auto at = r.message.find(" error=");
    if (!domain || !id) return;
    error_reason[std::string(*domain) + ":" + std::string(*id)] =
        at == std::string_view::npos ? "" : std::string(r.message.substr(at + 7));
  }
  void on_global_summary(const GlobalSummaryRecord& r) override {
    total = r.total;
    ok = r.ok;
    errors = r.error;
  }
};

struct Outcome {
  long ok = 0;
  long errors = 0;
  long unscripted_errors = 0;  // errors of programs whose script ends well
  std::map<std::string, std::string> reasons;
};

// The accounting every scenario ends with. `router_port` 0: no router to ask.
// `router_health_flaps`: the router's only backend may be marked down at any poll (garbage
// metrics), so its /health may answer 503 and `check` must not be asked about the router.
Outcome expect_every_program_accounted(const fs::path& run,
                                       const std::map<std::string, bool>& programs, int router_port,
                                       bool router_health_flaps = false) {
  Outcome out;
  Ends v;
  auto scanned = scan_log(run / "driver.log", v);
  EXPECT_TRUE(scanned.ok()) << (scanned.ok() ? "" : scanned.error().message);
  if (!scanned.ok()) return out;
  EXPECT_EQ(scanned->garbled_lines, 0u);
  // Exactly one end per program of the workload, and no other program.
  for (const auto& [id, scripted_error] : programs) {
    EXPECT_EQ(v.ends[id], 1) << id;
    if (v.status[id] == "error") {
      ++out.errors;
      const std::string& reason = v.error_reason[id];
      EXPECT_FALSE(reason.empty()) << id << " failed without a reason";
      out.reasons[id] = reason;
      if (!scripted_error) ++out.unscripted_errors;
    } else {
      EXPECT_EQ(v.status[id], "ok") << id;
      ++out.ok;
    }
  }
  EXPECT_EQ(v.ends.size(), programs.size());
  EXPECT_EQ(v.total, static_cast<long>(programs.size()));
  EXPECT_EQ(v.ok + v.errors, static_cast<long>(programs.size()));
  EXPECT_EQ(v.ok, out.ok);
  EXPECT_EQ(v.errors, out.errors);
  if (router_port > 0) {
    // No program state left in the router once every program was released.
    const json::value p = get_json(router_port, "/programs");
    EXPECT_TRUE(p.is_object()) << p;
    if (p.is_object()) {
      EXPECT_EQ(p.at("count").to_number<int>(), 0) << p;
      EXPECT_TRUE(p.at("programs").as_array().empty()) << p;
      EXPECT_EQ(p.at("held_calls").to_number<int>(), 0) << p;
    }
    // And `agentsched check` sees a finished run and an empty router.
    std::string command = std::string(AGENTSCHED_BINARY) + " check --run-dir " + run.string();
    if (!router_health_flaps) command += " --router-port " + std::to_string(router_port);
    auto [rc, report] = run_shell(command);
    EXPECT_EQ(rc, 0) << report;
    EXPECT_NE(report.find("verdict: DONE"), std::string::npos) << report;
    EXPECT_NE(report.find("tasks ended " + std::to_string(programs.size()) + " of " +
                          std::to_string(programs.size())),
              std::string::npos)
        << report;
    if (!router_health_flaps) {
      EXPECT_NE(report.find("  programs 0 "), std::string::npos) << report;
    }
  }
  return out;
}

std::string describe(const Outcome& o) {
  std::string s = std::to_string(o.ok) + " ok, " + std::to_string(o.errors) + " errors";
  for (const auto& [id, why] : o.reasons) s += "\n  " + id + ": " + why;
  return s;
}

// An engine's /metrics, parsed; scraped again when the answer does not parse (the
// garbage-metrics fault hits the test's own scrapes too).
http::PrometheusText engine_metrics(int port) {
  http::PrometheusText text;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto r = call(port, "GET", "/metrics");
    if (!r || r->status != 200) continue;
    text = http::parse_prometheus_text(r->body);
    if (!text.samples.empty()) break;
  }
  return text;
}

double metric(int port, const std::string& name_and_labels) {
  auto r = call(port, "GET", "/metrics");
  if (!r || r->status != 200) return -1;
  return testing::metric_value(r->body, name_and_labels);
}

// The driver's own totals (agentsched/summary.json).
json::object driver_summary(const fs::path& run) {
  boost::system::error_code ec;
  auto v = json::parse(read_file(run / "agentsched/summary.json"), ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

long retries(const fs::path& run) {
  const auto s = driver_summary(run);
  const auto* r = s.if_contains("retries");
  return r && r->is_int64() ? static_cast<long>(r->as_int64()) : -1;
}

// The engine's queues are empty: nothing running or waiting (no request leaked by a fault).
void expect_engine_idle(int port) {
  const auto text = engine_metrics(port);
  for (const char* name : {"vllm:num_requests_running", "vllm:num_requests_waiting"}) {
    const auto samples = http::find_samples(text, name);
    ASSERT_EQ(samples.size(), 1u) << name;
    EXPECT_EQ(samples[0]->value, 0) << name;
  }
}

double faults(int engine_port, const std::string& kind) {
  const auto text = engine_metrics(engine_port);
  for (const auto* s : http::find_samples(text, "agentsched_engine_faults_injected_total"))
    if (s->label("kind") == kind) return s->value;
  return -1;
}

// ---------------------------------------------------------------- scenarios

TEST(FaultInjection, BackendKilledMidRunAndRestartedOnTheSamePort) {
  const fs::path dir = temp_dir("restart");
  auto e = engine();
  ASSERT_GT(e->port(), 0);
  const int engine_port = e->port();
  auto r = router({e->url()});
  ASSERT_GT(r->port(), 0);
  const auto programs = workload_programs(8);
  DriverProcess d(r->port(), dir / "run", 8, 4, {"--max-attempts", "30"});
  // Mid-run: a program has ended, and a call is on the engine right now.
  ASSERT_TRUE(wait_until([&] { return d.ended() >= 1 || !d.running(); }, kLong)) << d.output();
  ASSERT_TRUE(wait_until(
      [&] {
        const json::value b = get_json(r->port(), "/backends");
        return !d.running() ||
               (b.is_object() && b.at("backends").at(0).at("in_flight").to_number<int>() > 0);
      },
      kLong));
  ASSERT_TRUE(d.running()) << "the run ended before the engine could be killed";
  e->signal(SIGKILL);
  EXPECT_EQ(e->wait(), 128 + SIGKILL);
  // Calls fail while it is down (the router answers 503; the driver retries).
  ASSERT_TRUE(wait_until(
      [&] {
        const json::value b = get_json(r->port(), "/backends");
        return !d.running() ||
               (b.is_object() && b.at("backends").at(0).at("failures").to_number<int>() > 0);
      },
      kLong));
  e = engine({}, engine_port);  // SO_REUSEADDR: the same port at once
  ASSERT_EQ(e->port(), engine_port);

  ASSERT_EQ(d.wait(), 0) << d.output();
  const Outcome o = expect_every_program_accounted(dir / "run", programs, r->port());
  EXPECT_EQ(o.unscripted_errors, 0) << describe(o);
  EXPECT_GT(retries(dir / "run"), 0);  // the calls that failed were retried
  expect_engine_idle(e->port());
  fs::remove_all(dir);
}

TEST(FaultInjection, OneOfTwoBackendsKilledForGood) {
  const fs::path dir = temp_dir("twoback");
  auto e1 = engine();
  auto e2 = engine();
  ASSERT_GT(e1->port(), 0);
  ASSERT_GT(e2->port(), 0);
  auto r = router({e1->url(), e2->url()});
  ASSERT_GT(r->port(), 0);
  const auto programs = workload_programs(8);
  DriverProcess d(r->port(), dir / "run", 8, 6, {"--max-attempts", "30"});
  ASSERT_TRUE(wait_until(
      [&] {
        const json::value b = get_json(r->port(), "/backends");
        return !d.running() ||
               (b.is_object() && b.at("backends").at(1).at("in_flight").to_number<int>() > 0);
      },
      kLong));
  ASSERT_TRUE(d.running()) << "the run ended before the engine could be killed";
  e2->signal(SIGKILL);
  EXPECT_EQ(e2->wait(), 128 + SIGKILL);

  ASSERT_EQ(d.wait(), 0) << d.output();
  const Outcome o = expect_every_program_accounted(dir / "run", programs, r->port());
  EXPECT_EQ(o.unscripted_errors, 0) << describe(o);
  const json::value b = get_json(r->port(), "/backends");
  EXPECT_FALSE(b.at("backends").at(1).at("up").as_bool()) << b;
  expect_engine_idle(e1->port());
  fs::remove_all(dir);
}

// The driver's request timeout ends each stalled call; the router aborts it on the engine
// (KV freed) and the retry goes through.
TEST(FaultInjection, StallingBackendEveryNthCall) {
  const fs::path dir = temp_dir("stall");
  auto e = engine({"--fault", "stall=20"});
  ASSERT_GT(e->port(), 0);
  auto r = router({e->url()});
  ASSERT_GT(r->port(), 0);
  const auto programs = workload_programs(8);
  DriverProcess d(r->port(), dir / "run", 8, 6,
                  {"--max-attempts", "10", "--request-timeout", "200"});
  ASSERT_EQ(d.wait(), 0) << d.output();
  const Outcome o = expect_every_program_accounted(dir / "run", programs, r->port());
  EXPECT_EQ(o.unscripted_errors, 0) << describe(o);
  EXPECT_GE(faults(e->port(), "stall"), 1);
  EXPECT_GE(retries(dir / "run"), faults(e->port(), "stall"));
  // Each stalled call's client hung up on the router, which aborted it on the engine.
  EXPECT_GE(metric(r->port(), "agentsched_router_errors_total{kind=\"client_disconnect\"}"),
            faults(e->port(), "stall"));
  expect_engine_idle(e->port());
  fs::remove_all(dir);
}

// A fault on every fifth chat call that the driver sees as a failed attempt: each is
// retried and every program still ends ok.
void expect_call_faults_retried(const std::string& name, const std::string& spec) {
  const fs::path dir = temp_dir(name);
  auto e = engine({"--fault", spec});
  ASSERT_GT(e->port(), 0);
  auto r = router({e->url()});
  ASSERT_GT(r->port(), 0);
  const auto programs = workload_programs(8);
  DriverProcess d(r->port(), dir / "run", 8, 6, {"--max-attempts", "10"});
  ASSERT_EQ(d.wait(), 0) << d.output();
  const Outcome o = expect_every_program_accounted(dir / "run", programs, r->port());
  EXPECT_EQ(o.unscripted_errors, 0) << describe(o);
  EXPECT_GE(faults(e->port(), name), 1);
  EXPECT_GE(retries(dir / "run"), faults(e->port(), name));
  expect_engine_idle(e->port());
  fs::remove_all(dir);
}

TEST(FaultInjection, Http500EveryNthCall) {
  expect_call_faults_retried("http500", "http500=5");
}

TEST(FaultInjection, BackendClosingMidAnswerEveryNthCall) {
  expect_call_faults_retried("close", "close=5");
}

// Every third /metrics poll fails to parse: the backend flaps down and up under a policy
// that reads the metrics (admit), and no program is lost or stuck.
TEST(FaultInjection, GarbageMetricsEveryNthScrape) {
  const fs::path dir = temp_dir("garbage");
  auto e = engine({"--fault", "garbage-metrics=3"});
  ASSERT_GT(e->port(), 0);
  auto r = router({e->url()}, {"--policy", "admit"});
  ASSERT_GT(r->port(), 0);
  const auto programs = workload_programs(8);
  DriverProcess d(r->port(), dir / "run", 8, 6, {"--max-attempts", "10"});
  ASSERT_EQ(d.wait(), 0) << d.output();
  const Outcome o = expect_every_program_accounted(dir / "run", programs, r->port(),
                                                   /*router_health_flaps=*/true);
  EXPECT_EQ(o.unscripted_errors, 0) << describe(o);
  EXPECT_GE(faults(e->port(), "garbage-metrics"), 1);
  const json::value b = get_json(r->port(), "/backends");
  EXPECT_GE(b.at("backends").at(0).at("poll_failures").to_number<int>(), 1) << b;
  expect_engine_idle(e->port());
  fs::remove_all(dir);
}

// The driver's clients hang up on calls the router holds: thunderreact with thresholds at
// zero pauses a program every 150 emulated seconds and never resumes one, so a paused
// program's next call is held until the driver's request timeout (60 emulated seconds, five
// times the longest call of this workload). The router releases a program
// whose held call's client is gone; the retry registers it afresh and goes through.
TEST(FaultInjection, ClientHangsUpWhileItsCallIsHeld) {
  const fs::path dir = temp_dir("held");
  auto e = engine();
  ASSERT_GT(e->port(), 0);
  auto r = router({e->url()},
                  {"--policy", "thunderreact", "--param", "pause_threshold=0", "--param",
                   "resume_threshold=0", "--param", "pause_target=0", "--param", "budget=0",
                   "--param", "pause_cooldown_s=150", "--profile-dir", (dir / "profile").string()});
  ASSERT_GT(r->port(), 0);
  const auto programs = workload_programs(8);
  DriverProcess d(r->port(), dir / "run", 8, 6,
                  {"--max-attempts", "10", "--request-timeout", "60"});
  ASSERT_EQ(d.wait(), 0) << d.output();
  const Outcome o = expect_every_program_accounted(dir / "run", programs, r->port());
  EXPECT_EQ(o.unscripted_errors, 0) << describe(o);
  // Held calls were given up on, and their programs released by the router.
  EXPECT_GE(metric(r->port(), "agentsched_router_errors_total{kind=\"client_disconnect\"}"), 1);
  r->stop();  // flushes the profile
  const std::string ends = read_file(dir / "profile" / "programs.csv");
  EXPECT_GE(count(ends, ",disconnect\n"), 1u) << ends;
  expect_engine_idle(e->port());
  fs::remove_all(dir);
}

TEST(FaultInjection, RouterKilledMidRunAndRestartedOnTheSamePort) {
  const fs::path dir = temp_dir("router");
  auto e = engine();
  ASSERT_GT(e->port(), 0);
  auto r = router({e->url()});
  ASSERT_GT(r->port(), 0);
  const int port = r->port();
  const auto programs = workload_programs(8);
  DriverProcess d(port, dir / "run", 8, 4, {"--max-attempts", "30"});
  // Mid-run: a program has ended and a call is in flight through the router.
  ASSERT_TRUE(wait_until([&] { return d.ended() >= 1 || !d.running(); }, kLong)) << d.output();
  ASSERT_TRUE(wait_until(
      [&] {
        const json::value p = get_json(port, "/programs");
        if (!d.running()) return true;
        if (!p.is_object()) return false;
        for (const auto& prog : p.at("programs").as_array())
          if (prog.at("state").as_string() == "in_flight") return true;
        return false;
      },
      kLong));
  ASSERT_TRUE(d.running()) << "the run ended before the router could be killed";
  r->signal(SIGKILL);
  EXPECT_EQ(r->wait(), 128 + SIGKILL);
  r = router({e->url()}, {}, port);  // SO_REUSEADDR: the same port at once
  ASSERT_EQ(r->port(), port);

  ASSERT_EQ(d.wait(), 0) << d.output();
  const Outcome o = expect_every_program_accounted(dir / "run", programs, port);
  EXPECT_EQ(o.unscripted_errors, 0) << describe(o);
  EXPECT_GT(retries(dir / "run"), 0);  // the call in flight failed with the router
  expect_engine_idle(e->port());       // and the engine aborted it when its connection closed
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsched::serve
