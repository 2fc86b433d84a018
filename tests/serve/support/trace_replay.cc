#include "serve/support/trace_replay.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

#include "core/clock.h"
#include "core/hash.h"
#include "core/rng.h"
#include "core/time_format.h"
#include "http/client.h"
#include "http/clock_timer.h"
#include "http/prometheus.h"
#include "http/vllm_metrics.h"
#include "record/kv_csv_reader.h"
#include "record/timeline.h"
#include "workload/program_runner.h"

namespace agentsched::serve {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

struct ReplayState {
  ReplayState(asio::io_context& io, const ReplayOptions& o)
      : io(io), options(o), clock(o.time_scale) {}
  asio::io_context& io;
  const ReplayOptions& options;
  ScaledClock clock;
  std::size_t next_program = 0;
  std::size_t total = 0;
  std::size_t finished = 0;
  std::uint64_t next_request = 0;
  ReplayResult result;
  std::optional<Error> failure;

  bool done() const { return finished >= total || failure.has_value(); }

  // Sleeps until the replay's emulated clock reads `t`.
  awaitable<void> sleep_until(double t) { co_await serve::sleep_until(clock, t); }
};

// The request body of one call: the runner's prompt messages in the one token encoding
// (built outside coroutines: GCC 12 mishandles braced string literals inside them).
std::string call_body(const ReplayOptions& o, const ProgramRunner& runner,
                      const ProgramStep& call) {
  json::object body;
  if (!o.model.empty()) body["model"] = o.model;
  json::array messages;
  for (const PromptMessage& m : runner.messages()) {
    json::object message;
    message["role"] = m.role;
    message["content"] = m.text();
    messages.push_back(std::move(message));
  }
  body["messages"] = std::move(messages);
  body["max_tokens"] = call.max_tokens;
  body["ignore_eos"] = true;
  body["job_id"] = runner.script().job_id;
  if (!call.next_tool.empty()) body["next_tool"] = call.next_tool;
  return json::serialize(body);
}

Status check_reply(const Result<http::ClientResponse>& r, const ProgramScript& script,
                   std::int64_t prompt_tokens, std::int32_t output_tokens) {
  if (!r) return r.error();
  if (r->status != 200)
    return make_error(fmt::format("{}: HTTP {}: {}", script.job_id, r->status, r->body));
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* usage = o ? o->if_contains("usage") : nullptr;
  if (!usage || !usage->is_object())
    return make_error(fmt::format("{}: reply without usage: {}", script.job_id, r->body));
  const auto& u = usage->as_object();
  auto count = [&](std::string_view key) -> std::int64_t {
    const json::value* v = u.if_contains(key);
    return v && v->is_int64() ? v->as_int64() : -1;
  };
  if (count("prompt_tokens") != prompt_tokens || count("completion_tokens") != output_tokens)
    return make_error(fmt::format("{}: usage {} but the call had {} prompt and {} output tokens",
                                  script.job_id, json::serialize(u), prompt_tokens, output_tokens));
  return Ok{};
}

// One program, played by the simulator's interpreter (as the simulator renders it,
// SimOptions::share_heads: a domain's programs share the head).
awaitable<Status> run_program(ReplayState& s, http::HttpClient& client, std::size_t index) {
  const ReplayOptions& o = s.options;
  const ProgramScript& script = o.workload->programs[index];
  ProgramRunner runner(script, o.workload->prompt_cap_tokens, /*share_heads=*/true);
  for (ProgramStep step = runner.next();; step = runner.next()) {
    switch (step.kind) {
      case ProgramStep::Kind::kEnd:
        ++(step.ok ? s.result.ok : s.result.errors);
        co_return Ok{};
      case ProgramStep::Kind::kCall: {
        std::string body = call_body(o, runner, step);
        if (!client.is_open()) {
          if (auto st = co_await client.connect(o.host, o.port); !st) co_return st;
        }
        auto reply = co_await client.request("POST", "/v1/chat/completions", body);
        ++s.result.llm_calls;
        if (auto st = check_reply(reply, script, runner.prompt_tokens(), step.max_tokens); !st)
          co_return st;
        runner.call_done();
        break;
      }
      case ProgramStep::Kind::kWait:
        co_await s.sleep_until(step.ends_at(s.clock.now()));
        runner.wait_done();
        break;
    }
  }
}

awaitable<void> worker(ReplayState& s) {
  http::HttpClient client(s.io.get_executor());
  while (!s.failure && s.next_program < s.total) {
    const std::size_t index = s.next_program++;
    Status st = co_await run_program(s, client, index);
    if (!st && !s.failure) s.failure = st.error();
    ++s.finished;
    s.result.elapsed_s = s.clock.now();
  }
}

awaitable<void> sampler(ReplayState& s, double interval, std::vector<ReplaySample>& out) {
  http::HttpClient client(s.io.get_executor());
  for (double t = 0; !s.done(); t += interval) {
    co_await s.sleep_until(t);
    if (s.done()) break;
    const double at = s.clock.now();
    if (!client.is_open() && !(co_await client.connect(s.options.host, s.options.port))) continue;
    auto r = co_await client.request("GET", "/metrics");
    if (!r || r->status != 200) continue;
    auto m = http::backend_metrics_from_vllm(http::parse_prometheus_text(r->body));
    if (m) out.push_back({at, *m});
  }
}

// The whole of `text` as a finite number; std::stod would throw on "." or "" and accept "1x".
std::optional<double> finite_number(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

double relative(double a, double b) {
  const double scale = std::max(std::abs(a), std::abs(b));
  return scale == 0 ? 0 : std::abs(a - b) / scale;
}

}  // namespace

Result<ReplayResult> replay_trace(const ReplayOptions& options) {
  if (!options.workload) return make_error("replay needs a workload");
  if (!(options.time_scale > 0)) return make_error("replay needs a positive time scale");
  asio::io_context io(1);
  ReplayState s(io, options);
  s.total = options.workload->programs.size();
  if (options.max_programs > 0)
    s.total = std::min<std::size_t>(s.total, static_cast<std::size_t>(options.max_programs));
  for (int i = 0; i < options.concurrency; ++i) asio::co_spawn(io, worker(s), asio::detached);
  asio::co_spawn(io, sampler(s, options.kv_sample_interval_s, s.result.kv_samples), asio::detached);
  asio::co_spawn(io, sampler(s, options.queue_sample_interval_s, s.result.queue_samples),
                 asio::detached);
  io.run_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options.limit_s)));
  if (s.failure) return *s.failure;
  if (s.finished < s.total)
    return make_error(fmt::format("replay: {} of {} programs finished within {} s", s.finished,
                                  s.total, options.limit_s));
  return std::move(s.result);
}

