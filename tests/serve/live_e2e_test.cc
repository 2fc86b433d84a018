// Live runs end to end on loopback with the real binary (AGENTSCHED_BINARY): a small
// experiment of the reference systems read back by `analyze compare`; the driver against an
// engine whose context is too short (no endless retry), against a flaky endpoint (bounded
// retries), against nothing; the sampler's parent watch; an interrupted experiment leaving
// no process behind. Emulated engines run at high time scales; waits are bounded polls on
// conditions, never sleeps that time something.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "http/endpoint.h"
#include "http/server.h"
#include "live/driver.h"
#include "live/kv_sampler.h"
#include "live/process.h"
#include "record/run_status.h"
#include "record/timeline.h"
#include "serve/child_process.h"
#include "serve/test_files.h"
#include "workload/program_runner.h"
#include "workload/shared_prefix.h"
#include "workload/workload_stats.h"

namespace agentsched::serve {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::run_shell;

fs::path temp_dir(const std::string& name) {
  return testing::scratch_dir("e2e", name);
}

using testing::read_file;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size()))
    ++n;
  return n;
}

// Polls `pred` every 20 ms until it holds or `limit` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

bool have_router() {
  return run_shell(std::string(AGENTSCHED_BINARY) + " router --help").first == 0;
}

// A process is gone (or a zombie nobody reaped yet).
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

// Live processes whose command line mentions `needle` (other than this test).
std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(needle) != std::string::npos && !process_gone(pid)) out.push_back(pid);
  }
  return out;
}

