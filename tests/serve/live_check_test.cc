// `check`'s reading of run folders and its verdicts, on hand-written fixture folders whose
// answers are worked out below.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include "core/time_format.h"
#include "fixture_files.h"
#include "live/run_check.h"
#include "record/run_status.h"

namespace agentsched::serve {
namespace {

namespace fs = std::filesystem;

// 2026-01-05 10:00:00 UTC
constexpr double kT0 = 1767607200.0;

// Three tasks at C=3 of total 5: retail:0 finished at 10:05:00; telecom:1 waits on the user
// since 10:06:00 (agent->user step); airline:2 waits on an expert since 10:06:30 (its
// llm_call is logged, its step not yet).
constexpr const char* kWaitingRemote =
    "[2026-01-05 10:00:00] Scheduling mode: global (cross-domain)\n"
    "[2026-01-05 10:00:00] Scheduling mode: global (round-robin) total_tasks=5 "
    "max_concurrency=3\n"
    "[USER_JUDGE] 2026-01-05 10:00:05.000 task=retail:0 thread=1 type=user_sim step=1 model=gpt-5 "
    "call_type=openai duration_ms=5000.00\n"
    "[PROFILE] 2026-01-05 10:00:05.000 task=retail:0 thread=1 type=step_complete step=1 "
    "total_duration_ms=5000.00 from_role=user to_role=agent\n"
    "[PROFILE] 2026-01-05 10:04:00.000 task=retail:0 thread=1 type=llm_call step=2 model=m "
    "call_type=vllm duration_ms=1000.00 input_tokens=10 output_tokens=5 has_tool_calls=False\n"
    "[PROFILE] 2026-01-05 10:04:00.000 task=retail:0 thread=1 type=step_complete step=2 "
    "total_duration_ms=1000.00 from_role=agent to_role=user\n"
    "[PROFILE] 2026-01-05 10:05:00.000 task=retail:0 thread=1 type=step_complete step=3 "
    "total_duration_ms=60000.00 from_role=user to_role=agent\n"
    "2026-01-05 10:05:00.000 | INFO     | tau2.run:run_task:569 - FINISHED SIMULATION: Domain: "
    "retail, Task: 0, Agent: LLMAgent, User: UserSimulator. Reward: 0.0\n"
    "[TAU2_TASK_COMPLETE] domain=retail trial=0 task_id=0 status=ok completed_global=1 "
    "total_global=5\n"
    "[PROFILE] 2026-01-05 10:06:00.000 task=telecom:1 thread=2 type=step_complete step=2 "
    "total_duration_ms=1000.00 from_role=agent to_role=user\n"
    "[PROFILE] 2026-01-05 10:06:30.000 task=airline:2 thread=3 type=llm_call step=2 model=m "
    "call_type=vllm duration_ms=1000.00 input_tokens=10 output_tokens=5 has_tool_calls=True\n";

// As above, plus telecom:3 whose user replied at 10:06:40 (user->agent step): it now waits on
// its LLM call.
constexpr const char* kWaitingLlm =
    "[PROFILE] 2026-01-05 10:06:40.000 task=telecom:3 thread=1 type=step_complete step=3 "
    "total_duration_ms=9000.00 from_role=user to_role=agent\n";

constexpr const char* kComplete =
    "[2026-01-05 10:30:00] Global evaluation complete: ok=4 error=1 total=5 elapsed_s=1800.0 "
    "tasks_per_min=0.13\n";

class CheckFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentsched-check-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "agentsched");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write_log(const std::string& text) { std::ofstream(dir_ / "driver.log") << text; }
  VerdictInputs inputs(double now_unix) {
    auto p = read_run_progress(dir_);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    VerdictInputs in;
    if (p) in.progress = *p;
    in.now_unix = now_unix;
    in.real_now_unix = now_unix;
    return in;
  }
  fs::path dir_;
};

TEST_F(CheckFixture, ReadsProgressAndWhatTasksWaitOn) {
  write_log(std::string(kWaitingRemote) + kWaitingLlm);
  auto p = read_run_progress(dir_);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->total, 5);
  EXPECT_EQ(p->max_concurrency, 3);
  EXPECT_EQ(p->ended, 1);
  EXPECT_EQ(p->ok, 1);
  EXPECT_EQ(p->finished_simulation, 1);
  EXPECT_FALSE(p->complete);
  ASSERT_TRUE(p->last_task_unix);
  EXPECT_DOUBLE_EQ(*p->last_task_unix, kT0 + 300);
  EXPECT_EQ(*p->last_task, "retail:0");
  EXPECT_DOUBLE_EQ(*p->last_step_unix, kT0 + 400);
  EXPECT_DOUBLE_EQ(*p->last_event_unix, kT0 + 400);
  EXPECT_EQ(p->in_flight_seen, 3);
  EXPECT_EQ(p->waiting_on.at("user"), 1);
  EXPECT_EQ(p->waiting_on.at("expert"), 1);
  EXPECT_EQ(p->waiting_on.at("llm"), 1);
  EXPECT_DOUBLE_EQ(p->oldest_wait_unix.at("user"), kT0 + 360);
}

