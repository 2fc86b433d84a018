#include "live/run_check.h"

#include <fmt/format.h>
#include <signal.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "core/enum_names.h"
#include "core/time_format.h"
#include "http/client.h"
#include "http/live_http.h"
#include "http/prometheus.h"
#include "http/vllm_metrics.h"
#include "record/driver_log_reader.h"
#include "record/run_layout.h"

namespace agentsched::serve {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

struct TaskState {
  double last_unix = 0;
  std::string wait;  // see RunProgress::waiting_on
  bool ended = false;
};

class ProgressVisitor final : public LogVisitor {
 public:
  explicit ProgressVisitor(RunProgress& p) : p_(p) {}

  void on_profile(const ProfileRecord& r) override {
    p_.last_event_unix = r.unix_time;
    saw(r.unix_time);
    if (r.task.empty()) return;
    TaskState& t = tasks_[std::string(r.task)];
    t.last_unix = r.unix_time;
    switch (r.type) {
      case ProfileEventType::kStepComplete:
        p_.last_step_unix = r.unix_time;
        if (r.to_role == "user")
          t.wait = "user";
        else if (r.to_role == "env")
          t.wait = "tool";
        else
          t.wait = "llm";
        break;
      case ProfileEventType::kLlmCall:
        // Its step line follows at once unless an expert is called first.
        t.wait = "expert";
        break;
      default:
        break;  // tool, expert and user lines are followed by their step at the same time
    }
  }
  void on_task_finished(const TaskFinishedRecord& r) override {
    saw(r.unix_time);
    ++p_.finished_simulation;
    p_.last_task_unix = r.unix_time;
    p_.last_task = fmt::format("{}:{}", r.domain, r.task_id);
    tasks_[*p_.last_task].ended = true;
  }
  void on_task_complete(const TaskCompleteRecord& r) override {
    ++p_.ended;
    if (r.status == "error")
      ++p_.errors;
    else
      ++p_.ok;
    if (r.total_global > 0 && p_.total < 0) p_.total = r.total_global;
    tasks_[fmt::format("{}:{}", r.domain, r.task_id)].ended = true;
  }
  void on_global_summary(const GlobalSummaryRecord& r) override {
    saw(r.unix_time);
    p_.complete_unix = r.unix_time;
    p_.complete = true;
    p_.complete_line = std::string(r.text);
    if (p_.total < 0) p_.total = r.total;
  }
  void on_driver_message(const DriverMessageRecord& r) override {
    saw(r.unix_time);
    if (!p_.start_unix) p_.start_unix = r.unix_time;
    if (auto total = find_field(r.message, "total_tasks"))
      p_.total = std::stol(std::string(*total));
    if (auto c = find_field(r.message, "max_concurrency"))
      p_.max_concurrency = std::stoi(std::string(*c));
    // A failed task's driver line is the only timestamp of its end.
    if (r.message.rfind("Task failed:", 0) == 0) {
      auto domain = find_field(r.message, "domain");
      auto id = find_field(r.message, "task_id");
      if (domain && id) tasks_[fmt::format("{}:{}", *domain, *id)].ended = true;
    }
  }

  void finish() {
    for (const auto& [name, t] : tasks_) {
      if (t.ended || t.wait.empty()) continue;
      ++p_.in_flight_seen;
      ++p_.waiting_on[t.wait];
      auto it = p_.oldest_wait_unix.find(t.wait);
      if (it == p_.oldest_wait_unix.end() || t.last_unix < it->second)
        p_.oldest_wait_unix[t.wait] = t.last_unix;
    }
  }

 private:
  void saw(double unix_time) {
    if (!p_.last_record_unix || unix_time > *p_.last_record_unix) p_.last_record_unix = unix_time;
  }

