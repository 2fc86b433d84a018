#pragma once
// Writes a run folder in the reference's formats (docs/design.md, "Run folders"): driver.log
// with driver, [PROFILE] and [USER_JUDGE] lines, logs/tau2_global.log, the KV-usage CSV, and
// outputs/. Times are seconds since the run's start; `epoch_unix` maps them to wall time.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace agentsched {

struct TaskRef {
  std::string_view domain;
  std::string_view task_id;
  std::uint64_t thread = 0;
};

class RunWriter {
 public:
  // Creates the folder layout. Refuses a folder that already holds a run unless `overwrite`
  // (then the old run's files are removed first, so nothing stale is mixed in).
  // `with_kv_csv` false leaves the KV CSV alone (neither created nor removed): a live run's
  // CSV belongs to its sampler process (kv_sample() then writes nothing).
  static Result<std::unique_ptr<RunWriter>> create(const std::filesystem::path& dir,
                                                   double epoch_unix, bool overwrite,
                                                   bool with_kv_csv = true);
  ~RunWriter();
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

  void driver_line(double t, std::string_view message);
  // The driver log's opening lines: the scheduling mode and, per domain in order of first
  // appearance among `domains` (one entry per program), its task count.
  void loaded_tasks(double t, const std::vector<std::string_view>& domains,
                    std::string_view workload_name);
  void llm_call(double t, const TaskRef& task, long step, std::string_view model,
                double duration_ms, long input_tokens, long output_tokens, bool has_tool_calls);
  void expert_call(double t, const TaskRef& task, long step, std::string_view model,
                   double duration_ms, long input_tokens, long output_tokens);
  void tool_call(double t, const TaskRef& task, long step, std::string_view function,
                 double duration_ms);
  void step_complete(double t, const TaskRef& task, long step, double total_ms,
                     std::string_view from_role, std::string_view to_role);
  void user_sim(double t, const TaskRef& task, long step, std::string_view model,
                double duration_ms);
  void task_finished(double t, const TaskRef& task, double reward, long completed, long total);
  void task_failed(double t, const TaskRef& task, std::string_view error, long completed,
                   long total);
  void kv_sample(double t, int port, std::string_view metric, double value);

  // outputs/all_domains/<domain>__<task_id>__trial0.json
  Status write_task_output(const TaskRef& task, std::string_view status, double reward);
  // The closing driver line and outputs/metrics_global.json.
  Status write_global_summary(double t, const std::vector<std::string>& domains, long ok,
                              long error, long total, double elapsed_s);
  // Flushes everything written so far (live runs call it periodically).
  Status flush();
  // Flushes and closes; reports the first write error seen.
  Status close();

 private:
  RunWriter(std::filesystem::path dir, double epoch_unix);
  void profile_line(std::string_view body);
  // Starts line_ with a record's head: "[TAG] <time> task=<d>:<id> thread=<n> type=<type>
  // step=<n>"; the caller appends the type's fields.
  void begin_record(std::string_view tag, double t, const TaskRef& task, std::string_view type,
                    long step);
  void write(std::FILE* f, std::string_view text);

  std::filesystem::path dir_;
  double epoch_;
  std::FILE* driver_ = nullptr;
  std::FILE* global_ = nullptr;
  std::FILE* kv_ = nullptr;
  std::string line_;
  std::string error_;
};

}  // namespace agentsched
