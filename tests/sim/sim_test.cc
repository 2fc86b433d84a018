#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "model/profile.h"
#include "record/timeline.h"
#include "sim/simulation.h"
#include "workload/tau2_generator.h"
#include "workload/trace.h"

namespace agentsched {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("agentsched_sim_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_with(const fs::path& p, const std::string& needle) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

// Every file of a run folder, relative path -> content.
std::map<std::string, std::string> folder_contents(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return files;
}

class SimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workload_ = std::make_shared<const Workload>(*generate_tau2({}, 11));
  }
  SimOptions options(const std::string& system, int concurrency, const fs::path& out,
                     int max_programs = 40) {
    SimOptions o;
    o.system = *find_system(system);
    o.concurrency = concurrency;
    o.profile = *load_profile(kDefaultProfile);
    o.workload = workload_;
    o.max_programs = max_programs;
    o.out_dir = out;
    return o;
  }
  static std::shared_ptr<const Workload> workload_;
};
std::shared_ptr<const Workload> SimTest::workload_;

TEST_F(SimTest, EveryProgramFinishesOnceAndEveryStepIsLoggedOnce) {
  const fs::path dir = temp_dir("conservation");
  for (const std::string system : {"baseline", "continuum"}) {
    auto r = run_simulation(options(system, 16, dir / system));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->ok + r->errors, 40);
    const fs::path log = dir / system / "driver.log";
    // Each task completes exactly once.
    std::set<std::string> tasks;
    for (const auto& line : lines_with(log, "[TAU2_TASK_COMPLETE]")) {
      const auto at = line.find("task_id=");
      const auto domain = line.find("domain=");
      const std::string key = line.substr(domain, line.find(' ', domain) - domain) +
                              line.substr(at, line.find(' ', at) - at);
      EXPECT_TRUE(tasks.insert(key).second) << "twice: " << line;
    }
    EXPECT_EQ(tasks.size(), 40u);
    EXPECT_EQ(lines_with(log, "FINISHED SIMULATION").size(), static_cast<std::size_t>(r->ok));
    EXPECT_EQ(lines_with(log, "Task failed:").size(), static_cast<std::size_t>(r->errors));
    // Steps: as scripted, once in driver.log and once in the global log.
    long scripted = 0;
    for (int i = 0; i < 40; ++i) scripted += workload_->programs[i].steps();
    EXPECT_EQ(r->steps, scripted);
    EXPECT_EQ(lines_with(log, "type=step_complete").size(), static_cast<std::size_t>(scripted));
    EXPECT_EQ(lines_with(dir / system / "logs/tau2_global.log", "type=step_complete").size(),
              static_cast<std::size_t>(scripted));
    // LLM calls: one line per call the programs made.
    long calls = 0;
    for (int i = 0; i < 40; ++i) {
      const auto& p = workload_->programs[i];
      calls += p.llm_calls();
    }
    EXPECT_EQ(lines_with(log, "type=llm_call").size(), static_cast<std::size_t>(calls));
    EXPECT_EQ(r->llm_calls, calls);
    const auto summary = lines_with(log, "Global evaluation complete");
    ASSERT_EQ(summary.size(), 1u);
    EXPECT_NE(summary[0].find("total=40"), std::string::npos);
    // The KV CSV has the reference header and fractions.
    const std::string csv = slurp(dir / system / "kv_cache_timeseries.csv");
    EXPECT_EQ(csv.rfind("ts_iso,ts_unix,port,metric,value\n", 0), 0u);
    EXPECT_NE(csv.find("vllm:kv_cache_usage_perc{engine=\"0\";model_name="), std::string::npos);
    std::size_t outputs = 0;
    for (const auto& e : fs::directory_iterator(dir / system / "outputs/all_domains")) {
      (void)e;
      ++outputs;
    }
    EXPECT_EQ(outputs, 40u);
  }
  fs::remove_all(dir);
}

