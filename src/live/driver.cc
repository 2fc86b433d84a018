#include "live/driver.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "analysis/report_json.h"
#include "core/enum_names.h"
#include "core/hash.h"
#include "core/rng.h"
#include "core/time_format.h"
#include "http/admin_token.h"
#include "http/client.h"
#include "http/clock_timer.h"
#include "http/fd_limit.h"
#include "http/live_http.h"
#include "live/chat_bodies.h"
#include "live/drive_run_config.h"
#include "record/run_config.h"
#include "record/run_layout.h"
#include "record/run_status.h"
#include "record/run_writer.h"
#include "record/timeline.h"
#include "workload/arrivals.h"
#include "workload/program_runner.h"
#include "workload/token_text.h"

namespace agentsched::serve {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using asio::awaitable;

namespace {

constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);
// Reference logs show Python thread ids; a stable number per concurrency slot plays that role
// (the simulator uses the same base).
constexpr std::uint64_t kThreadBase = 140000000000000ULL;

const std::string kPost = "POST";
const std::string kGet = "GET";

enum class Wait : std::uint8_t { kIdle, kUser, kLlm, kExpert, kTool, kBackoff };

struct SlotState {
  Wait wait = Wait::kIdle;
  double since = 0;  // emulated seconds
  bool remote = false;
};

// One program in flight: the script's interpreter and the log's step counter.
struct Program {
  Program(const ProgramScript& s, std::int32_t cap, bool share_head)
      : script(s), runner(s, cap, share_head) {}
  const ProgramScript& script;
  ProgramRunner runner;
  long step() const { return runner.step(); }
};

struct CallOutcome : ChatUsage {
  bool ok = false;
  std::string reason;
  int attempts = 0;
};

struct WaitOutcome {
  bool ok = true;
  std::string reason;
  double ms = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};

// As status.json names the waits (`agentsched check` reads them).
constexpr EnumNames<Wait, 6> kWaitNames({{Wait::kIdle, "idle"},
                                         {Wait::kUser, "user"},
                                         {Wait::kLlm, "llm"},
                                         {Wait::kExpert, "expert"},
                                         {Wait::kTool, "tool"},
                                         {Wait::kBackoff, "backoff"}});

class Driver {
 public:
  Driver(const DriverOptions& o, asio::io_context& io)
      : o_(o),
        io_(io),
        own_clock_(o.clock ? nullptr
                           : std::make_unique<ScaledClock>(o.time_scale, o.clock_origin_unix)),
        clock_(o.clock ? *o.clock : *own_clock_),
        origin_unix_(own_clock_ ? own_clock_->origin_unix()
                                : o.clock_origin_unix.value_or(real_unix_now())),
        status_timer_(io) {}

  Result<DriverResult> run() {
    const auto wall_start = std::chrono::steady_clock::now();
    wall_start_ = wall_start;
    if (!o_.workload || o_.workload->programs.empty()) return make_error("empty workload");
    if (o_.concurrency < 1) return make_error("--concurrency must be at least 1");
    total_ = static_cast<long>(o_.workload->programs.size());
    if (o_.max_programs > 0) total_ = std::min<long>(total_, o_.max_programs);
    chat_target_ = o_.endpoint.chat_completions_target();
    request_timeout_ = o_.request_timeout_s > 0 ? real_duration(o_.request_timeout_s)
                                                : std::chrono::steady_clock::duration::zero();

    // The endpoint must answer before anything is written: a run folder full of errors
    // because the engine was not up helps nobody.
    if (auto st = probe_endpoint(); !st) return st.error();

    auto writer = RunWriter::create(o_.out_dir, origin_unix_, o_.overwrite, o_.write_kv_csv);
    if (!writer) return writer.error();
    w_ = std::move(*writer);
    auto timeline = TimelineWriter::create(o_.out_dir);
    if (!timeline) return timeline.error();
    timeline_ = std::move(*timeline);
    start_ = clock_.now();
    if (auto st = write_config(); !st) return st.error();
    write_header();
    if (o_.workload->open_loop()) {
      // Every program its own slot: as many may be in flight as have arrived.
      slots_.resize(static_cast<std::size_t>(total_));
      asio::co_spawn(io_, open_loop_arrivals(), asio::detached);
    } else {
      slots_.resize(static_cast<std::size_t>(o_.concurrency));
      const int workers = static_cast<int>(std::min<long>(o_.concurrency, total_));
      workers_left_ = workers;
      for (int slot = 0; slot < workers; ++slot) asio::co_spawn(io_, worker(slot), asio::detached);
    }
    asio::co_spawn(io_, status_loop(), asio::detached);
    run_on_clock(io_, clock_, o_.advance_clock);

    result_.wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    if (interrupted_) {
      w_->driver_line(clock_.now(), fmt::format("Run interrupted: {} of {} tasks finished ({} in "
                                                "flight abandoned); this run is incomplete",
                                                finished_, total_, in_flight()));
      (void)write_status("interrupted");
      (void)timeline_->close();
      (void)w_->close();
      return make_error(
          fmt::format("interrupted after {} of {} tasks; run folder '{}' is "
                      "incomplete",
                      finished_, total_, o_.out_dir.string()));
    }
    std::vector<std::string> domains;
    for (long i = 0; i < total_; ++i) {
      const auto& d = o_.workload->programs[static_cast<std::size_t>(i)].domain;
      if (std::find(domains.begin(), domains.end(), d) == domains.end()) domains.push_back(d);
    }
    result_.total = total_;
    result_.elapsed_s = last_finish_ - start_;
    if (auto st = w_->write_global_summary(clock_.now(), domains, result_.ok, result_.errors,
                                           total_, result_.elapsed_s);
        !st)
      return st.error();
    if (auto st = write_summary(); !st) return st.error();
    if (auto st = timeline_->close(); !st) return st.error();
    if (auto st = write_status("done"); !st) return st.error();
    if (auto st = w_->close(); !st) return st.error();
    report_progress();
    return result_;
  }