class EngineProcess {
 public:
  explicit EngineProcess(std::vector<std::string> extra) {
    std::vector<std::string> argv = {AGENTSCHED_BINARY, "engine", "--port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<ChildProcess>(argv);
    auto line = child_->read_line(30s);
    const std::string prefix = "listening on 127.0.0.1:";
    if (line && line->rfind(prefix, 0) == 0) port_ = std::stoi(line->substr(prefix.size()));
  }
  ~EngineProcess() {
    child_->signal(SIGTERM);
    child_->wait(20s);
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

TEST(LiveE2E, SmallExperimentOfTheReferenceSystemsAndAnalyzeCompare) {
  const fs::path base = temp_dir("experiment");
  std::string systems = "baseline,continuum";
  const bool router = have_router();
  if (router) systems += ",thunderreact";
  const std::string command =
      std::string(AGENTSCHED_BINARY) + " experiment run --mode live --systems " + systems +
      " -c 8 --max-programs 24 --time-scale 200 --threshold 20 --out " + base.string();
  auto [rc, out] = run_shell(command);
  ASSERT_EQ(rc, 0) << out;
  for (const std::string s : {"baseline", "continuum", "thunderreact"}) {
    if (s == "thunderreact" && !router) continue;
    const fs::path cell = base / (s + "_c8");
    const std::string log = read_file(cell / "driver.log");
    EXPECT_EQ(count(log, "[TAU2_TASK_COMPLETE]"), 24u) << s;
    EXPECT_NE(log.find("Global evaluation complete: "), std::string::npos) << s;
    EXPECT_NE(log.find("total=24"), std::string::npos) << s;
    EXPECT_NE(log.find("type=llm_call"), std::string::npos) << s;
    const std::string kv = read_file(cell / "kv_cache_timeseries.csv");
    EXPECT_EQ(kv.rfind("ts_iso,ts_unix,port,metric,value\n", 0), 0u) << s;
    EXPECT_GT(count(kv, "vllm:kv_cache_usage_perc{"), 10u) << s;
    EXPECT_TRUE(fs::exists(cell / "outputs/metrics_global.json")) << s;
    EXPECT_TRUE(fs::exists(cell / "agentsched/engine0.log")) << s;
    EXPECT_NE(read_file(cell / "agentsched/experiment_cell.json").find("\"ok\":true"),
              std::string::npos)
        << s;
    // Every process of the cell is gone.
    EXPECT_TRUE(processes_mentioning(cell.string()).empty()) << s;
  }
  EXPECT_TRUE(fs::exists(base / "summary.md"));
  EXPECT_TRUE(fs::exists(base / "kv_usage.svg"));
  EXPECT_NE(read_file(base / "summary.md").find("## Live comparison"), std::string::npos);

  auto [arc, table] =
      run_shell(std::string(AGENTSCHED_BINARY) + " analyze compare --threshold 20 " +
                (base / "baseline_c8").string() + " " + (base / "continuum_c8").string() +
                (router ? " " + (base / "thunderreact_c8").string() : ""));
  EXPECT_EQ(arc, 0) << table;
  EXPECT_NE(table.find("baseline"), std::string::npos) << table;
  EXPECT_NE(table.find("continuum"), std::string::npos) << table;
  if (router) {
    EXPECT_NE(table.find("thunderreact"), std::string::npos) << table;
  }

  // Finished cells are kept on a second run.
  auto [rc2, out2] = run_shell(command);
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_EQ(count(out2, "already finished: kept"), router ? 3u : 2u) << out2;
  if (!router)
    std::cout << "[ note ] `agentsched router` is not in this build: thunderreact not run\n";
  fs::remove_all(base);
}

TEST(LiveE2E, ContextLengthErrorsEndTheirTasksWithoutRetries) {
  // Every prompt starts with a head of 5,800+ tokens: none fits a 4,000-token context.
  EngineProcess engine({"--time-scale", "200", "--max-model-len", "4000"});
  ASSERT_GT(engine.port(), 0);
  const fs::path out = temp_dir("ctx") / "run";
  auto [rc, text] =
      run_shell(std::string(AGENTSCHED_BINARY) +
                " drive --endpoint http://127.0.0.1:" + std::to_string(engine.port()) +
                " -c 4 --max-programs 4 --time-scale 200 --no-progress --out " + out.string());
  ASSERT_EQ(rc, 0) << text;
  const std::string log = read_file(out / "driver.log");
  EXPECT_EQ(count(log, "status=error"), 4u) << log;
  EXPECT_EQ(count(log, "context length exceeded (HTTP 400)"), 4u) << log;
  EXPECT_NE(log.find("ok=0 error=4 total=4"), std::string::npos) << log;
  // One attempt each, none answered: the timeline (answered calls only) has just its header.
  const std::string summary = read_file(out / "agentsched/summary.json");
  EXPECT_NE(summary.find("\"llm_calls\":4"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"retries\":0"), std::string::npos) << summary;
  EXPECT_EQ(count(read_file(out / "agentsched/timeline.csv"), "\n"), 1u);
  fs::remove_all(out.parent_path());
}

TEST(LiveE2E, DeadEndpointFailsBeforeWritingARun) {
  auto port = pick_free_port("127.0.0.1");
  ASSERT_TRUE(port.ok());
  const fs::path out = temp_dir("dead") / "run";
  auto [rc, text] = run_shell(std::string(AGENTSCHED_BINARY) +
                              " drive --endpoint http://127.0.0.1:" + std::to_string(*port) +
                              " -c 2 --startup-timeout 1 --out " + out.string());
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find("does not answer"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(out / "driver.log"));
  fs::remove_all(out.parent_path());
}

// An OpenAI-compatible endpoint that fails chat calls on a pattern.
struct FlakyServer {
  explicit FlakyServer(int fail_every) : fail_every(fail_every) {
    server = std::make_unique<http::Server>(
        io.get_executor(), [this](http::Exchange& ex) { return handle(this, ex); });
    EXPECT_TRUE(server->listen("127.0.0.1", 0).ok());
    port = server->port();  // read before the server's thread runs
    server->start();
    thread = std::thread([this] { io.run(); });
  }
  ~FlakyServer() {
    asio::post(io, [this] { server->stop(); });
    io.stop();
    thread.join();
  }
  static asio::awaitable<void> handle(FlakyServer* self, http::Exchange& ex) {
    http::Response r;
    const auto path = ex.request().path();
    if (path == "/v1/models") {
      r.body = R"({"object":"list","data":[{"id":"flaky-model","object":"model"}]})";
    } else if (path == "/version") {
      // As vLLM answers it: no time scale (drive asks, to compare it with its own).
      r.body = R"({"version":"0.9.2"})";
    } else if (path == "/programs/release") {
      if (self->release_failures_left > 0) {
        --self->release_failures_left;
        ++self->failed_releases;
        r.status = 503;
        r.body = R"({"object":"error","message":"restarting","code":503})";
        co_await ex.respond(std::move(r));
        co_return;
      }
      ++self->releases;
    } else {
      const int n = ++self->chat_calls;
      if (ex.request().body.find(R"("model":"gpt-5")") != std::string::npos) ++self->user_calls;
      if (ex.request().body.find(R"("model":"expert-pool")") != std::string::npos)
        ++self->expert_calls;
      if (self->fail_every > 0 && n % self->fail_every != 0) {
        r.status = 503;
        r.body = R"({"object":"error","message":"overloaded","code":503})";
      } else {
        r.body = R"({"choices":[{"message":{"role":"assistant","content":"ok"}}],)"
                 R"("usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107}})";
      }
    }
    co_await ex.respond(std::move(r));
  }
  asio::io_context io;
  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;
  std::thread thread;
  int fail_every;
  std::atomic<int> chat_calls{0};
  std::atomic<int> releases{0};
  std::atomic<int> release_failures_left{0};  // the next N releases answer 503
  std::atomic<int> failed_releases{0};
  std::atomic<int> user_calls{0};
  std::atomic<int> expert_calls{0};
};