TEST_F(SimTest, SameSeedGivesByteIdenticalRunFolders) {
  const fs::path dir = temp_dir("determinism");
  ASSERT_TRUE(run_simulation(options("continuum", 24, dir / "a")).ok());
  ASSERT_TRUE(run_simulation(options("continuum", 24, dir / "b")).ok());
  const auto a = folder_contents(dir / "a");
  const auto b = folder_contents(dir / "b");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, content] : a) EXPECT_TRUE(b.at(name) == content) << name << " differs";
  fs::remove_all(dir);
}

TEST_F(SimTest, PassthroughAddsNothing) {
  const fs::path dir = temp_dir("passthrough");
  auto with = options("baseline", 16, dir / "gateway");
  auto without = options("baseline", 16, dir / "none");
  without.no_gateway = true;
  ASSERT_TRUE(run_simulation(with).ok());
  ASSERT_TRUE(run_simulation(without).ok());
  auto a = folder_contents(dir / "gateway");
  auto b = folder_contents(dir / "none");
  // agentsched/config.json names the gateway; every artifact must be identical.
  a.erase("agentsched/config.json");
  b.erase("agentsched/config.json");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, content] : a) EXPECT_TRUE(b.at(name) == content) << name << " differs";
  fs::remove_all(dir);
}

TEST_F(SimTest, RefusesToOverwriteARunUnlessAsked) {
  const fs::path dir = temp_dir("overwrite");
  ASSERT_TRUE(run_simulation(options("baseline", 8, dir, 6)).ok());
  auto again = run_simulation(options("baseline", 8, dir, 6));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already holds a run"), std::string::npos);
  auto forced = options("baseline", 8, dir, 6);
  forced.overwrite = true;
  EXPECT_TRUE(run_simulation(forced).ok());
  fs::remove_all(dir);
}

TEST_F(SimTest, HigherConcurrencyFillsTheKvCache) {
  const fs::path dir = temp_dir("kv");
  auto low = run_simulation(options("baseline", 2, dir / "low", 20));
  auto high = run_simulation(options("baseline", 20, dir / "high", 20));
  ASSERT_TRUE(low.ok());
  ASSERT_TRUE(high.ok());
  EXPECT_LT(low->backends[0].mean_kv_usage, high->backends[0].mean_kv_usage);
  // More programs at once finish the same work sooner while the GPU has headroom.
  EXPECT_LT(high->elapsed_s, low->elapsed_s);
  fs::remove_all(dir);
}

// ---- the command line ----

struct CommandResult {
  int code = 0;
  std::string output;
};