Result<RunSeries> read_sim_run(const std::filesystem::path& dir) {
  RunSeries out;
  {
    std::ifstream log(dir / "driver.log");
    if (!log) return make_error(fmt::format("{}: cannot read driver.log", dir.string()));
    static const std::regex elapsed(R"(Global evaluation complete:.* elapsed_s=([0-9.]+))");
    std::string line;
    std::smatch m;
    bool found = false;
    for (long line_no = 1; std::getline(log, line); ++line_no)
      if (std::regex_search(line, m, elapsed)) {
        const auto v = finite_number(m.str(1));
        if (!v)
          return make_error(fmt::format("{}: driver.log:{}: bad elapsed_s '{}'", dir.string(),
                                        line_no, m.str(1)));
        out.elapsed_s = *v;
        found = true;
      }
    if (!found)
      return make_error(fmt::format("{}: driver.log has no completion line", dir.string()));
  }
  auto kv = read_kv_csv(dir / "kv_cache_timeseries.csv");
  if (!kv) return kv.error();
  double sum = 0;
  std::size_t n = 0;
  for (const KvSample& k : kv->samples) {
    const double t = k.unix_time - kVirtualEpochUnix;
    out.kv.emplace_back(t, k.usage);
    if (t <= out.elapsed_s) {
      sum += k.usage;
      ++n;
    }
  }
  out.mean_kv = n ? sum / static_cast<double>(n) : 0;

  auto rows = read_timeline(dir);
  if (!rows) return rows.error();
  double running_s = 0, waiting_s = 0;
  for (const TimelineRow& r : *rows) {
    // Between forwarding and finishing a call is either waiting or running in the engine.
    const double in_engine = r.finished_s - r.forwarded_s;
    waiting_s += r.engine_waiting_s;
    running_s += in_engine - r.engine_waiting_s;
  }
  if (out.elapsed_s > 0) {
    out.mean_running = running_s / out.elapsed_s;
    out.mean_waiting = waiting_s / out.elapsed_s;
  }
  return out;
}

RunSeries series_from_replay(const ReplayResult& replay) {
  RunSeries out;
  out.elapsed_s = replay.elapsed_s;
  double sum = 0;
  std::size_t n = 0;
  for (const ReplaySample& s : replay.kv_samples) {
    out.kv.emplace_back(s.t, s.metrics.kv_usage);
    if (s.t <= out.elapsed_s) {
      sum += s.metrics.kv_usage;
      ++n;
    }
  }
  out.mean_kv = n ? sum / static_cast<double>(n) : 0;
  double running = 0, waiting = 0;
  std::size_t q = 0;
  for (const ReplaySample& s : replay.queue_samples) {
    if (s.t > out.elapsed_s) continue;
    running += static_cast<double>(s.metrics.num_running);
    waiting += static_cast<double>(s.metrics.num_waiting);
    ++q;
  }
  if (q) {
    out.mean_running = running / static_cast<double>(q);
    out.mean_waiting = waiting / static_cast<double>(q);
  }
  return out;
}