TEST_F(CheckFixture, RecentRecordIsOk) {
  write_log(kWaitingRemote);
  const Verdict v = judge_run(inputs(kT0 + 390 + 100));  // 100 s after the last record
  EXPECT_EQ(v.kind, VerdictKind::kOk) << v.reason;
  EXPECT_NE(v.reason.find("1 of 5 tasks"), std::string::npos) << v.reason;
}

TEST_F(CheckFixture, QuietButAllOnRemoteCallsIsWaiting) {
  write_log(kWaitingRemote);
  const Verdict v = judge_run(inputs(kT0 + 390 + 1000));
  EXPECT_EQ(v.kind, VerdictKind::kWaiting) << v.reason;
  EXPECT_NE(v.reason.find("2 tasks in flight wait on remote"), std::string::npos) << v.reason;
  // telecom:1 has waited since 10:06:00: 1030 s.
  EXPECT_NE(v.reason.find("17.2 min"), std::string::npos) << v.reason;
}

TEST_F(CheckFixture, QuietWithLlmCallsAndAnIdleEngineIsStalled) {
  write_log(std::string(kWaitingRemote) + kWaitingLlm);
  VerdictInputs in = inputs(kT0 + 400 + 1000);
  EXPECT_EQ(judge_run(in).kind, VerdictKind::kStalled);  // engine unknown
  EXPECT_NE(judge_run(in).reason.find("--port"), std::string::npos);
  in.engine = EngineView{true, "", BackendMetrics{}};
  const Verdict idle = judge_run(in);
  EXPECT_EQ(idle.kind, VerdictKind::kStalled);
  EXPECT_NE(idle.reason.find("nothing running or waiting"), std::string::npos) << idle.reason;
  in.engine->metrics->num_running = 4;
  EXPECT_EQ(judge_run(in).kind, VerdictKind::kWaiting);  // a slow engine, not a dead one
  in.engine = EngineView{false, "connection refused", std::nullopt};
  const Verdict down = judge_run(in);
  EXPECT_EQ(down.kind, VerdictKind::kStalled);
  EXPECT_NE(down.reason.find("does not answer"), std::string::npos) << down.reason;
  // A router holding paused programs explains the silence too.
  in.engine = EngineView{true, "", BackendMetrics{}};
  in.router_paused_programs = 3;
  EXPECT_EQ(judge_run(in).kind, VerdictKind::kWaiting);
}

TEST_F(CheckFixture, CompleteRunIsDone) {
  write_log(std::string(kWaitingRemote) + kComplete);
  const Verdict v = judge_run(inputs(kT0 + 1e6));
  EXPECT_EQ(v.kind, VerdictKind::kDone);
  EXPECT_NE(v.reason.find("ok=4 error=1"), std::string::npos);
}

TEST_F(CheckFixture, HeartbeatDecidesWhenPresent) {
  write_log(std::string(kWaitingRemote) + kWaitingLlm);
  RunStatus st;
  st.state = "running";
  st.pid = 999999;
  st.total = 5;
  st.finished = 1;
  st.waits["user"] = {2, 30};
  st.remote_waits = 2;
  st.oldest_remote_wait_s = 30;
  ASSERT_TRUE(write_run_status(dir_, st).ok());
  auto back = read_run_status(dir_);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->waits.at("user").count, 2);
  EXPECT_EQ(back->total, 5);

  VerdictInputs in = inputs(kT0 + 400 + 1000);
  in.status = *back;
  // The heartbeat says only remote calls are in flight (the log's guess said one LLM call).
  EXPECT_EQ(judge_run(in).kind, VerdictKind::kWaiting);
  in.driver_alive = false;
  const Verdict gone = judge_run(in);
  EXPECT_EQ(gone.kind, VerdictKind::kStalled);
  EXPECT_NE(gone.reason.find("driver process is gone"), std::string::npos) << gone.reason;
  in.driver_alive.reset();
  in.status->state = "interrupted";
  EXPECT_EQ(judge_run(in).kind, VerdictKind::kStalled);
}