 private:
  // ---- time ----
  double now() const { return clock_.now(); }
  // The real time `emulated` seconds of the run's clock take.
  std::chrono::steady_clock::duration real_duration(double emulated) const {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(emulated / clock_.scale()));
  }
  double real_unix_now() const {
    if (own_clock_) return own_clock_->real_unix_now();
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  awaitable<void> sleep_until(double t) { co_await serve::sleep_until(clock_, t); }
  awaitable<void> sleep_for(double emulated_s) { co_await sleep_until(now() + emulated_s); }

  void set_wait(int slot, Wait w, bool remote = false) {
    auto& s = slots_[static_cast<std::size_t>(slot)];
    s.wait = w;
    s.since = now();
    s.remote = remote;
  }

  bool starts_closed() const {
    return o_.duration_s > 0 && std::chrono::steady_clock::now() - wall_start_ >=
                                    std::chrono::duration<double>(o_.duration_s);
  }

  long in_flight() const {
    long n = 0;
    for (const auto& s : slots_) n += s.wait != Wait::kIdle;
    return n;
  }

  // ---- start-up ----
  Status probe_endpoint() {
    // The endpoint may just be starting: ask until startup_timeout_s (real) has passed.
    std::string last;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(o_.startup_timeout_s));
    for (;;) {
      if (o_.stop_requested && o_.stop_requested())
        return make_error("interrupted before the run started");
      auto r = http::fetch(o_.endpoint.host, o_.endpoint.port, kGet, o_.endpoint.models_target(),
                           {}, {}, 5.0);
      if (r && r->status == 200) {
        model_label_ = o_.model;
        if (o_.model.empty()) {
          boost::system::error_code ec;
          json::value doc = json::parse(r->body, ec);
          const json::value* data =
              (!ec && doc.is_object()) ? doc.as_object().if_contains("data") : nullptr;
          if (data && data->is_array() && !data->as_array().empty() &&
              data->as_array()[0].is_object())
            if (const auto* id = data->as_array()[0].as_object().if_contains("id");
                id && id->is_string()) {
              model_label_ = std::string(id->get_string());
              send_model_ = true;
            }
        } else {
          send_model_ = true;
        }
        if (model_label_.empty()) model_label_ = "orchestrator";
        warn_on_time_scale_mismatch();
        return Ok{};
      }
      if (r) {
        // An endpoint without /v1/models (some proxies) still serves chat completions.
        if (r->status == 404) {
          model_label_ = o_.model.empty() ? "orchestrator" : o_.model;
          send_model_ = !o_.model.empty();
          return Ok{};
        }
        last = fmt::format("HTTP {}: {}", r->status, error_message_of(r->body));
      } else {
        last = r.error().message;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      ::usleep(200 * 1000);  // start-up only: the run has not begun, no clock to keep
    }
    return make_error(fmt::format("endpoint {} does not answer GET {} within {:g} s: {}",
                                  o_.endpoint.url(), o_.endpoint.models_target(),
                                  o_.startup_timeout_s, last));
  }

  // Through a router, /version is answered by an engine behind it.
  void warn_on_time_scale_mismatch() const {
    if (auto theirs = query_time_scale(o_.endpoint.host, o_.endpoint.port, 2.0))
      if (auto warning = time_scale_mismatch("drive", o_.time_scale, o_.endpoint.url(), *theirs))
        std::fprintf(stderr, "agentsched: warning: %s\n", warning->c_str());
  }

  Status write_config() {
    return write_run_config(o_.out_dir,
                            drive_run_config(o_, total_, model_label_, origin_unix_, start_));
  }

  void write_header() {
    const double t = start_;
    std::vector<std::string_view> domains;
    for (long i = 0; i < total_; ++i)
      domains.push_back(o_.workload->programs[static_cast<std::size_t>(i)].domain);
    w_->loaded_tasks(t, domains, o_.workload->name);
    w_->driver_line(t, fmt::format("Endpoint: {} model={} time_scale={:g}", o_.endpoint.url(),
                                   model_label_, o_.time_scale));
    w_->driver_line(t, fmt::format("Scheduling mode: global (round-robin) total_tasks={} "
                                   "max_concurrency={}",
                                   total_, o_.concurrency));
  }

  // ---- requests ----
  std::string chat_body(const Program& p, const ProgramStep& call) const {
    return llm_call_body(p.runner, call, p.script.job_id, send_model_ ? &model_label_ : nullptr);
  }

  std::string remote_body(const Program& p, const std::string& model, std::int64_t input_tokens,
                          std::int64_t output_tokens, bool with_conversation) const {
    return remote_call_body(p.runner, p.step(), model, p.script.job_id, input_tokens, output_tokens,
                            with_conversation);
  }

  awaitable<CallOutcome> post_with_retries(http::HttpClient& client, HttpEndpoint endpoint,
                                           std::string target, std::string body, int slot) {
    CallOutcome out;
    const SlotState before = slots_[static_cast<std::size_t>(slot)];
    for (int attempt = 1;; ++attempt) {
      out.attempts = attempt;
      auto reply = co_await timed_request(client, endpoint, kPost, target, body, request_timeout_);
      if (reply && reply->status == 200) {
        if (read_chat_usage(reply->body, out)) {
          out.ok = true;
          co_return out;
        }
        reply = make_error("malformed reply (not a JSON object): " + one_line(reply->body, 120));
      }
      const CallFailure failure = classify_failure(reply);
      if (!failure.transient) {
        out.reason = failure.reason;
        co_return out;
      }
      if (attempt >= std::max(1, o_.retry.max_attempts)) {
        out.reason = fmt::format("{} (gave up after {} attempts)", failure.reason, attempt);
        co_return out;
      }
      ++result_.retries;
      client.close();  // a fresh connection for the next attempt
      set_wait(slot, Wait::kBackoff);
      co_await sleep_for(o_.retry.backoff_before(attempt + 1));
      if (stopping_) {
        out.reason = "interrupted";
        co_return out;
      }
      slots_[static_cast<std::size_t>(slot)] = before;
    }
  }

  // A user-simulator reply or an expert answer: a simulated wait of the scripted latency,
  // or a real call when the model config serves `model`.
  awaitable<WaitOutcome> remote_wait(Program& p, int slot, Wait kind, std::string model,
                                     double scripted_s, std::int64_t input_tokens,
                                     std::int64_t output_tokens) {
    WaitOutcome out;
    out.input_tokens = input_tokens;
    out.output_tokens = output_tokens;
    const std::string served = o_.model_config ? o_.model_config->served_model(model) : "";
    set_wait(slot, kind, true);
    if (served.empty()) {
      co_await sleep_for(scripted_s);
      out.ms = scripted_s * 1e3;
      co_return out;
    }
    const auto& endpoints = o_.model_config->models.at(served);
    const HttpEndpoint endpoint = endpoints[remote_round_robin_++ % endpoints.size()];
    std::string body = remote_body(p, served, input_tokens, output_tokens, kind == Wait::kUser);
    http::HttpClient client(io_.get_executor());
    const double started = now();
    ++result_.remote_calls;
    CallOutcome c = co_await post_with_retries(client, endpoint, endpoint.chat_completions_target(),
                                               std::move(body), slot);
    out.ms = (now() - started) * 1e3;
    if (c.prompt_tokens >= 0) out.input_tokens = c.prompt_tokens;
    if (c.completion_tokens >= 0) out.output_tokens = c.completion_tokens;
    out.ok = c.ok;
    out.reason = c.reason;
    co_return out;
  }

  // An answered LLM call's row of agentsched/timeline.csv: what the client saw of it.
  void record_call(const Program& p, double submitted, const CallOutcome& c) {
    if (!c.ok) return;  // as in `sim`, only answered calls have a row
    TimelineRow row;
    row.task = fmt::format("{}:{}", p.script.domain, p.script.task_id);
    row.step = p.step();
    row.submitted_s = submitted - start_;
    row.finished_s = now() - start_;
    row.prompt_tokens = c.prompt_tokens;
    row.cached_tokens = c.cached_tokens;
    row.output_tokens = c.completion_tokens;
    timeline_->write(row);
  }

  awaitable<void> release(const std::string& job_id) {
    if (!release_supported_) co_return;
    const std::string body = fmt::format("{{\"job_id\":{}}}", json_quoted(job_id));
    const std::string target = "/programs/release";
    http::HttpClient client(io_.get_executor());
    http::Headers headers;
    if (!o_.admin_token.empty()) headers.emplace_back("Authorization", "Bearer " + o_.admin_token);
    // A router restarting or briefly unreachable must not keep the program registered until
    // its TTL: transport errors and 5xx answers are retried like calls are.
    auto r = co_await timed_request(client, o_.endpoint, kPost, target, body,
                                    std::chrono::seconds(10), headers);
    for (int attempt = 2;
         attempt <= o_.retry.max_attempts && (!r || r->status >= 500) && !stopping_; ++attempt) {
      co_await sleep_for(o_.retry.backoff_before(attempt));
      r = co_await timed_request(client, o_.endpoint, kPost, target, body, std::chrono::seconds(10),
                                 headers);
    }
    if (!r || r->status >= 500)
      w_->driver_line(now(),
                      fmt::format("Release of program {} failed after {} attempts ({}); "
                                  "the endpoint forgets it when it idles past its TTL",
                                  job_id, o_.retry.max_attempts,
                                  r ? fmt::format("HTTP {}", r->status) : r.error().message));
    if (r && (r->status == 404 || r->status == 405) && release_supported_) {
      release_supported_ = false;
      w_->driver_line(now(), fmt::format("Endpoint {} has no POST /programs/release (HTTP {}); "
                                         "programs are not released",
                                         o_.endpoint.url(), r->status));
    }
    if (r && (r->status == 401 || r->status == 403) && release_supported_) {
      release_supported_ = false;
      w_->driver_line(now(),
                      fmt::format("Endpoint {} refused POST /programs/release (HTTP {}: {} admin "
                                  "token; give drive --admin-token-file or {}); programs are not "
                                  "released",
                                  o_.endpoint.url(), r->status,
                                  o_.admin_token.empty() ? "missing" : "wrong", kAdminTokenEnv));
    }
  }

  // ---- programs ----
  void end_task(const Program& p, TaskRef task, bool ok, const std::string& error) {
    if (ok) {
      ++result_.ok;
      w_->task_finished(now(), task, 0.0, finished_ + 1, total_);
    } else {
      ++result_.errors;
      w_->task_failed(now(), task, one_line(error, 500), finished_ + 1, total_);
    }
    (void)w_->write_task_output(task, ok ? "ok" : "error", 0.0);
    ++finished_;
    last_finish_ = now();
  }

  // One program: its runner's steps played against the endpoint, the remote models and the
  // emulated clock.
  awaitable<void> run_program(std::size_t index, int slot, http::HttpClient& client) {
    const ProgramScript& s = o_.workload->programs[index];
    Program p(s, o_.workload->prompt_cap_tokens, o_.share_heads);
    ProgramRunner& r = p.runner;
    const TaskRef task{s.domain, s.task_id, kThreadBase + static_cast<std::uint64_t>(slot)};
    double llm_ms = 0, expert_ms = 0;

    for (ProgramStep step = r.next();; step = r.next()) {
      if (step.kind == ProgramStep::Kind::kEnd) {
        end_task(p, task, step.ok, std::string(step.error));
        break;
      }
      if (step.kind == ProgramStep::Kind::kCall) {
        const double submitted = now();
        set_wait(slot, Wait::kLlm);
        CallOutcome c =
            co_await post_with_retries(client, o_.endpoint, chat_target_, chat_body(p, step), slot);
        if (stopping_) co_return;
        ++result_.llm_calls;
        llm_ms = (now() - submitted) * 1e3;
        expert_ms = 0;
        record_call(p, submitted, c);
        if (!c.ok) {
          end_task(p, task, false, "LLM call failed: " + c.reason);
          break;
        }
        const std::int64_t prompt_tokens =
            c.prompt_tokens >= 0 ? c.prompt_tokens : r.conversation().full_tokens();
        const std::int64_t output_tokens =
            c.completion_tokens >= 0 ? c.completion_tokens : step.max_tokens;
        w_->llm_call(now(), task, p.step(), model_label_, llm_ms, prompt_tokens, output_tokens,
                     step.calls_tool);
        r.call_done();
        continue;
      }
      // A wait. After the orchestrator (and expert) answered, the agent->X step first.
      if (step.wait != WaitKind::kExpert && !step.opening)
        w_->step_complete(now(), task, p.step(), llm_ms + expert_ms, "agent",
                          step.wait == WaitKind::kTool ? "env" : "user");
      if (step.wait == WaitKind::kTool) {
        const double turn_done = now();
        set_wait(slot, Wait::kTool);
        co_await sleep_until(step.ends_at(turn_done));
        if (stopping_) co_return;
        double t = turn_done;
        for (const auto& tool : step.tools) {
          t += tool.duration_s;
          w_->tool_call(t, task, p.step(), tool.function, tool.duration_s * 1e3);
        }
        r.wait_done();
        w_->step_complete(now(), task, p.step(), step.seconds * 1e3, "env", "agent");
        continue;
      }
      const bool user = step.wait == WaitKind::kUser;
      const std::string model = user ? o_.user_model : std::string(step.model);
      WaitOutcome w = co_await remote_wait(p, slot, user ? Wait::kUser : Wait::kExpert, model,
                                           step.seconds, step.input_tokens, step.output_tokens);
      if (stopping_) co_return;
      const bool simulated = !o_.model_config || o_.model_config->served_model(model).empty();
      if (user) {
        if (!w.ok) {
          end_task(p, task, false, "User simulator call failed permanently: " + w.reason);
          break;
        }
        r.wait_done();
        w_->user_sim(now(), task, p.step(), o_.user_model, w.ms);
        w_->step_complete(now(), task, p.step(), w.ms, "user", "agent");
        continue;
      }
      w_->expert_call(now(), task, p.step(), model, w.ms, w.input_tokens, w.output_tokens);
      if (!w.ok) {
        end_task(p, task, false, "Expert LLM call failed permanently: " + w.reason);
        break;
      }
      r.wait_done(simulated);  // a real expert's answer voids the scripted failure
      expert_ms = w.ms;
    }
    co_await release(s.job_id);
  }

  awaitable<void> worker(int slot) {
    http::HttpClient client(io_.get_executor());
    while (!stopping_ && next_program_ < total_ && !starts_closed()) {
      const auto index = static_cast<std::size_t>(next_program_++);
      co_await run_program(index, slot, client);
      set_wait(slot, Wait::kIdle);
    }
    if (--workers_left_ == 0) on_starts_over();
  }

  // Open loop: each program starts at its arrival time (emulated seconds from the run's
  // start), in its own slot and with its own connection, however many are in flight.
  awaitable<void> open_loop_arrivals() {
    ++workers_left_;  // this loop counts as one until it has started every program
    for (long i = 0; i < total_ && !stopping_ && !starts_closed(); ++i) {
      const auto index = static_cast<std::size_t>(i);
      co_await sleep_until(start_ + o_.workload->programs[index].arrival_s);
      if (stopping_ || starts_closed()) break;
      ++next_program_;
      ++workers_left_;
      asio::co_spawn(io_, open_loop_program(index), asio::detached);
    }
    if (--workers_left_ == 0) on_starts_over();
  }

  awaitable<void> open_loop_program(std::size_t index) {
    http::HttpClient client(io_.get_executor());
    co_await run_program(index, static_cast<int>(index), client);
    set_wait(static_cast<int>(index), Wait::kIdle);
    if (--workers_left_ == 0) on_starts_over();
  }

  // No program runs and none will start: the run ends.
  void on_starts_over() {
    if (next_program_ < total_) {
      // --duration closed the starts: the run is the programs started.
      w_->driver_line(now(), fmt::format("Starts stopped after --duration {:g} s (real): {} of "
                                         "{} programs started, all of them ended",
                                         o_.duration_s, next_program_, total_));
      total_ = next_program_;
    }
    all_done_ = true;
    status_timer_.cancel();
  }

  awaitable<void> status_loop() {
    const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(std::max(0.05, o_.status_interval_s)));
    while (!all_done_) {
      (void)w_->flush();
      (void)timeline_->flush();
      (void)write_status("running");
      report_progress();
      if (o_.stop_requested && o_.stop_requested()) {
        interrupted_ = true;
        stopping_ = true;
        io_.stop();
        co_return;
      }
      status_timer_.expires_after(interval);
      co_await status_timer_.async_wait(as_tuple_awaitable);
    }
  }