SeriesComparison compare_series(const RunSeries& live, const RunSeries& sim, double kv_window_s) {
  SeriesComparison c;
  c.kv_window_s = kv_window_s;
  c.elapsed_rel = relative(live.elapsed_s, sim.elapsed_s);
  c.mean_kv_rel = relative(live.mean_kv, sim.mean_kv);
  c.running_rel = relative(live.mean_running, sim.mean_running);
  c.waiting_rel = std::abs(live.mean_waiting - sim.mean_waiting) /
                  std::max({live.mean_waiting, sim.mean_waiting, 1.0});
  // Samples are taken on the same grid (every interval from t = 0) on both sides.
  const std::size_t n = std::min(live.kv.size(), sim.kv.size());
  const double end = std::min(live.elapsed_s, sim.elapsed_s);
  double diff = 0;
  double window_live = 0, window_sim = 0, window_diff = 0;
  std::size_t in_window = 0, windows = 0;
  auto close_window = [&] {
    if (in_window == 0) return;
    window_diff += std::abs(window_live - window_sim) / static_cast<double>(in_window);
    ++windows;
    window_live = window_sim = 0;
    in_window = 0;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const double t = sim.kv[i].first;
    if (t > end) break;
    if (in_window > 0 &&
        std::floor(t / kv_window_s) != std::floor(sim.kv[i - 1].first / kv_window_s))
      close_window();
    diff += std::abs(live.kv[i].second - sim.kv[i].second);
    window_live += live.kv[i].second;
    window_sim += sim.kv[i].second;
    ++in_window;
    ++c.kv_points;
  }
  close_window();
  c.kv_mean_abs_diff = c.kv_points ? diff / static_cast<double>(c.kv_points) : 0;
  c.kv_window_abs_diff = windows ? window_diff / static_cast<double>(windows) : 0;
  return c;
}

bool SeriesComparison::within(double tolerance) const {
  return elapsed_rel <= tolerance && mean_kv_rel <= tolerance && kv_window_abs_diff <= tolerance &&
         running_rel <= tolerance && waiting_rel <= tolerance;
}

Status write_kv_comparison_csv(const std::filesystem::path& path, const RunSeries& live,
                               const RunSeries& sim) {
  std::ofstream out(path);
  if (!out) return make_error(fmt::format("cannot write {}", path.string()));
  out << "t,engine_kv_usage,sim_kv_usage\n";
  const std::size_t n = std::min(live.kv.size(), sim.kv.size());
  for (std::size_t i = 0; i < n; ++i)
    out << fmt::format("{:.1f},{:.6f},{:.6f}\n", sim.kv[i].first, live.kv[i].second,
                       sim.kv[i].second);
  if (!out) return make_error(fmt::format("cannot write {}", path.string()));
  return Ok{};
}

std::string SeriesComparison::table(const RunSeries& live, const RunSeries& sim) const {
  std::string out;
  out += fmt::format("{:<28}{:>12}{:>12}{:>10}\n", "", "engine", "sim run", "diff");
  out += fmt::format("{:<28}{:>12.1f}{:>12.1f}{:>9.2f}%\n", "elapsed (emulated s)", live.elapsed_s,
                     sim.elapsed_s, 100 * elapsed_rel);
  out += fmt::format("{:<28}{:>12.4f}{:>12.4f}{:>9.2f}%\n", "mean KV usage", live.mean_kv,
                     sim.mean_kv, 100 * mean_kv_rel);
  out += fmt::format("{:<28}{:>12}{:>12}{:>9.2f}%\n",
                     fmt::format("KV |diff|, {:.0f} s windows", kv_window_s), "", "",
                     100 * kv_window_abs_diff);
  out +=
      fmt::format("{:<28}{:>12}{:>12}{:>9.2f}%  (reported only)\n",
                  fmt::format("KV |diff|, {} samples", kv_points), "", "", 100 * kv_mean_abs_diff);
  out += fmt::format("{:<28}{:>12.2f}{:>12.2f}{:>9.2f}%\n", "mean running requests",
                     live.mean_running, sim.mean_running, 100 * running_rel);
  out += fmt::format("{:<28}{:>12.2f}{:>12.2f}{:>9.2f}%\n", "mean waiting requests",
                     live.mean_waiting, sim.mean_waiting, 100 * waiting_rel);
  return out;
}

}  // namespace agentsched::serve