  RunProgress& p_;
  std::unordered_map<std::string, TaskState> tasks_;
};

std::string age_text(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  if (seconds < 7200) return fmt::format("{:.1f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

bool pid_alive(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

Result<RunProgress> read_run_progress(const fs::path& run_dir) {
  RunProgress p;
  ProgressVisitor v(p);
  auto scanned = scan_log(run_layout::driver_log(run_dir), v);
  if (!scanned) return scanned.error();
  v.finish();
  return p;
}

namespace {
std::optional<json::object> read_config(const fs::path& run_dir) {
  std::ifstream in(run_dir / run_layout::kConfigJson);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(ss.str(), ec);
  if (ec || !doc.is_object()) return std::nullopt;
  return std::move(doc.as_object());
}
}  // namespace

bool is_simulated_run(const fs::path& run_dir) {
  const auto config = read_config(run_dir);
  const json::value* tool = config ? config->if_contains("tool") : nullptr;
  return tool && tool->is_string() && tool->get_string() == "agentsched sim";
}

std::optional<RunClock> read_run_clock(const fs::path& run_dir) {
  const auto config = read_config(run_dir);
  if (!config) return std::nullopt;
  const auto& o = *config;
  const auto* scale = o.if_contains("time_scale");
  const auto* origin = o.if_contains("clock_origin_unix");
  if (!scale || !origin || !scale->is_number() || !origin->is_number()) return std::nullopt;
  RunClock c;
  c.time_scale = scale->to_number<double>();
  c.clock_origin_unix = origin->to_number<double>();
  if (!(c.time_scale > 0)) return std::nullopt;
  return c;
}

constexpr EnumNames<VerdictKind, 4> kVerdictNames({{VerdictKind::kOk, "OK"},
                                                   {VerdictKind::kWaiting, "WAITING"},
                                                   {VerdictKind::kStalled, "STALLED"},
                                                   {VerdictKind::kDone, "DONE"}});

std::string_view verdict_name(VerdictKind kind) {
  return kVerdictNames.name(kind);
}

Verdict judge_run(const VerdictInputs& in) {
  const RunProgress& p = in.progress;
  if (p.complete) return {VerdictKind::kDone, fmt::format("run complete: {}", p.complete_line)};
  if (in.status && in.status->state == "interrupted")
    return {VerdictKind::kStalled,
            "the driver was interrupted; this run is incomplete and will not finish"};
  if (in.ended && !(in.driver_alive && !*in.driver_alive))
    return {VerdictKind::kStalled,
            "the run has ended without its closing line (\"Global evaluation complete\"); it is "
            "incomplete"};
  if (in.driver_alive && !*in.driver_alive) {
    std::string why = "the driver process is gone";
    if (in.status)
      why += fmt::format(" (pid {}, last heartbeat {} ago)", in.status->pid,
                         age_text(in.real_now_unix - in.status->updated_real_unix));
    return {VerdictKind::kStalled, why + "; the run will not finish"};
  }
  const std::optional<double> last = p.last_event_unix ? p.last_event_unix : p.start_unix;
  const double quiet = last ? in.now_unix - *last : 0;
  if (!last || quiet <= in.stall_after_s) {
    const long total = in.status ? in.status->total : p.total;
    return {VerdictKind::kOk,
            last ? fmt::format("last record {} ago; {} of {} tasks ended", age_text(quiet),
                               in.status ? in.status->finished : p.ended,
                               total >= 0 ? std::to_string(total) : "?")
                 : "the run has just started"};
  }

  // Quiet for longer than stall_after_s: what are the tasks in flight waiting on?
  long llm = 0, remote = 0, tool = 0;
  double oldest_remote = 0;
  if (in.status) {
    auto count = [&](const char* k) {
      auto it = in.status->waits.find(k);
      return it == in.status->waits.end() ? 0L : it->second.count;
    };
    llm = count("llm") + count("backoff");
    remote = in.status->remote_waits;
    tool = count("tool");
    oldest_remote = in.status->oldest_remote_wait_s;
  } else {
    auto count = [&](const char* k) {
      auto it = p.waiting_on.find(k);
      return it == p.waiting_on.end() ? 0L : it->second;
    };
    llm = count("llm");
    remote = count("user") + count("expert");
    tool = count("tool");
    for (const char* k : {"user", "expert"})
      if (auto it = p.oldest_wait_unix.find(k); it != p.oldest_wait_unix.end())
        oldest_remote = std::max(oldest_remote, in.now_unix - it->second);
  }
  const std::string quiet_text = fmt::format("no record for {}", age_text(quiet));
  if (llm == 0 && tool == 0 && remote > 0)
    return {VerdictKind::kWaiting,
            fmt::format("{}, but all {} tasks in flight wait on remote user/expert calls "
                        "(the longest for {}); the engine is idle by design, not dead",
                        quiet_text, remote, age_text(oldest_remote))};
  if (llm > 0) {
    if (in.engine && !in.engine->answered)
      return {VerdictKind::kStalled,
              fmt::format("{}; {} LLM calls are in flight and the engine does not answer ({})",
                          quiet_text, llm, in.engine->error)};
    if (in.engine && in.engine->metrics &&
        (in.engine->metrics->num_running > 0 || in.engine->metrics->num_waiting > 0))
      return {VerdictKind::kWaiting,
              fmt::format("{}; {} LLM calls in flight and the engine is busy ({} running, {} "
                          "waiting)",
                          quiet_text, llm, in.engine->metrics->num_running,
                          in.engine->metrics->num_waiting)};
    if (in.router_paused_programs > 0)
      return {VerdictKind::kWaiting,
              fmt::format("{}; {} LLM calls in flight and the router holds {} programs paused",
                          quiet_text, llm, in.router_paused_programs)};
    return {VerdictKind::kStalled,
            fmt::format("{}; {} LLM calls in flight {}", quiet_text, llm,
                        in.engine ? "but the engine has nothing running or waiting (lost calls?)"
                                  : "(pass --port to see whether the engine works on them)")};
  }
  if (tool > 0)
    return {VerdictKind::kStalled,
            fmt::format("{}; {} tasks are in local tool calls, which take milliseconds", quiet_text,
                        tool)};
  return {
      VerdictKind::kStalled,
      fmt::format("{} and no task is seen in flight, yet the run has not completed", quiet_text)};
}

EngineView query_engine(const std::string& host, std::uint16_t port,
                        std::vector<std::string>* models, double timeout_s) {
  EngineView v;
  const std::string get = "GET";
  auto health = http::fetch(host, port, get, "/health", {}, {}, timeout_s);
  if (!health) {
    v.error = health.error().message;
    return v;
  }
  if (health->status != 200) {
    v.error = fmt::format("/health answered HTTP {}", health->status);
    return v;
  }
  v.answered = true;
  auto metrics = http::fetch(host, port, get, "/metrics", {}, {}, timeout_s);
  if (metrics && metrics->status == 200) {
    auto m = http::backend_metrics_from_vllm(http::parse_prometheus_text(metrics->body));
    if (m) v.metrics = *m;
  }
  if (models) {
    auto r = http::fetch(host, port, get, "/v1/models", {}, {}, timeout_s);
    boost::system::error_code ec;
    if (r && r->status == 200) {
      json::value doc = json::parse(r->body, ec);
      const json::value* data =
          (!ec && doc.is_object()) ? doc.as_object().if_contains("data") : nullptr;
      if (data && data->is_array())
        for (const auto& m : data->as_array())
          if (m.is_object())
            if (const auto* id = m.as_object().if_contains("id"); id && id->is_string())
              models->emplace_back(id->get_string());
    }
  }
  return v;
}

namespace {

void append_engine(std::string& out, const char* what, std::uint16_t port, const EngineView& v,
                   const std::vector<std::string>& models) {
  if (!v.answered) {
    out += fmt::format("{} :{}  DOWN  {}\n", what, port, v.error);
    return;
  }
  out += fmt::format("{} :{}  healthy", what, port);
  if (!models.empty()) {
    out += "  models:";
    for (const auto& m : models) out += " " + m;
  }
  out += '\n';
  if (v.metrics) {
    const BackendMetrics& m = *v.metrics;
    out += fmt::format("  KV usage {:.1f}%  running {}  waiting {}", 100 * m.kv_usage,
                       m.num_running, m.num_waiting);
    if (m.num_gpu_blocks > 0) out += fmt::format("  KV blocks {}", m.num_gpu_blocks);
    out += '\n';
  }
}

// The router's view of its backends (GET /backends) and programs (GET /programs). Returns
// the number of paused programs, -1 when unknown, -2 when the router is down.
long append_router(std::string& out, const std::string& host, std::uint16_t port) {
  const std::string get = "GET";
  auto health = http::fetch(host, port, get, "/health", {}, {}, 5);
  if (!health) {
    out += fmt::format("router :{}  DOWN  {}\n", port, health.error().message);
    return -2;
  }
  if (health->status != 200) {
    // The router answers 503 when none of its backends is up.
    out += fmt::format("router :{}  UNHEALTHY  /health answered HTTP {}: {}\n", port,
                       health->status, one_line(health->body, 200));
    return -2;
  }
  out += fmt::format("router :{}  healthy\n", port);
  auto number = [](const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_number() ? v->to_number<double>() : 0.0;
  };
  boost::system::error_code ec;
  if (auto b = http::fetch(host, port, get, "/backends", {}, {}, 5); b && b->status == 200) {
    json::value doc = json::parse(b->body, ec);
    const json::value* list =
        (!ec && doc.is_object()) ? doc.as_object().if_contains("backends") : nullptr;
    if (list && list->is_array())
      for (const auto& item : list->as_array()) {
        if (!item.is_object()) continue;
        const auto& o = item.as_object();
        const json::value* url = o.if_contains("url");
        const json::value* up = o.if_contains("up");
        out += fmt::format(
            "  backend {} {}  KV usage {:.1f}%  running {:.0f}  waiting {:.0f}  programs "
            "{:.0f}  in flight {:.0f}\n",
            url && url->is_string() ? std::string_view(url->get_string()) : "?",
            up && up->is_bool() && up->get_bool() ? "up" : "DOWN", 100 * number(o, "kv_usage"),
            number(o, "num_running"), number(o, "num_waiting"), number(o, "programs"),
            number(o, "in_flight"));
      }
  }
  long paused = -1;
  if (auto p = http::fetch(host, port, get, "/programs", {}, {}, 10); p && p->status == 200) {
    json::value doc = json::parse(p->body, ec);
    if (!ec && doc.is_object()) {
      const auto& o = doc.as_object();
      paused = 0;
      long pause_requested = 0;
      if (const auto* list = o.if_contains("programs"); list && list->is_array())
        for (const auto& item : list->as_array()) {
          if (!item.is_object()) continue;
          const auto& po = item.as_object();
          if (const auto* v = po.if_contains("paused"); v && v->is_bool() && v->get_bool())
            ++paused;
          if (const auto* v = po.if_contains("pause_requested"); v && v->is_bool() && v->get_bool())
            ++pause_requested;
        }
      const json::value* policy = o.if_contains("policy");
      out += fmt::format(
          "  programs {:.0f} (policy {}): {} paused, {} pause requested, {:.0f} "
          "calls held\n",
          number(o, "count"),
          policy && policy->is_string() ? std::string_view(policy->get_string()) : "?", paused,
          pause_requested, number(o, "held_calls"));
    }
  }
  return paused;
}

}  // namespace

CheckReport run_check(const CheckOptions& o) {
  CheckReport report;
  std::string& out = report.text;
  const double real_now =
      o.real_now_unix
          ? *o.real_now_unix
          : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  std::optional<EngineView> engine;
  if (o.engine_port) {
    std::vector<std::string> models;
    engine = query_engine(o.host, *o.engine_port, &models);
    append_engine(out, "engine", *o.engine_port, *engine, models);
    if (!engine->answered) report.healthy = false;
  }
  long paused = -1;
  if (o.router_port) {
    paused = append_router(out, o.host, *o.router_port);
    if (paused == -2) {
      report.healthy = false;
      paused = -1;
    }
  }
  if (o.run_dir.empty()) return report;

  auto progress = read_run_progress(o.run_dir);
  if (!progress) {
    out += fmt::format("run {}: cannot read: {}\n", o.run_dir.string(), progress.error().message);
    report.healthy = false;
    return report;
  }
  VerdictInputs in;
  in.progress = *progress;
  in.real_now_unix = real_now;
  in.stall_after_s = o.stall_after_s;
  in.engine = engine;
  in.router_paused_programs = paused;
  if (auto st = read_run_status(o.run_dir)) in.status = *st;
  const auto clock = read_run_clock(o.run_dir);
  const bool simulated = is_simulated_run(o.run_dir);
  if (in.status && in.status->state == "running" && !o.now_unix) {
    const bool fresh = real_now - in.status->updated_real_unix <= in.heartbeat_timeout_s;
    in.driver_alive = fresh && pid_alive(in.status->pid);
  }
  const RunProgress& p = *progress;

  // When the run ended, on its own clock (log timestamps), and in real time. A run's clock
  // keeps running after its end (an emulated one at time-scale speed), so ages measured
  // against it would grow without bound and faster than real time: they stop at the end.
  std::optional<double> ended_log_unix;
  std::optional<double> ended_real_unix;
  if (in.status && in.status->state != "running") {
    ended_real_unix = in.status->updated_real_unix;
    ended_log_unix = clock ? clock->emulated_unix(*ended_real_unix) : p.last_record_unix;
  } else if (p.complete || simulated || (in.driver_alive && !*in.driver_alive)) {
    ended_log_unix = p.complete_unix ? p.complete_unix : p.last_record_unix;
    std::error_code ec;
    const auto written = fs::last_write_time(run_layout::driver_log(o.run_dir), ec);
    if (!ec)
      ended_real_unix =
          std::chrono::duration<double>(std::chrono::file_clock::to_sys(written).time_since_epoch())
              .count();
  }
  in.ended = ended_log_unix.has_value() || simulated;
  if (o.now_unix)
    in.now_unix = *o.now_unix;
  else if (ended_log_unix)
    in.now_unix = std::max(*ended_log_unix, p.last_record_unix.value_or(*ended_log_unix));
  else
    in.now_unix = clock ? clock->emulated_unix(real_now) : real_now;
  const double scale = clock ? clock->time_scale : 1.0;
  const long total = in.status ? in.status->total : p.total;
  out += fmt::format("run {}\n", o.run_dir.string());
  out += fmt::format("  tasks ended {} of {} ({} ok, {} error)",
                     in.status ? in.status->finished : p.ended,
                     total >= 0 ? std::to_string(total) : "?", in.status ? in.status->ok : p.ok,
                     in.status ? in.status->errors : p.errors);
  if (clock) out += fmt::format("  [time scale {:g}: log times are emulated]", clock->time_scale);
  if (simulated) out += "  [simulated: log times are virtual]";
  out += '\n';
  // Ages in real seconds; the run's own clock counts `scale` times faster.
  const bool frozen = ended_log_unix && !o.now_unix;
  auto when = [&](const std::optional<double>& t) {
    if (!t) return std::string("none yet");
    const double emulated_age = in.now_unix - *t;
    std::string text = fmt::format("{} ({} {}", format_datetime(*t), age_text(emulated_age / scale),
                                   frozen ? "before the run ended" : "ago");
    if (scale != 1.0) text += fmt::format("; {} emulated", age_text(emulated_age));
    return text + ")";
  };
  if (ended_log_unix && !o.now_unix) {
    out += fmt::format("  run ended           {}", format_datetime(in.now_unix));
    if (ended_real_unix)
      out += fmt::format(" ({} ago, real time)", age_text(real_now - *ended_real_unix));
    out += '\n';
  }
  out += fmt::format("  last task finished  {}{}\n", when(p.last_task_unix),
                     p.last_task ? " " + *p.last_task : "");
  out += fmt::format("  last step           {}\n", when(p.last_step_unix));
  if (in.status) {
    std::string waits;
    for (const auto& [kind, w] : in.status->waits)
      waits += fmt::format(" {} {} (longest {})", kind, w.count, age_text(w.oldest_s));
    out += fmt::format("  driver pid {} {}; in flight:{}\n", in.status->pid,
                       in.driver_alive ? (*in.driver_alive ? "alive" : "GONE") : in.status->state,
                       waits.empty() ? " none" : waits);
  } else if (p.in_flight_seen > 0 && !in.ended) {
    std::string waits;
    for (const auto& [kind, n] : p.waiting_on) waits += fmt::format(" {} {}", kind, n);
    out += fmt::format("  in flight (from the log):{}\n", waits);
  }
  const Verdict v = judge_run(in);
  out += fmt::format("verdict: {} -- {}\n", verdict_name(v.kind), v.reason);
  if (v.kind == VerdictKind::kStalled) report.healthy = false;
  report.verdict = v;
  return report;
}

}  // namespace agentsched::serve