TEST_F(CheckFixture, NothingInFlightAndNotCompleteIsStalled) {
  write_log(std::string(kWaitingRemote)
                .substr(0, std::string(kWaitingRemote).find("[PROFILE] 2026-01-05 10:06:00")));
  const Verdict v = judge_run(inputs(kT0 + 300 + 5000));
  EXPECT_EQ(v.kind, VerdictKind::kStalled);
  EXPECT_NE(v.reason.find("no task is seen in flight"), std::string::npos) << v.reason;
}

TEST_F(CheckFixture, ReportNamesTheVerdictAndTimes) {
  write_log(kWaitingRemote);
  CheckOptions o;
  o.run_dir = dir_;
  o.now_unix = kT0 + 390 + 1000;
  const CheckReport r = run_check(o);
  EXPECT_TRUE(r.healthy);
  ASSERT_TRUE(r.verdict);
  EXPECT_EQ(r.verdict->kind, VerdictKind::kWaiting);
  EXPECT_NE(r.text.find("tasks ended 1 of 5"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("last task finished  2026-01-05 10:05:00"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("verdict: WAITING"), std::string::npos) << r.text;
}

// A finished run's ages used to be measured against the run's clock, which keeps running
// after the end (20 times faster under --time-scale 20): "6.0 min ago" and 36 s later "35.8
// min ago". They are now real seconds, counted to the run's end, and do not move.
TEST_F(CheckFixture, FinishedRunAgesAreRealAndFrozen) {
  write_log(std::string(kWaitingRemote) + kComplete);
  std::ofstream(dir_ / "agentsched" / "config.json")
      << R"({"tool":"agentsched drive","time_scale":20,"clock_origin_unix":)" << std::to_string(kT0)
      << "}\n";
  CheckOptions o;
  o.run_dir = dir_;
  o.real_now_unix = kT0 + 200;
  const CheckReport first = run_check(o);
  o.real_now_unix = kT0 + 236;
  const CheckReport later = run_check(o);
  ASSERT_TRUE(first.verdict);
  EXPECT_EQ(first.verdict->kind, VerdictKind::kDone);
  // Last task 10:05:00, end 10:30:00: 25 emulated minutes are 75 real seconds.
  const std::string line =
      "last task finished  2026-01-05 10:05:00 (75 s before the run ended; 25.0 min emulated) "
      "retail:0\n";
  EXPECT_NE(first.text.find(line), std::string::npos) << first.text;
  EXPECT_NE(later.text.find(line), std::string::npos) << later.text;
  EXPECT_NE(first.text.find("run ended           2026-01-05 10:30:00"), std::string::npos)
      << first.text;
}

// A simulated run's timestamps are virtual (January 2026): measured against the wall clock
// they gave "(7973.5 h ago)". It is over once written, so it is measured to its end.
TEST_F(CheckFixture, SimulatedRunIsMeasuredToItsOwnEnd) {
  std::ofstream(dir_ / "agentsched" / "config.json") << R"({"tool":"agentsched sim"})"
                                                     << "\n";
  write_log(std::string(kWaitingRemote) + kComplete);
  CheckOptions o;
  o.run_dir = dir_;
  o.real_now_unix = kT0 + 1e8;
  const CheckReport done = run_check(o);
  EXPECT_EQ(done.verdict->kind, VerdictKind::kDone);
  EXPECT_NE(done.text.find("(25.0 min before the run ended) retail:0"), std::string::npos)
      << done.text;
  EXPECT_NE(done.text.find("[simulated: log times are virtual]"), std::string::npos) << done.text;
  EXPECT_NE(done.text.find("last step           2026-01-05 10:06:00 (24.0 min before the run "
                           "ended)"),
            std::string::npos)
      << done.text;

  // Without its closing line a simulated run failed: it will not go on.
  write_log(kWaitingRemote);
  const CheckReport failed = run_check(o);
  EXPECT_EQ(failed.verdict->kind, VerdictKind::kStalled);
  EXPECT_NE(failed.verdict->reason.find("ended without its closing line"), std::string::npos)
      << failed.verdict->reason;
  EXPECT_FALSE(failed.healthy);
}

// While a run goes on, ages are real seconds too: its log's clock runs `scale` times faster.
TEST_F(CheckFixture, RunningRunAgesAreRealSeconds) {
  write_log(kWaitingRemote);
  std::ofstream(dir_ / "agentsched" / "config.json")
      << R"({"tool":"agentsched drive","time_scale":20,"clock_origin_unix":)" << std::to_string(kT0)
      << "}\n";
  CheckOptions o;
  o.run_dir = dir_;
  // Real kT0 + 20 s is emulated 10:06:40: 100 emulated s, 5 real s after the 10:05:00 task.
  o.real_now_unix = kT0 + 20;
  const CheckReport r = run_check(o);
  EXPECT_NE(r.text.find("2026-01-05 10:05:00 (5 s ago; 100 s emulated) retail:0"),
            std::string::npos)
      << r.text;
}

TEST_F(CheckFixture, ReadsTheRunFormatSamples) {
  const fs::path fixture = test_fixtures::path("run-format");
  ASSERT_TRUE(fs::exists(fixture / "driver.log")) << fixture;
  auto p = read_run_progress(fixture);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->total, 278);
  EXPECT_EQ(p->ended, 3);
  EXPECT_EQ(p->errors, 1);
  EXPECT_EQ(p->finished_simulation, 2);  // one of them glued after debug text
  EXPECT_TRUE(p->complete);
}

// A status.json as the driver writes it, with `key`'s value replaced by `value`.
std::string status_json(const std::string& key = "", const std::string& value = "") {
  RunStatus st;
  st.state = "running";
  st.pid = 4242;
  st.updated_real_unix = kT0;
  st.updated_unix = kT0;
  st.time_scale = 20;
  st.clock_origin_unix = kT0 - 100;
  st.total = 5;
  st.finished = 1;
  st.waits["user"] = {2, 30};
  std::string text = format_run_status(st);
  if (!key.empty()) {
    const std::string quoted = "\"" + key + "\":";
    const auto at = text.find(quoted);
    EXPECT_NE(at, std::string::npos) << key;
    if (at == std::string::npos) return text;
    const auto begin = at + quoted.size();
    const auto end =
        text[begin] == '{' ? text.find('}', begin) + 1 : text.find_first_of(",}", begin);
    text.replace(begin, end - begin, value);
  }
  return text;
}

TEST(RunStatusFile, FormatsAndParsesBack) {
  auto st = parse_run_status(status_json(), "status.json");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->pid, 4242);
  EXPECT_EQ(st->time_scale, 20);
  EXPECT_EQ(st->waits.at("user").count, 2);
  EXPECT_EQ(format_run_status(*st), status_json());
}

