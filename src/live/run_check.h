#pragma once
// `agentsched check`: health of the live processes and progress of a run, with a verdict
// that tells a run waiting on slow remote calls from a dead one (docs/reference-study.md 7.3: runs
// looked stuck, GPU idle, while they waited on user/expert calls; only the times of the last
// finished task and step told waiting from dead).
//
// The run is judged from its folder alone (driver.log, plus the live driver's heartbeat in
// agentsched/status.json when present), so it works on our runs and the reference's; the
// engine's queues, when given, settle the one case the logs cannot: calls in flight and no
// step for a long time.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/backend_metrics.h"
#include "core/result.h"
#include "record/run_status.h"

namespace agentsched::serve {

// What a run folder's driver.log says.
struct RunProgress {
  long total = -1;  // total_tasks of the header, else total_global; -1 unknown
  int max_concurrency = 0;
  long ended = 0;  // [TAU2_TASK_COMPLETE] records (ok and error)
  long ok = 0;
  long errors = 0;
  long finished_simulation = 0;  // FINISHED SIMULATION records
  bool complete = false;         // "Global evaluation complete" seen
  std::string complete_line;
  std::optional<double> start_unix;  // first driver line
  std::optional<double> last_task_unix;
  std::optional<std::string> last_task;  // "<domain>:<task_id>"
  std::optional<double> last_step_unix;
  std::optional<double> last_event_unix;   // any [PROFILE]/[USER_JUDGE] record
  std::optional<double> last_record_unix;  // the latest timestamp of any line
  std::optional<double> complete_unix;     // of the "Global evaluation complete" line
  // Tasks seen in the log and not ended, by what their last record says they wait on:
  // user (agent->user step), expert (an llm_call not yet followed by its step), tool
  // (agent->env step), llm (a step towards the agent).
  std::map<std::string, long> waiting_on;
  std::map<std::string, double> oldest_wait_unix;  // per kind: earliest last-record time
  long in_flight_seen = 0;
};

Result<RunProgress> read_run_progress(const std::filesystem::path& run_dir);

// The emulated clock of a live run (agentsched/config.json of `drive`); absent for the
// reference's and simulated folders.
struct RunClock {
  double time_scale = 1;
  double clock_origin_unix = 0;
  double emulated_unix(double real_unix) const {
    return clock_origin_unix + (real_unix - clock_origin_unix) * time_scale;
  }
};
std::optional<RunClock> read_run_clock(const std::filesystem::path& run_dir);

// Whether agentsched/config.json says `sim` wrote the folder: its timestamps are virtual and
// the run is over once the folder exists.
bool is_simulated_run(const std::filesystem::path& run_dir);

struct EngineView {
  bool answered = false;
  std::string error;
  std::optional<BackendMetrics> metrics;
};

enum class VerdictKind { kOk, kWaiting, kStalled, kDone };
std::string_view verdict_name(VerdictKind kind);  // OK, WAITING, STALLED, DONE

struct Verdict {
  VerdictKind kind = VerdictKind::kOk;
  std::string reason;
};

struct VerdictInputs {
  RunProgress progress;
  std::optional<RunStatus> status;   // the driver's heartbeat, when the run has one
  std::optional<bool> driver_alive;  // from the heartbeat's pid and age; nullopt = unknown
  double now_unix = 0;               // the run's (emulated) now; its end once it has ended
  bool ended = false;                // the driver finished or stopped, or a simulated run
  double real_now_unix = 0;
  std::optional<EngineView> engine;
  long router_paused_programs = -1;  // -1 unknown
  double stall_after_s = 600;        // emulated seconds without any record
  double heartbeat_timeout_s = 15;   // real seconds
};

// Rules, in order: DONE when the closing line is there; STALLED when the driver is known
// dead or was interrupted, or the run ended without its closing line; OK when a record was written
// within stall_after_s; otherwise (quiet for long): WAITING when every task in flight waits on
// remote user/expert calls, or when calls wait on an engine that is busy (requests running or
// waiting) or on programs a router holds paused; STALLED in every other case (calls wait on an idle
// or unreachable engine, or nothing is in flight at all).
Verdict judge_run(const VerdictInputs& in);

// Queries an engine's /health, /metrics (and /v1/models into `models`).
EngineView query_engine(const std::string& host, std::uint16_t port,
                        std::vector<std::string>* models = nullptr, double timeout_s = 5);

struct CheckOptions {
  std::string host = "127.0.0.1";
  std::optional<std::uint16_t> engine_port;
  std::optional<std::uint16_t> router_port;
  std::filesystem::path run_dir;
  double stall_after_s = 600;
  std::optional<double> now_unix;       // evaluate as of this (emulated) time; default: now
  std::optional<double> real_now_unix;  // the real clock (tests); default: the system clock
};

// Times in the report: timestamps as the run's log writes them (emulated under a time
// scale, virtual for simulated runs); ages in real seconds ("ago"), measured from the run's
// end once it has ended, so they stop growing, plus the real time since the end when known.
struct CheckReport {
  std::string text;     // for people, several lines
  bool healthy = true;  // false: a process down, or the run STALLED
  std::optional<Verdict> verdict;
};

CheckReport run_check(const CheckOptions& options);

}  // namespace agentsched::serve