  Status write_status(std::string_view state) {
    RunStatus st;
    st.state = std::string(state);
    st.pid = static_cast<long>(::getpid());
    st.updated_real_unix = real_unix_now();
    st.updated_unix = origin_unix_ + now();
    st.time_scale = o_.time_scale;
    st.clock_origin_unix = origin_unix_;
    st.finished = finished_;
    st.ok = result_.ok;
    st.errors = result_.errors;
    st.total = total_;
    st.retries = result_.retries;
    const double t = now();
    for (const auto& s : slots_) {
      if (s.wait == Wait::kIdle) continue;
      auto& k = st.waits[std::string(kWaitNames.name(s.wait))];
      ++k.count;
      k.oldest_s = std::max(k.oldest_s, t - s.since);
      if (s.remote) {
        ++st.remote_waits;
        st.oldest_remote_wait_s = std::max(st.oldest_remote_wait_s, t - s.since);
      }
    }
    return write_run_status(o_.out_dir, st);
  }

  void report_progress() {
    if (!o_.on_progress) return;
    DriverProgress pr;
    pr.finished = finished_;
    pr.ok = result_.ok;
    pr.errors = result_.errors;
    pr.total = total_;
    pr.emulated_elapsed_s = now() - start_;
    pr.real_elapsed_s = pr.emulated_elapsed_s / clock_.scale();
    o_.on_progress(pr);
  }

  Status write_summary() {
    RunSummary s;
    s.ok = result_.ok;
    s.errors = result_.errors;
    s.elapsed_s = result_.elapsed_s;
    s.llm_calls = result_.llm_calls;
    RunSummary::Live& l = s.live.emplace();
    l.total = total_;
    l.retries = result_.retries;
    l.remote_calls = result_.remote_calls;
    l.wall_s = std::chrono::duration<double>(real_duration(now() - start_)).count();
    l.releases_sent = release_supported_;
    return write_run_summary(o_.out_dir, s);
  }

  const DriverOptions& o_;
  asio::io_context& io_;
  std::unique_ptr<ScaledClock> own_clock_;  // unless the options bring a clock
  const Clock& clock_;
  double origin_unix_;  // the Unix time at which clock_ reads 0
  asio::steady_timer status_timer_;
  std::unique_ptr<RunWriter> w_;
  std::unique_ptr<TimelineWriter> timeline_;
  std::string chat_target_;
  std::chrono::steady_clock::duration request_timeout_{};
  std::string model_label_;
  bool send_model_ = false;
  bool release_supported_ = true;
  std::vector<SlotState> slots_;
  std::size_t remote_round_robin_ = 0;
  double start_ = 0;
  std::chrono::steady_clock::time_point wall_start_{};
  long total_ = 0;
  long next_program_ = 0;
  long finished_ = 0;
  int workers_left_ = 0;
  bool all_done_ = false;
  bool stopping_ = false;
  bool interrupted_ = false;
  double last_finish_ = 0;
  DriverResult result_;
};

}  // namespace

double RetryPolicy::backoff_before(int attempt) const {
  if (attempt <= 1) return 0;
  const double b = initial_backoff_s * std::pow(2.0, attempt - 2);
  return std::min(b, max_backoff_s);
}

Result<DriverResult> run_driver(const DriverOptions& options) {
  http::raise_fd_limit();
  // The io_context outlives the driver: coroutines abandoned by an interrupt are destroyed
  // with it, after the driver's own objects.
  asio::io_context io(1);
  Driver driver(options, io);
  return driver.run();
}

}  // namespace agentsched::serve