CommandResult run_command(const std::string& args) {
  CommandResult r;
  const std::string cmd = std::string(AGENTSCHED_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(SimCli, BadInputGetsAOneLineErrorAndNonZeroExit) {
  const fs::path dir = temp_dir("cli");
  fs::create_directories(dir);
  const std::string out = " --out " + (dir / "run").string();
  struct Case {
    std::string args;
    std::string message;
  };
  const fs::path bad_trace = dir / "bad.jsonl";
  std::ofstream(bad_trace) << "{\"format\":\"agentsched-workload\",\"version\":1}\n{oops\n";
  const std::vector<Case> cases = {
      {"sim run --system nosuch -c 8" + out, "unknown system 'nosuch'"},
      {"sim run --system baseline -c 8 --profile nosuch" + out, "unknown profile 'nosuch'"},
      {"sim run --system baseline -c 0" + out, "--concurrency must be at least 1"},
      {"sim run --system baseline -c 8 --workload " + bad_trace.string() + out,
       "bad.jsonl:2: malformed JSON"},
      {"sim run --system baseline -c 8 --out /proc/agentsched-cannot-write",
       "cannot create output folder"},
      {"sim matrix --systems baseline -c 8,zero" + out, "--concurrency"},
      {"sim run --system baseline -c 8 --param nope=1" + out, "has no parameter 'nope'"},
  };
  for (const auto& c : cases) {
    const CommandResult r = run_command(c.args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir / "run" / "driver.log"));
  fs::remove_all(dir);
}

TEST(SimCli, MatrixWritesCellsAndSummary) {
  const fs::path dir = temp_dir("matrix");
  const CommandResult r = run_command(
      "sim matrix --systems baseline,continuum -c 4,12 "
      "--max-programs 12 --out " +
      dir.string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* cell : {"baseline_c4", "baseline_c12", "continuum_c4", "continuum_c12"})
    EXPECT_TRUE(fs::exists(dir / cell / "driver.log")) << cell;
  EXPECT_TRUE(fs::exists(dir / "summary.md"));
  EXPECT_TRUE(fs::exists(dir / "summary.json"));
  EXPECT_NE(r.output.find("tasks/min, active window"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsched

namespace agentsched {
namespace {

// A call held in the gateway counts in its llm_call duration_ms, as the reference's clients
// measured it: duration = finished - submitted, held time included.
TEST_F(SimTest, HeldTimeCountsInTheCallsDuration) {
  const fs::path dir = temp_dir("held");
  auto o = options("ours", 32, dir, 60);
  o.num_gpu_blocks_override = 2500;  // tight KV: new programs wait for room
  auto r = run_simulation(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_GT(r->gateway_held_s, 0);
  // (task, step) -> duration_ms from driver.log
  std::map<std::pair<std::string, std::string>, double> duration;
  for (const auto& line : lines_with(dir / "driver.log", "type=llm_call")) {
    auto field = [&](const std::string& key) {
      const auto at = line.find(key + "=") + key.size() + 1;
      return line.substr(at, line.find(' ', at) - at);
    };
    duration[{field("task"), field("step")}] = std::stod(field("duration_ms"));
  }
  std::ifstream timeline(dir / "agentsched/timeline.csv");
  std::string row;
  std::getline(timeline, row);  // header
  int held_calls = 0;
  while (std::getline(timeline, row)) {
    std::vector<std::string> cols;
    std::stringstream ss(row);
    for (std::string c; std::getline(ss, c, ',');) cols.push_back(c);
    ASSERT_GE(cols.size(), 9u);
    const double submitted = std::stod(cols[3]), finished = std::stod(cols[7]);
    const double held = std::stod(cols[8]);
    const double logged_ms = duration.at({cols[0], cols[1]});
    EXPECT_NEAR(logged_ms, (finished - submitted) * 1e3, 1.0) << row;
    EXPECT_GE(logged_ms + 1.0, held * 1e3) << row;
    held_calls += held > 0;
  }
  EXPECT_GT(held_calls, 0);
  fs::remove_all(dir);
}

// The client's budget per call (call_timeout_s): a call still unanswered when it runs out is
// abandoned -- aborted in the engine or dropped from the gateway -- and its task ends as an
// error; every call that was answered took at most the budget, and the run still ends.
TEST_F(SimTest, ACallPastTheClientsBudgetEndsItsTaskAsAnError) {
  for (const std::string system : {"baseline", "thunderreact"}) {
    const fs::path dir = temp_dir("budget_" + system);
    auto o = options(system, 32, dir, 60);
    o.num_gpu_blocks_override = 2500;  // tight KV: calls wait long
    auto unbounded = run_simulation(o);
    ASSERT_TRUE(unbounded.ok()) << unbounded.error().message;
    double slowest_ms = 0;
    for (const auto& line : lines_with(dir / "driver.log", "type=llm_call")) {
      const auto at = line.find("duration_ms=") + 12;
      slowest_ms = std::max(slowest_ms, std::stod(line.substr(at, line.find(' ', at) - at)));
    }
    const double budget_s = slowest_ms / 1e3 / 3;  // some calls are sure to outlive it
    fs::remove_all(dir);

    o.call_timeout_s = budget_s;
    auto r = run_simulation(o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_GT(r->calls_timed_out, 0) << system;
    EXPECT_EQ(r->ok + r->errors, 60) << system;
    // Each timed-out call ends one task; a task it ends may be one that would have failed later
    // on a scripted expert error anyway.
    EXPECT_GE(r->errors, r->calls_timed_out) << system;
    EXPECT_LE(r->errors - unbounded->errors, r->calls_timed_out) << system;
    EXPECT_GT(r->errors, unbounded->errors) << system;
    EXPECT_EQ(
        static_cast<long>(lines_with(dir / "driver.log", "exceeded the client's budget").size()),
        r->calls_timed_out)
        << system;
    for (const auto& line : lines_with(dir / "driver.log", "type=llm_call")) {
      const auto at = line.find("duration_ms=") + 12;
      EXPECT_LE(std::stod(line.substr(at, line.find(' ', at) - at)), budget_s * 1e3 + 1e-6) << line;
    }
    fs::remove_all(dir);
  }
}

TEST(SimOutage, ParsesBackendStartEnd) {
  auto o = parse_backend_outage("1:600:1200.5");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->backend, 1);
  EXPECT_EQ(o->start_s, 600);
  EXPECT_EQ(o->end_s, 1200.5);
  for (const char* bad :
       {"", "1", "1:600", "x:1:2", "1:2:1", "1:5:5", "-1:0:1", "1:0:2:3", "1::2", "1:nan:2"})
    EXPECT_FALSE(parse_backend_outage(bad).ok()) << bad;
}

// Two backends, backend 1 down for a while: no call goes to it or finishes on it while it
// is down, the calls it was running are retried on backend 0, programs come back to it
// afterwards, and every program completes.
TEST_F(SimTest, ProgramsMoveOffABackendDuringItsOutageAndComeBack) {
  for (const std::string system : {"baseline", "thunderreact"}) {
    const fs::path dir = temp_dir("outage_" + system);
    auto o = options(system, 16, dir, 40);
    o.backends = 2;
    auto plain = run_simulation(o);
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    const double start = plain->elapsed_s / 4, end = plain->elapsed_s / 2;
    fs::remove_all(dir);

    o.outages = {{1, start, end}};
    auto r = run_simulation(o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->ok + r->errors, 40) << system;
    auto rows = read_timeline(dir);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    int before = 0, after = 0, retried = 0;
    // timeline.csv holds times to the millisecond: a call retried at `start` may read up to
    // half a millisecond earlier.
    constexpr double kRounding = 0.0005;
    for (const TimelineRow& row : *rows) {
      if (row.backend == 1) {
        EXPECT_FALSE(row.forwarded_s >= start && row.forwarded_s < end)
            << system << " " << row.task;
        EXPECT_FALSE(row.finished_s > start && row.finished_s <= end) << system << " " << row.task;
        before += row.finished_s <= start;
        after += row.forwarded_s >= end;
      } else if (row.submitted_s < start - kRounding && row.forwarded_s >= start - kRounding) {
        ++retried;  // cut on backend 1 (or held) at the start, then run on backend 0
      }
    }
    EXPECT_GT(before, 0) << system;
    EXPECT_GT(after, 0) << system;
    EXPECT_GT(retried, 0) << system;
    EXPECT_EQ(lines_with(dir / "driver.log", "Outage: backend 1 cannot be reached").size(), 1u);
    EXPECT_EQ(lines_with(dir / "driver.log", "Outage over: backend 1").size(), 1u);
    fs::remove_all(dir);
  }
}

TEST_F(SimTest, OutagesMustLeaveABackendUp) {
  const fs::path dir = temp_dir("outage_all");
  auto o = options("baseline", 4, dir, 4);
  o.backends = 2;
  o.outages = {{0, 10, 20}, {1, 15, 30}};
  auto r = run_simulation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no backend is up at 15 s"), std::string::npos)
      << r.error().message;
  o.outages = {{2, 10, 20}};
  r = run_simulation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no backend 2"), std::string::npos) << r.error().message;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsched
