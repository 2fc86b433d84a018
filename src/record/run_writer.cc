#include "record/run_writer.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>

#include "core/time_format.h"
#include "record/run_layout.h"

namespace agentsched {

namespace fs = std::filesystem;

namespace {
std::FILE* open_for_write(const fs::path& p, std::string& error) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f && error.empty()) error = fmt::format("cannot write '{}'", p.string());
  if (f) std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  return f;
}
}  // namespace

Result<std::unique_ptr<RunWriter>> RunWriter::create(const fs::path& dir, double epoch_unix,
                                                     bool overwrite, bool with_kv_csv) {
  std::error_code ec;
  if (run_layout::holds_run(dir)) {
    if (!overwrite)
      return make_error(
          fmt::format("'{}' already holds a run (driver.log exists); choose another "
                      "folder or pass --force to replace it",
                      dir.string()));
    for (const char* name :
         {run_layout::kDriverLog, run_layout::kKvCsv, "logs", "outputs", run_layout::kOwnDir})
      if (with_kv_csv || name != std::string_view(run_layout::kKvCsv))
        fs::remove_all(dir / name, ec);
  }
  fs::create_directories(dir / "logs", ec);
  if (!ec) fs::create_directories(dir / run_layout::kTaskOutputsDir, ec);
  if (!ec) fs::create_directories(dir / run_layout::kOwnDir, ec);
  if (ec)
    return make_error(fmt::format("cannot create run folder '{}': {}", dir.string(), ec.message()));
  std::unique_ptr<RunWriter> w(new RunWriter(dir, epoch_unix));
  std::string error;
  w->driver_ = open_for_write(dir / run_layout::kDriverLog, error);
  w->global_ = open_for_write(dir / run_layout::kGlobalLog, error);
  if (with_kv_csv) w->kv_ = open_for_write(dir / run_layout::kKvCsv, error);
  if (!error.empty()) return make_error(error);
  w->write(w->kv_, fmt::format("{}\n", run_layout::kKvCsvHeader));
  return w;
}

RunWriter::RunWriter(fs::path dir, double epoch_unix) : dir_(std::move(dir)), epoch_(epoch_unix) {}

RunWriter::~RunWriter() {
  (void)close();
}

void RunWriter::write(std::FILE* f, std::string_view text) {
  if (!f) return;
  if (std::fwrite(text.data(), 1, text.size(), f) != text.size() && error_.empty())
    error_ = fmt::format("write error in run folder '{}'", dir_.string());
}

void RunWriter::loaded_tasks(double t, const std::vector<std::string_view>& domains,
                             std::string_view workload_name) {
  driver_line(t, "Scheduling mode: global (cross-domain)");
  std::map<std::string_view, long> per_domain;
  std::vector<std::string_view> order;
  for (std::string_view d : domains)
    if (per_domain[d]++ == 0) order.push_back(d);
  for (std::string_view d : order)
    driver_line(t, fmt::format("Loaded tasks: domain={} tasks={} trials=1 path=workload:{}", d,
                               per_domain[d], workload_name));
}

void RunWriter::driver_line(double t, std::string_view message) {
  write(driver_, fmt::format("[{}] {}\n", format_datetime(epoch_ + t), message));
}

void RunWriter::profile_line(std::string_view body) {
  write(driver_, body);
  write(global_, body);
}

void RunWriter::begin_record(std::string_view tag, double t, const TaskRef& task,
                             std::string_view type, long step) {
  line_.clear();
  fmt::format_to(std::back_inserter(line_), "[{}] {} task={}:{} thread={} type={} step={}", tag,
                 format_datetime_ms(epoch_ + t), task.domain, task.task_id, task.thread, type,
                 step);
}

void RunWriter::llm_call(double t, const TaskRef& task, long step, std::string_view model,
                         double duration_ms, long input_tokens, long output_tokens,
                         bool has_tool_calls) {
  begin_record("PROFILE", t, task, "llm_call", step);
  fmt::format_to(std::back_inserter(line_),
                 " model={} call_type=vllm duration_ms={:.2f} input_tokens={} output_tokens={} "
                 "has_tool_calls={}\n",
                 model, duration_ms, input_tokens, output_tokens,
                 has_tool_calls ? "True" : "False");
  profile_line(line_);
}

void RunWriter::expert_call(double t, const TaskRef& task, long step, std::string_view model,
                            double duration_ms, long input_tokens, long output_tokens) {
  begin_record("PROFILE", t, task, "expert_call", step);
  fmt::format_to(std::back_inserter(line_),
                 " model={} call_type=vllm duration_ms={:.2f} input_tokens={} output_tokens={}\n",
                 model, duration_ms, input_tokens, output_tokens);
  profile_line(line_);
}