// Found by fuzz/run_status: counts were converted from any JSON number, so 1e300 (or the
// Infinity that Boost.JSON reads for 1e999) converted to a long was undefined behaviour; a
// pid of 0 or -1 made `check` probe a whole process group with kill(); a negative count or a
// state no writer uses was taken as given.
TEST(RunStatusFile, RefusesValuesOutOfRangeNamingTheKey) {
  for (const auto& [key, value, expected] : {
           std::tuple{"finished", "1e300", "'finished' must be an integer"},
           std::tuple{"total", "1e999", "'total' must be an integer"},
           std::tuple{"ok", "-1", "'ok' must be an integer from 0"},
           std::tuple{"errors", "2.0", "'errors' must be an integer"},
           std::tuple{"retries", "18446744073709551615", "'retries' must be an integer"},
           std::tuple{"pid", "0", "'pid' must be an integer from 1"},
           std::tuple{"pid", "-1", "'pid' must be an integer from 1"},
           std::tuple{"pid", "4294967297", "'pid' must be an integer from 1"},
           std::tuple{"time_scale", "0", "'time_scale' must be positive"},
           std::tuple{"time_scale", "1e999", "'time_scale' must be a finite number"},
           std::tuple{"updated_unix", "-1e999", "'updated_unix' must be a finite number"},
           std::tuple{"oldest_remote_wait_s", "-1", "'oldest_remote_wait_s' must be a finite"},
           std::tuple{"count", "1e300", "'waits.user.count' must be an integer"},
           std::tuple{"oldest_s", "1e999", "'waits.user.oldest_s' must be a finite"},
           std::tuple{"user", "3", "'waits.user' must be an object"},
           std::tuple{"state", "\"paused\"", "'state' must be"},
           std::tuple{"clock_origin_unix", "null", "'clock_origin_unix' must be a finite"},
       }) {
    const std::string text = status_json(key, value);
    Result<RunStatus> st = make_error("not run");
    EXPECT_NO_THROW(st = parse_run_status(text, "status.json")) << text;
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_NE(st.error().message.find(expected), std::string::npos) << st.error().message;
    EXPECT_EQ(st.error().message.rfind("status.json: ", 0), 0u) << st.error().message;
  }
  auto missing = parse_run_status(R"({"state": "done", "pid": 1})", "status.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'updated_real_unix' missing"), std::string::npos)
      << missing.error().message;
}

TEST(RunClock, MapsRealToEmulatedTime) {
  RunClock c{20, 1000};
  EXPECT_DOUBLE_EQ(c.emulated_unix(1000), 1000);
  EXPECT_DOUBLE_EQ(c.emulated_unix(1010), 1200);
}

}  // namespace
}  // namespace agentsched::serve