DriverOptions flaky_options(const FlakyServer& s, const fs::path& out) {
  DriverOptions o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = s.port;
  auto w = load_workload("tau2", 1);
  EXPECT_TRUE(w.ok());
  o.workload = std::make_shared<const Workload>(std::move(*w));
  o.concurrency = 2;
  o.max_programs = 2;
  o.out_dir = out;
  o.time_scale = 2000;  // scripted waits of minutes take tens of milliseconds
  return o;
}

TEST(LiveE2E, TransientErrorsAreRetriedWithBackoff) {
  FlakyServer server(2);  // every other call is a 503
  const fs::path out = temp_dir("flaky") / "run";
  DriverOptions o = flaky_options(server, out);
  o.concurrency = 1;  // calls strictly in turn: each first attempt fails, each second succeeds
  o.retry.max_attempts = 3;
  auto r = run_driver(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ok + r->errors, 2);
  EXPECT_GT(r->retries, 0);
  EXPECT_EQ(server.releases.load(), 2);  // each program released once
  const std::string log = read_file(out / "driver.log");
  EXPECT_NE(log.find("model=flaky-model"), std::string::npos);
  EXPECT_EQ(log.find("LLM call failed"), std::string::npos) << log;
  fs::remove_all(out.parent_path());
}

TEST(LiveE2E, RepeatedFailureEndsTheTaskAfterMaxAttempts) {
  FlakyServer server(1000000);  // always 503
  const fs::path out = temp_dir("down") / "run";
  DriverOptions o = flaky_options(server, out);
  o.retry.max_attempts = 3;
  auto r = run_driver(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->errors, 2);
  EXPECT_EQ(server.chat_calls.load(), 6);  // 3 attempts for each task's first call, no more
  const std::string log = read_file(out / "driver.log");
  EXPECT_EQ(count(log, "LLM call failed: HTTP 503: overloaded (gave up after 3 attempts)"), 2u)
      << log;
  fs::remove_all(out.parent_path());
}

TEST(LiveE2E, RealUserAndExpertCallsFromAModelConfig) {
  FlakyServer server(0);  // never fails; plays orchestrator, user simulator and experts
  const fs::path out = temp_dir("remote") / "run";
  DriverOptions o = flaky_options(server, out);
  const std::string port = std::to_string(server.port);
  auto config =
      parse_model_config(R"({"gpt-5": [{"ip_addr": "127.0.0.1", "port": )" + port +
                             R"(}], "expert-pool": [{"ip_addr": "127.0.0.1", "port": ")" + port +
                             R"("}], "oss_expert_mapping": {"openai/gpt-oss-20b": "expert-pool",
          "Qwen/Qwen3-32B-FP8": "expert-pool", "Qwen/Qwen3-Next-80B-A3B-Instruct": "expert-pool"}})",
                         "test");
  ASSERT_TRUE(config.ok()) << config.error().message;
  o.model_config = *config;
  auto r = run_driver(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // Every user turn (the opening message included) and every expert went to the server.
  EXPECT_GT(server.user_calls.load(), 2);
  EXPECT_EQ(server.user_calls.load() + server.expert_calls.load(), r->remote_calls);
  EXPECT_EQ(server.chat_calls.load(), r->llm_calls + r->remote_calls);
  // The logs keep the workload's expert names and the served usage.
  const std::string log = read_file(out / "driver.log");
  EXPECT_EQ(count(log, "type=user_sim "), static_cast<std::size_t>(server.user_calls.load()));
  EXPECT_EQ(count(log, "type=expert_call"), static_cast<std::size_t>(server.expert_calls.load()));
  EXPECT_GT(server.expert_calls.load(), 0);
  EXPECT_NE(log.find("type=expert_call"), std::string::npos);
  EXPECT_NE(log.find("model=openai/gpt-oss-20b"), std::string::npos);
  EXPECT_NE(log.find("input_tokens=100 output_tokens=7"), std::string::npos);
  fs::remove_all(out.parent_path());
}

TEST(LiveE2E, SamplerStopsWithItsParentAndNeverSharesAFile) {
  EngineProcess engine({"--time-scale", "50"});
  ASSERT_GT(engine.port(), 0);
  const fs::path dir = temp_dir("sampler");
  const fs::path csv = dir / "kv.csv";
  const std::string sample = std::string(AGENTSCHED_BINARY) + " sample --ports " +
                             std::to_string(engine.port()) + " --interval 0.2 --out " +
                             csv.string();
  // The parent shell prints the sampler's pid and stays until we kill it.
  ChildProcess parent({"/bin/sh", "-c", sample + " & echo $!; wait"});
  auto pid_line = parent.read_line(10s);
  ASSERT_TRUE(pid_line);
  const pid_t sampler = std::stoi(*pid_line);
  ASSERT_TRUE(eventually([&] { return count(read_file(csv), "\n") >= 3; }, 20s));
  // A second sampler is refused while the first writes.
  auto [rc, text] = run_shell(sample + " --force");
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find("another sampler"), std::string::npos) << text;
  parent.signal(SIGKILL);
  EXPECT_TRUE(eventually([&] { return process_gone(sampler); }, 20s));
  EXPECT_FALSE(sample_file_in_use(csv));
  fs::remove_all(dir);
}

TEST(LiveE2E, InterruptedExperimentLeavesNoProcessAndCheckSeesTheRun) {
  const fs::path base = temp_dir("interrupt");
  const fs::path cell = base / "baseline_c16";
  ChildProcess experiment({AGENTSCHED_BINARY, "experiment", "run", "--mode", "live", "--systems",
                           "baseline", "-c", "16", "--time-scale", "20", "--out", base.string()});
  // Wait until the driver reports progress.
  ASSERT_TRUE(eventually(
      [&] {
        auto st = read_run_status(cell);
        return st.ok() && st->state == "running";
      },
      60s));
  const std::string record = read_file(cell / "agentsched/experiment_cell.json");
  const auto ports_at = record.find("\"ports\":[");
  ASSERT_NE(ports_at, std::string::npos) << record;
  const int engine_port = std::stoi(record.substr(ports_at + 9));

  auto [crc, report] = run_shell(std::string(AGENTSCHED_BINARY) + " check --port " +
                                 std::to_string(engine_port) + " --run-dir " + cell.string());
  EXPECT_EQ(crc, 0) << report;
  EXPECT_NE(report.find("engine :" + std::to_string(engine_port) + "  healthy"), std::string::npos)
      << report;
  EXPECT_NE(report.find("verdict: OK"), std::string::npos) << report;
  EXPECT_NE(report.find("driver pid"), std::string::npos) << report;

  experiment.signal(SIGINT);
  EXPECT_EQ(experiment.wait(60s), 128 + SIGINT);
  EXPECT_TRUE(processes_mentioning(cell.string()).empty());
  EXPECT_TRUE(port_is_free("127.0.0.1", static_cast<std::uint16_t>(engine_port)));
  EXPECT_FALSE(sample_file_in_use(cell / "kv_cache_timeseries.csv"));
  auto st = read_run_status(cell);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->state, "interrupted");
  EXPECT_NE(read_file(cell / "driver.log").find("Run interrupted"), std::string::npos);
  // An interrupted run is judged as such, not as finished.
  auto [crc2, report2] =
      run_shell(std::string(AGENTSCHED_BINARY) + " check --run-dir " + cell.string());
  EXPECT_EQ(crc2, 1) << report2;  // a STALLED run is a failure (exit 1), not a usage error
  EXPECT_NE(report2.find("verdict: STALLED -- the driver was interrupted"), std::string::npos)
      << report2;
  fs::remove_all(base);
}

TEST(LiveE2E, ReleasesAreRetriedAndAReleaseThatNeverLandsIsLogged) {
  {
    FlakyServer server(0);
    server.release_failures_left = 2;  // the first release fails twice, then lands
    const fs::path out = temp_dir("release") / "run";
    DriverOptions o = flaky_options(server, out);
    o.concurrency = 1;
    o.retry.max_attempts = 3;
    auto r = run_driver(o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(server.failed_releases.load(), 2);
    EXPECT_EQ(server.releases.load(), 2);  // both programs released in the end
    EXPECT_EQ(read_file(out / "driver.log").find("Release of program"), std::string::npos);
    fs::remove_all(out.parent_path());
  }
  {
    FlakyServer server(0);
    server.release_failures_left = 1000;  // never lands
    const fs::path out = temp_dir("release") / "run";
    DriverOptions o = flaky_options(server, out);
    o.retry.max_attempts = 3;
    auto r = run_driver(o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->ok + r->errors, 2);              // a failed release does not fail the task
    EXPECT_EQ(server.failed_releases.load(), 6);  // 3 attempts for each of 2 programs
    const std::string log = read_file(out / "driver.log");
    EXPECT_EQ(count(log, "failed after 3 attempts (HTTP 503); the endpoint forgets it"), 2u) << log;
    fs::remove_all(out.parent_path());
  }
}

TEST(LiveE2E, DurationStopsStartsAndLetsProgramsInFlightFinish) {
  FlakyServer server(0);  // every call succeeds
  const fs::path out = temp_dir("duration") / "run";
  DriverOptions o = flaky_options(server, out);
  o.max_programs = 0;  // all 278: far more than fit in the duration
  // A program's scripted waits take hundreds of milliseconds at this scale, so the two slots
  // start a handful of programs in 0.3 s, never the whole workload.
  o.time_scale = 1000;
  o.duration_s = 0.3;
  auto r = run_driver(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GE(r->total, 2);  // both slots start at once
  EXPECT_LT(r->total, 278);
  EXPECT_EQ(r->ok + r->errors, r->total);  // every program started ended
  EXPECT_EQ(server.releases.load(), r->total);
  const std::string log = read_file(out / "driver.log");
  EXPECT_EQ(count(log, "[TAU2_TASK_COMPLETE]"), static_cast<std::size_t>(r->total)) << log;
  EXPECT_NE(log.find("Starts stopped after --duration 0.3 s (real): " + std::to_string(r->total) +
                     " of 278"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("total=" + std::to_string(r->total) + " "), std::string::npos) << log;
  fs::remove_all(out.parent_path());
}

// Open loop: each program starts at its arrival time (emulated), not when one of C slots frees.
// With C = 1 and calls answered at once, a closed loop would run the 40-odd programs back to
// back from time 0; here the k-th call leaves at the k-th arrival.
TEST(LiveE2E, OpenLoopProgramsStartAtTheirArrivals) {
  FlakyServer server(0);  // every call succeeds at once
  const fs::path out = temp_dir("open_loop") / "run";
  DriverOptions o = flaky_options(server, out);
  SharedPrefixParams p;
  p.groups = 2;
  p.users = 2;
  p.system_tokens = 40;
  p.question_tokens = 30;
  p.output_tokens = 5;
  p.stages = {{20, 2}};
  auto w = generate_shared_prefix(p, 3);
  ASSERT_TRUE(w.ok()) << w.error().message;
  o.workload = std::make_shared<const Workload>(std::move(*w));
  o.max_programs = 0;
  o.concurrency = 1;
  o.time_scale = 10;
  auto r = run_driver(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const long n = static_cast<long>(o.workload->programs.size());
  EXPECT_EQ(r->ok, n);
  std::map<std::string, double> arrival;
  for (const auto& prog : o.workload->programs)
    arrival[prog.domain + ":" + prog.task_id] = prog.arrival_s;
  // The timeline has the same columns as a simulated run's; a live client fills the times it
  // sees and the reply's tokens.
  auto rows = read_timeline(out);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  for (const TimelineRow& row : *rows) {
    // A late timer moves a start later, never earlier; half an emulated second is 50 ms real.
    const double due = arrival.at(row.task);
    EXPECT_GE(row.submitted_s + 1e-3, due) << row.task;
    EXPECT_LE(row.submitted_s, due + 0.5) << row.task;
    EXPECT_GE(row.finished_s, row.submitted_s) << row.task;
    EXPECT_GT(row.output_tokens, 0) << row.task;
    EXPECT_TRUE(std::isnan(row.first_token_s));  // not streamed: unknown to the client
  }
  EXPECT_EQ(static_cast<long>(rows->size()), n);
  const std::string config = read_file(out / "agentsched" / "config.json");
  EXPECT_NE(config.find("\"arrivals\":\"20:2\""), std::string::npos) << config;
  fs::remove_all(out.parent_path());
}

// Returns a VirtualClock's advance step for DriverOptions/SamplerOptions::advance_clock.
std::function<bool()> advance_to_next_wake(VirtualClock& clock) {
  return [&clock] {
    const auto t = clock.next_wake();
    if (t) clock.advance_to(*t);
    return t.has_value();
  };
}

TEST(LiveE2E, DriverWaitsOnTheManualClock) {
  FlakyServer server(2);  // every first attempt fails: a backoff before each answered call
  const fs::path out = temp_dir("manual_clock") / "run";
  DriverOptions o = flaky_options(server, out);
  o.concurrency = 1;  // one program at a time: the clock never moves while a call is out
  VirtualClock clock;
  o.clock = &clock;
  o.advance_clock = advance_to_next_wake(clock);
  auto r = run_driver(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ok + r->errors, 2);
  // The run took exactly its scripted waits and one backoff per call, in emulated time.
  double expected = 0;
  for (int i = 0; i < 2; ++i) {
    ProgramRunner runner(o.workload->programs[static_cast<std::size_t>(i)],
                         o.workload->prompt_cap_tokens, o.share_heads);
    for (ProgramStep step = runner.next(); step.kind != ProgramStep::Kind::kEnd;
         step = runner.next()) {
      if (step.kind == ProgramStep::Kind::kCall) {
        expected += o.retry.backoff_before(2);
        runner.call_done();
      } else {
        expected = step.ends_at(expected);
        runner.wait_done();
      }
    }
  }
  EXPECT_EQ(r->retries, r->llm_calls);
  EXPECT_DOUBLE_EQ(r->elapsed_s, expected);
  // None of it was waited for in real time.
  EXPECT_GT(expected, 60);
  EXPECT_LT(r->wall_s, expected / 10);
  fs::remove_all(out.parent_path());
}

TEST(LiveE2E, SamplerTicksOnTheManualClock) {
  asio::io_context io;
  http::Server metrics(io.get_executor(), [](http::Exchange& ex) -> asio::awaitable<void> {
    http::Response r;
    r.content_type = "text/plain";
    r.body = "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.5\n";
    co_await ex.respond(std::move(r));
  });
  ASSERT_TRUE(metrics.listen("127.0.0.1", 0).ok());
  const std::uint16_t port = metrics.port();
  metrics.start();
  std::thread thread([&] { io.run(); });
  const fs::path dir = temp_dir("sampler_manual");
  SamplerOptions o;
  o.ports = {port};
  o.interval_s = 5;
  o.duration_s = 3600;  // an emulated hour
  o.out = dir / "kv.csv";
  o.clock_origin_unix = 1.7e9;
  VirtualClock clock;
  o.clock = &clock;
  o.advance_clock = advance_to_next_wake(clock);
  const auto started = std::chrono::steady_clock::now();
  auto r = run_sampler(o);
  const auto real = std::chrono::steady_clock::now() - started;
  asio::post(io, [&] {
    metrics.stop();
    io.stop();
  });
  thread.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stop_reason, "duration reached");
  EXPECT_EQ(r->ticks, 721);  // 0, 5, ..., 3600
  EXPECT_EQ(r->nan_rows, 0);
  EXPECT_LT(real, 60s);
  // One row per tick, stamped at the tick's emulated time.
  std::istringstream csv(read_file(o.out));
  std::string line;
  std::getline(csv, line);  // the header
  long k = 0;
  while (std::getline(csv, line)) {
    const auto a = line.find(','), b = line.find(',', a + 1);
    EXPECT_EQ(line.substr(a + 1, b - a - 1), std::to_string(1700000000 + 5 * k)) << line;
    EXPECT_NE(line.find("kv_cache_usage_perc"), std::string::npos) << line;
    ++k;
  }
  EXPECT_EQ(k, 721);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsched::serve