void RunWriter::tool_call(double t, const TaskRef& task, long step, std::string_view function,
                          double duration_ms) {
  begin_record("PROFILE", t, task, "tool_call", step);
  fmt::format_to(std::back_inserter(line_),
                 " function={} call_type=local_function duration_ms={:.2f}\n", function,
                 duration_ms);
  profile_line(line_);
}

void RunWriter::step_complete(double t, const TaskRef& task, long step, double total_ms,
                              std::string_view from_role, std::string_view to_role) {
  begin_record("PROFILE", t, task, "step_complete", step);
  fmt::format_to(std::back_inserter(line_), " total_duration_ms={:.2f} from_role={} to_role={}\n",
                 total_ms, from_role, to_role);
  profile_line(line_);
}

void RunWriter::user_sim(double t, const TaskRef& task, long step, std::string_view model,
                         double duration_ms) {
  begin_record("USER_JUDGE", t, task, "user_sim", step);
  fmt::format_to(std::back_inserter(line_), " model={} call_type=openai duration_ms={:.2f}\n",
                 model, duration_ms);
  profile_line(line_);
}

void RunWriter::task_finished(double t, const TaskRef& task, double reward, long completed,
                              long total) {
  write(driver_, fmt::format("{} | INFO     | tau2.run:run_task:569 - FINISHED SIMULATION: "
                             "Domain: {}, Task: {}, Agent: LLMAgent, User: UserSimulator. "
                             "Reward: {:.1f}\n",
                             format_datetime_ms(epoch_ + t), task.domain, task.task_id, reward));
  write(driver_, fmt::format("[TAU2_TASK_COMPLETE] domain={} trial=0 task_id={} status=ok "
                             "completed_global={} total_global={}\n",
                             task.domain, task.task_id, completed, total));
}

void RunWriter::task_failed(double t, const TaskRef& task, std::string_view error, long completed,
                            long total) {
  driver_line(t, fmt::format("Task failed: domain={} task_id={} trial=0 error={}", task.domain,
                             task.task_id, error));
  write(driver_, fmt::format("[TAU2_TASK_COMPLETE] domain={} trial=0 task_id={} status=error "
                             "completed_global={} total_global={}\n",
                             task.domain, task.task_id, completed, total));
}

void RunWriter::kv_sample(double t, int port, std::string_view metric, double value) {
  const double unix_t = epoch_ + t;
  write(kv_, fmt::format("{},{},{},{},{:.6g}\n", format_iso8601(unix_t),
                         static_cast<long long>(unix_t), port, metric, value));
}

Status RunWriter::write_task_output(const TaskRef& task, std::string_view status, double reward) {
  boost::json::object o;
  o["domain"] = task.domain;
  o["task_id"] = task.task_id;
  o["trial"] = 0;
  o["status"] = status;
  o["reward"] = reward;
  const fs::path p = dir_ / run_layout::kTaskOutputsDir /
                     fmt::format("{}__{}__trial0.json", task.domain, task.task_id);
  std::ofstream out(p);
  out << boost::json::serialize(o) << '\n';
  if (!out) return make_error(fmt::format("cannot write '{}'", p.string()));
  return Ok{};
}

Status RunWriter::write_global_summary(double t, const std::vector<std::string>& domains, long ok,
                                       long error, long total, double elapsed_s) {
  const double per_min = elapsed_s > 0 ? ok / (elapsed_s / 60.0) : 0.0;
  driver_line(t, fmt::format("Global evaluation complete: ok={} error={} total={} elapsed_s={:.1f} "
                             "tasks_per_min={:.2f}",
                             ok, error, total, elapsed_s, per_min));
  boost::json::object o;
  boost::json::array d;
  for (const auto& name : domains) d.emplace_back(name);
  o["domains"] = std::move(d);
  o["total"] = total;
  o["ok"] = ok;
  o["error"] = error;
  o["elapsed_s"] = std::round(elapsed_s * 10) / 10;
  o["tasks_per_min"] = std::round(per_min * 100) / 100;
  const fs::path p = dir_ / run_layout::kMetricsJson;
  std::ofstream out(p);
  out << boost::json::serialize(o) << '\n';
  if (!out) return make_error(fmt::format("cannot write '{}'", p.string()));
  return Ok{};
}

Status RunWriter::flush() {
  for (std::FILE* f : {driver_, global_, kv_})
    if (f && std::fflush(f) != 0 && error_.empty())
      error_ = fmt::format("write error in run folder '{}'", dir_.string());
  if (!error_.empty()) return make_error(error_);
  return Ok{};
}

Status RunWriter::close() {
  Status st = flush();
  for (std::FILE** f : {&driver_, &global_, &kv_}) {
    if (*f && std::fclose(*f) != 0 && error_.empty())
      error_ = fmt::format("write error in run folder '{}'", dir_.string());
    *f = nullptr;
  }
  if (!error_.empty()) return make_error(error_);
  return st;
}

}  // namespace agentsched
