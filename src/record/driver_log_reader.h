#pragma once
// Reader of the driver's log lines (driver.log, logs/tau2_global.log; docs/design.md,
// "Artifacts"). One streaming pass classifies every record and hands it to a visitor as
// views into the line, so the hot path allocates nothing.
//
// Records are found by their markers anywhere in a line, not only at its start, because the
// reference driver's threads sometimes glue a record after debug text or after another
// record: `[PROFILE] `, `[USER_JUDGE] `, `[TAU2_TASK_COMPLETE] `, `[YYYY-MM-DD HH:MM:SS] `
// (driver messages) and `FINISHED SIMULATION` (whose timestamp is the one right before
// ` | INFO` on the same line). A record runs to the next marker or the end of the line. A
// line whose marker is followed by something unparsable is skipped and counted as garbled.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace agentsched {

enum class ProfileEventType : std::uint8_t {
  kLlmCall,
  kExpertCall,
  kToolCall,
  kStepComplete,
  kUserSim,
  kOther,
};

// A `[PROFILE]` or `[USER_JUDGE]` record. Views point into the current line.
struct ProfileRecord {
  double unix_time = 0;  // the line's timestamp (when the call or step ended), UTC
  ProfileEventType type = ProfileEventType::kOther;
  std::string_view type_name;  // as written after type=
  std::string_view task;       // "<domain>:<task_id>", empty when absent
  int step = -1;               // -1 when absent
  // duration_ms for calls, total_duration_ms for step_complete; NaN when absent.
  double duration_ms = 0;
  std::string_view from_role;  // step_complete only
  std::string_view to_role;
  std::string_view fields;  // the whole `key=value ...` text, for other keys
  bool user_judge = false;  // came from a [USER_JUDGE] line
};

// A `FINISHED SIMULATION` record: one finished task (ok or error reward alike).
struct TaskFinishedRecord {
  double unix_time = 0;
  std::string_view domain;   // from "Domain: <d>,"; may be empty on a garbled tail
  std::string_view task_id;  // from "Task: <id>,"
};

// `[TAU2_TASK_COMPLETE] domain=<d> trial=0 task_id=<id> status=ok|error completed_global=N ...`
// It carries no timestamp.
struct TaskCompleteRecord {
  std::string_view domain;
  std::string_view task_id;
  std::string_view status;
  long completed_global = -1;
  long total_global = -1;
};

// The figures of `Global evaluation complete: ok=N error=N total=N elapsed_s=X
// tasks_per_min=Y`, the driver's closing line.
struct GlobalSummaryFigures {
  long ok = 0;
  long error = 0;
  long total = 0;
  double elapsed_s = 0;
  double tasks_per_min = 0;
};

struct GlobalSummaryRecord : GlobalSummaryFigures {
  double unix_time = 0;   // of the driver line
  std::string_view text;  // the record as written, for manifests
};

// Other `[YYYY-MM-DD HH:MM:SS] message` driver lines (run start, failures, configuration).
struct DriverMessageRecord {
  double unix_time = 0;
  std::string_view message;
};

class LogVisitor {
 public:
  static constexpr std::uint32_t kAllProfileTypes = ~std::uint32_t{0};
  static constexpr std::uint32_t bit(ProfileEventType type) {
    return std::uint32_t{1} << static_cast<unsigned>(type);
  }

  // `profile_types`: the [PROFILE]/[USER_JUDGE] types (bits) this visitor reads. The scan
  // stops reading a record of another type at its `type=` field: it is neither handed over
  // nor checked further (so a cut llm_call line does not count as garbled for a reader of
  // steps), which makes a scan for one kind of record markedly cheaper.
  explicit LogVisitor(std::uint32_t profile_types = kAllProfileTypes)
      : profile_types_(profile_types) {}
  virtual ~LogVisitor() = default;
  bool wants(ProfileEventType type) const { return (profile_types_ & bit(type)) != 0; }

  virtual void on_profile(const ProfileRecord&) {}
  virtual void on_task_finished(const TaskFinishedRecord&) {}
  virtual void on_task_complete(const TaskCompleteRecord&) {}
  virtual void on_global_summary(const GlobalSummaryRecord&) {}
  virtual void on_driver_message(const DriverMessageRecord&) {}

 private:
  std::uint32_t profile_types_;
};

struct LogScanStats {
  std::size_t bytes = 0;
  std::size_t lines = 0;
  std::size_t records = 0;
  // Skipped (in part or whole): a marker followed by something that did not parse, among the
  // records the visitor reads.
  std::size_t garbled_lines = 0;
  std::vector<std::size_t> first_garbled_line_numbers;  // at most kMaxGarbledExamples
  std::size_t glued_lines = 0;                          // lines that held more than one record
  static constexpr std::size_t kMaxGarbledExamples = 5;
};

// Streams `path` once. Errors: missing/unreadable file, or an empty one.
Result<LogScanStats> scan_log(const std::filesystem::path& path, LogVisitor& visitor);

// Scans one line (no '\n'); returns false when a marker on it did not parse. `records` is
// incremented per record handed to the visitor; `glued` is set when there was more than one.
bool scan_log_line(std::string_view line, LogVisitor& visitor, std::size_t& records, bool& glued);

// "YYYY-MM-DD HH:MM:SS[.fff]" (UTC) at the start of `text`; sets `length` to the characters
// used. Exact to the millisecond: the value is integer milliseconds / 1000.
std::optional<double> parse_log_timestamp(std::string_view text, std::size_t& length);

// Value of `key=` among space-separated `key=value` tokens; nullopt when absent.
std::optional<std::string_view> find_field(std::string_view fields, std::string_view key);

}  // namespace agentsched
