#include "sim/simulation.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <queue>
#include <unordered_map>

#include "core/clock.h"
#include "core/hash.h"
#include "core/time_format.h"
#include "gateway/gateway.h"
#include "gateway/health_aware.h"
#include "gateway/policies.h"
#include "record/run_config.h"
#include "record/run_layout.h"
#include "record/run_writer.h"
#include "record/timeline.h"
#include "sim/sim_run_files.h"
#include "workload/arrivals.h"
#include "workload/program_runner.h"

namespace agentsched {

namespace {

enum class EventType : std::uint8_t {
  kWaitDone,      // program a's expert, tool or user wait is over
  kStepDone,      // an engine step finished (a = backend)
  kEngineWakeup,  // pins may have expired on an idle engine (a = backend)
  kKvSample,
  kMetricsPoll,       // the gateway polls /metrics of backend a
  kMetricsDelivered,  // that poll's answer reaches the gateway
  kGatewayTimer,
  kCallDeadline,    // the client's budget for call b of program a has run out
  kProgramArrival,  // open loop: program a arrives
  kOutage,          // --outage: backend a cannot be reached from now (b = 1), or again (b = 0)
  kCallRetry,       // program a's call b went to a backend known to be down: retry elsewhere
};

constexpr double kStallLimitS = 30 * 86400.0;

struct Event {
  double t;
  std::uint64_t seq;
  EventType type;
  std::uint32_t a;
  std::uint64_t b = 0;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct ProgramRun {
  const ProgramScript* script = nullptr;
  std::uint64_t thread = 0;
  std::unique_ptr<ProgramRunner> runner;  // the script's interpreter, while it runs
  ProgramStep wait;                       // the wait in progress
  double started = 0;
  // The call in flight
  long step = 0;  // the runner's step counter at the call
  RequestId request = 0;
  double submitted = 0;
  double forwarded = 0;
  BackendIndex backend = 0;
  std::int64_t prompt_tokens = 0;
  double llm_ms = 0;
  double expert_ms = 0;
  bool calls_tool = false;  // the call in flight is followed by a tool or an expert
  double turn_done = 0;     // when the LLM call (and expert) finished
};

struct PendingCall {
  std::uint32_t program;
  EngineRequestSpec spec;
  bool forwarded = false;  // in an engine (else held in the gateway)
};

class Simulation final : public GatewayDriver {
 public:
  explicit Simulation(const SimOptions& o) : o_(o) {}

  Result<SimResult> run() {
    const auto wall_start = std::chrono::steady_clock::now();
    if (o_.concurrency < 1) return make_error("concurrency must be at least 1");
    if (o_.backends < 1) return make_error("backends must be at least 1");
    if (!o_.workload || o_.workload->programs.empty()) return make_error("empty workload");
    if (o_.no_gateway && o_.backends != 1)
      return make_error("running without a gateway needs exactly one backend");
    if (auto st = check_backend_outages(o_); !st) return st.error();
    total_ = static_cast<long>(o_.workload->programs.size());
    if (o_.max_programs > 0) total_ = std::min<long>(total_, o_.max_programs);

    for (int b = 0; b < o_.backends; ++b) {
      auto policy =
          make_engine_policy(o_.system.engine_policy, o_.continuum, o_.system.engine_params);
      if (!policy) return policy.error();
      EngineOptions eo;
      eo.num_gpu_blocks_override = o_.num_gpu_blocks_override;
      engines_.push_back(std::make_unique<EngineModel>(o_.profile, std::move(*policy), clock_, eo));
    }
    if (!o_.no_gateway) {
      auto policy = make_gateway_policy(o_.system.gateway_policy, o_.system.gateway_params);
      if (!policy) return policy.error();
      std::unique_ptr<GatewayPolicy> placement = std::move(*policy);
      if (!o_.outages.empty()) {
        // As the router places: off backends it knows to be down.
        auto health_aware = std::make_unique<HealthAwarePlacement>(
            std::move(placement), [this](BackendIndex b) { return !marked_down_[b]; });
        placement_ = health_aware.get();
        placement = std::move(health_aware);
      }
      gateway_ = std::make_unique<Gateway>(std::move(placement), clock_, *this,
                                           static_cast<std::size_t>(o_.backends));
    }
    outages_in_force_.assign(engines_.size(), 0);
    marked_down_.assign(engines_.size(), false);
    auto writer = RunWriter::create(o_.out_dir, kVirtualEpochUnix, o_.overwrite);
    if (!writer) return writer.error();
    w_ = std::move(*writer);
    if (o_.write_timeline) {
      auto timeline = TimelineWriter::create(o_.out_dir);
      if (!timeline) return timeline.error();
      timeline_ = std::move(*timeline);
    }
    write_header();
    metrics_snapshots_.resize(engines_.size());
    backend_usage_sum_.assign(engines_.size(), 0.0);
    push(0.0, EventType::kKvSample, 0);
    for (const BackendOutage& outage : o_.outages) {
      push(outage.start_s, EventType::kOutage, static_cast<std::uint32_t>(outage.backend), 1);
      push(outage.end_s, EventType::kOutage, static_cast<std::uint32_t>(outage.backend), 0);
    }
    if (gateway_ && wants_metrics())
      for (std::uint32_t b = 0; b < engines_.size(); ++b) push(0.0, EventType::kMetricsPoll, b);
    programs_.resize(static_cast<std::size_t>(total_));
    if (o_.workload->open_loop()) {
      // Programs arrive by the workload's Poisson stages, however many are in flight.
      for (long i = 0; i < total_; ++i)
        push(o_.workload->programs[static_cast<std::size_t>(i)].arrival_s,
             EventType::kProgramArrival, static_cast<std::uint32_t>(i));
    } else {
      while (next_program_ < total_ && running_programs_ < o_.concurrency) start_next_program();
    }

    while (finished_ < total_ && !events_.empty()) {
      const Event e = events_.top();
      events_.pop();
      // Only periodic events (samples, polls) left for a simulated month: nothing can move.
      if (e.t > kStallLimitS)
        return make_error(
            fmt::format("simulation stalled: {} of {} programs finished after {:.0f} "
                        "simulated days",
                        finished_, total_, kStallLimitS / 86400));
      clock_.advance_to(e.t);
      handle(e);
      if (gateway_) sync_gateway_timer();
    }
    if (finished_ < total_)
      return make_error(
          fmt::format("simulation stalled with {} of {} programs finished", finished_, total_));
    std::vector<std::string> domains;
    for (long i = 0; i < total_; ++i) {
      const auto& d = o_.workload->programs[static_cast<std::size_t>(i)].domain;
      if (std::find(domains.begin(), domains.end(), d) == domains.end()) domains.push_back(d);
    }
    if (auto st = w_->write_global_summary(last_finish_, domains, result_.ok, result_.errors,
                                           total_, last_finish_);
        !st)
      return st.error();
    result_.total = total_;
    result_.elapsed_s = last_finish_;
    for (std::size_t b = 0; b < engines_.size(); ++b) {
      SimBackendSummary s;
      s.counters = engines_[b]->counters();
      s.policy_stats = engines_[b]->policy().counters();
      s.mean_kv_usage = kv_samples_ ? backend_usage_sum_[b] / kv_samples_ : 0.0;
      result_.backends.push_back(s);
    }
    std::vector<std::pair<std::string, double>> gateway_counters;
    if (gateway_)
      gateway_counters = (placement_ ? placement_->inner() : gateway_->policy()).counters();
    if (auto st = write_sim_run_files(o_, *engines_.front(), total_, result_, gateway_counters);
        !st)
      return st.error();
    if (auto st = w_->close(); !st) return st.error();
    if (timeline_)
      if (auto st = timeline_->close(); !st) return st.error();
    result_.wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return result_;
  }

  // GatewayDriver: the gateway lets a call through to a backend.
  void forward(const CallRequest& call, BackendIndex backend) override {
    auto it = pending_.find(call.id);
    if (it == pending_.end()) return;
    if (marked_down_[backend]) {
      // Sent to a backend known to be down (a held call resumed after it went down): the
      // router fails the attempt without trying and retries elsewhere.
      programs_[it->second.program].backend = backend;
      push(clock_.now(), EventType::kCallRetry, it->second.program, call.id);
      return;
    }
    ProgramRun& p = programs_[it->second.program];
    p.forwarded = clock_.now();
    p.backend = backend;
    it->second.forwarded = true;
    const double held = p.forwarded - p.submitted;
    result_.gateway_held_s += held;
    result_.max_gateway_hold_s = std::max(result_.max_gateway_hold_s, held);
    EngineModel& engine = *engines_[backend];
    // With outages a call may have to be sent again: the engine gets a copy.
    EngineRequestSpec spec = o_.outages.empty() ? std::move(it->second.spec) : it->second.spec;
    if (auto st = engine.add_request(std::move(spec)); !st) {
      // The workload caps prompts below the model's limit, so this is a configuration error
      // (a profile with a shorter max_model_len); end the program as an error.
      fail_program(it->second.program, st.error().message);
      pending_.erase(it);
      return;
    }
    kick(backend);
  }

 private:
  bool wants_metrics() const { return o_.system.gateway_policy != "passthrough"; }

  void push(double t, EventType type, std::uint32_t a, std::uint64_t b = 0) {
    events_.push({t, seq_++, type, a, b});
  }

  TaskRef task(const ProgramRun& p) const {
    return TaskRef{p.script->domain, p.script->task_id, p.thread};
  }

  void write_header() {
    std::vector<std::string_view> domains;
    for (long i = 0; i < total_; ++i)
      domains.push_back(o_.workload->programs[static_cast<std::size_t>(i)].domain);
    w_->loaded_tasks(0, domains, o_.workload->name);
    w_->driver_line(0, fmt::format("Scheduling mode: global (round-robin) total_tasks={} "
                                   "max_concurrency={}",
                                   total_, o_.concurrency));
  }

  void step_complete(double t, const TaskRef& task, long step, double total_ms,
                     std::string_view from, std::string_view to) {
    w_->step_complete(t, task, step, total_ms, from, to);
    ++result_.steps;
  }

  void start_next_program() {
    const auto index = static_cast<std::uint32_t>(next_program_++);
    ProgramRun& p = programs_[index];
    p.script = &o_.workload->programs[index];
    // Reference logs show Python thread ids; a stable per-slot number plays that role.
    p.thread = 140000000000000ULL + static_cast<std::uint64_t>(index % o_.concurrency);
    p.runner =
        std::make_unique<ProgramRunner>(*p.script, o_.workload->prompt_cap_tokens, o_.share_heads);
    p.started = clock_.now();
    ++running_programs_;
    play(index, p.runner->next());
  }

  // Plays the program's next step: a call into the gateway, a wait on the event queue, or
  // the program's end.
  void play(std::uint32_t index, ProgramStep step) {
    ProgramRun& p = programs_[index];
    switch (step.kind) {
      case ProgramStep::Kind::kCall:
        submit_llm_call(index, std::move(step));
        return;
      case ProgramStep::Kind::kWait: {
        const double now = clock_.now();
        if (step.wait != WaitKind::kExpert && !step.opening) {
          // After the orchestrator (and expert) answered: the agent->X step, then the wait.
          step_complete(now, task(p), p.runner->step(), p.llm_ms + p.expert_ms, "agent",
                        step.wait == WaitKind::kTool ? "env" : "user");
          p.turn_done = now;
        }
        push(step.ends_at(now), EventType::kWaitDone, index);
        p.wait = std::move(step);
        return;
      }
      case ProgramStep::Kind::kEnd:
        if (step.ok)
          finish_program(index);
        else
          fail_program(index, std::string(step.error));
        return;
    }
  }

  void submit_llm_call(std::uint32_t index, ProgramStep step) {
    ProgramRun& p = programs_[index];
    RenderedPrompt prompt = p.runner->render(o_.profile.engine.block_size);
    p.step = p.runner->step();
    p.submitted = clock_.now();
    p.prompt_tokens = prompt.tokens;
    p.request = next_request_++;
    PendingCall call;
    call.program = index;
    call.spec.id = p.request;
    call.spec.program_key = stable_hash64(p.script->job_id);
    call.spec.prompt_tokens = prompt.tokens;
    call.spec.output_tokens = step.max_tokens;
    call.spec.prompt_block_hashes = std::move(prompt.block_hashes);
    call.spec.is_last_step = step.is_last_step;
    call.spec.next_tool = std::move(step.next_tool);
    p.calls_tool = step.calls_tool;
    pending_.emplace(p.request, std::move(call));
    ++result_.llm_calls;
    if (o_.call_timeout_s > 0)
      push(clock_.now() + o_.call_timeout_s, EventType::kCallDeadline, index, p.request);
    if (!gateway_) {
      forward(CallRequest{p.request, p.script->job_id, false, p.prompt_tokens}, 0);
      return;
    }
    // A program whose backend is down moves before its call, as in the router.
    if (placement_)
      if (ProgramState* program = gateway_->find(p.script->job_id))
        placement_->move_before_call(*gateway_, *program);
    submit_to_gateway(p);
  }

  void submit_to_gateway(const ProgramRun& p) {
    CallRequest req;
    req.id = p.request;
    req.program_id = p.script->job_id;
    req.prompt_tokens_estimate = p.prompt_tokens;
    gateway_->submit(std::move(req));
  }

  // ---- outages ----
  // Backend b cannot be reached from now. The router sees the calls in flight there fail at
  // once (their connections are cut) and marks it down: placement moves off it and its held
  // programs move too (health_aware.h). Each call in flight is aborted in the engine (vLLM
  // aborts a request whose client went away) and retried once elsewhere, as the router retries
  // an attempt that failed before any byte reached the client.
  void on_outage_start(BackendIndex b) {
    if (outages_in_force_[b]++ > 0) return;
    w_->driver_line(clock_.now(), fmt::format("Outage: backend {} cannot be reached", b));
    metrics_snapshots_[b].healthy = false;  // a poll in flight fails too
    mark_down(b);
    std::vector<RequestId> cut;
    for (const auto& [id, call] : pending_)
      if (call.forwarded && programs_[call.program].backend == b) cut.push_back(id);
    std::sort(cut.begin(), cut.end());
    for (RequestId id : cut) {
      engines_[b]->abort_request(id);
      retry_elsewhere(pending_.at(id).program, id, b);
    }
    kick(b);
  }

  void on_outage_end(BackendIndex b) {
    if (--outages_in_force_[b] > 0) return;
    w_->driver_line(clock_.now(), fmt::format("Outage over: backend {} can be reached", b));
    // The router marks it up at its next good poll; with no polls (passthrough), at once.
    if (!wants_metrics()) marked_down_[b] = false;
  }

  void mark_down(BackendIndex b) {
    marked_down_[b] = true;
    BackendMetrics m = gateway_->backends()[b].metrics;
    m.healthy = false;
    gateway_->update_metrics(b, m);
  }

  // Program `index`'s call `request` failed on backend `failed` (cut by an outage, or sent to
  // a backend known to be down): a failed call for the policy, then the same call again,
  // the program placed on an up backend.
  void retry_elsewhere(std::uint32_t index, RequestId request, BackendIndex failed) {
    auto it = pending_.find(request);
    if (it == pending_.end()) return;
    it->second.forwarded = false;
    ProgramRun& p = programs_[index];
    gateway_->complete(CallResult{request, false, p.prompt_tokens, 0});
    const auto other = placement_->healthy_fallback(*gateway_, failed);
    if (!other) {
      pending_.erase(it);
      fail_program(index,
                   fmt::format("LLM call failed: backend {} is down and no other is up", failed));
      return;
    }
    if (ProgramState* program = gateway_->find(p.script->job_id); program && !program->in_flight)
      gateway_->place(*program, *other);
    submit_to_gateway(p);
  }

  void kick(BackendIndex b) {
    EngineModel& engine = *engines_[b];
    if (engine.step_in_flight()) return;
    if (auto d = engine.begin_step()) {
      push(clock_.now() + *d, EventType::kStepDone, b);
      return;
    }
    if (auto wake = engine.next_wakeup())
      push(std::max(*wake, clock_.now()), EventType::kEngineWakeup, b);
  }

  void on_step_done(BackendIndex b) {
    StepOutcome out = engines_[b]->finish_step();
    for (const FinishedRequest& f : out.finished) on_llm_done(b, f);
    kick(b);
  }

  void on_llm_done(BackendIndex b, const FinishedRequest& f) {
    auto it = pending_.find(f.id);
    if (it == pending_.end()) return;
    const std::uint32_t index = it->second.program;
    pending_.erase(it);
    ProgramRun& p = programs_[index];
    const double now = clock_.now();
    if (gateway_) {
      CallResult r;
      r.id = f.id;
      r.prompt_tokens = f.prompt_tokens;
      r.completion_tokens = f.output_tokens;
      r.cached_tokens = f.timeline.cached_tokens;
      gateway_->complete(r);
    }
    p.llm_ms = (now - p.submitted) * 1e3;
    p.expert_ms = 0;
    w_->llm_call(now, task(p), p.step, o_.orchestrator_model, p.llm_ms, p.prompt_tokens,
                 f.output_tokens, p.calls_tool);
    if (timeline_) {
      const RequestTimeline& t = f.timeline;
      timeline_->write({fmt::format("{}:{}", p.script->domain, p.script->task_id), p.step,
                        static_cast<std::int64_t>(b), p.submitted, p.forwarded, t.first_scheduled,
                        t.first_token, t.finished, p.forwarded - p.submitted, t.waiting_s,
                        t.prefill_s, t.decode_s, f.prompt_tokens, t.cached_tokens,
                        t.computed_prompt_tokens, f.output_tokens, t.preemptions});
    }
    p.runner->call_done();
    play(index, p.runner->next());
  }

  // The client gives up on a call that outlived its budget: the request is aborted in the
  // engine (vLLM aborts a request whose client has gone) or dropped from the gateway, and the
  // task ends as an error, as the reference's driver ends it.
  void on_call_deadline(std::uint32_t index, RequestId request) {
    auto it = pending_.find(request);
    if (it == pending_.end()) return;  // answered in time
    ProgramRun& p = programs_[index];
    const bool forwarded = it->second.forwarded;
    pending_.erase(it);
    if (forwarded) {
      if (gateway_) gateway_->complete(CallResult{request, false, p.prompt_tokens, 0});
      engines_[p.backend]->abort_request(request);
    }
    ++result_.calls_timed_out;
    fail_program(index,
                 fmt::format("LLM call exceeded the client's budget of {:g} s", o_.call_timeout_s));
    if (forwarded) kick(p.backend);
  }

  // The wait in progress is over: its log lines, then the program's next step.
  void on_wait_done(std::uint32_t index) {
    ProgramRun& p = programs_[index];
    ProgramRunner& r = *p.runner;
    const ProgramStep& wait = p.wait;
    const double now = clock_.now();
    switch (wait.wait) {
      case WaitKind::kExpert:
        r.wait_done();
        p.expert_ms = wait.seconds * 1e3;
        w_->expert_call(now, task(p), r.step(), wait.model, p.expert_ms, wait.input_tokens,
                        wait.output_tokens);
        break;
      case WaitKind::kTool: {
        double t = p.turn_done;
        for (const auto& tool : wait.tools) {
          t += tool.duration_s;
          w_->tool_call(t, task(p), r.step(), tool.function, tool.duration_s * 1e3);
        }
        r.wait_done();
        step_complete(now, task(p), r.step(), wait.seconds * 1e3, "env", "agent");
        break;
      }
      case WaitKind::kUser: {
        r.wait_done();
        const double ms = wait.seconds * 1e3;
        w_->user_sim(now, task(p), r.step(), o_.user_model, ms);
        step_complete(now, task(p), r.step(), ms, "user", "agent");
        break;
      }
    }
    play(index, r.next());
  }

  void end_program(std::uint32_t index) {
    ProgramRun& p = programs_[index];
    if (gateway_) gateway_->release(p.script->job_id);
    p.runner.reset();
    --running_programs_;
    ++finished_;
    last_finish_ = clock_.now();
    if (o_.progress) o_.progress(finished_, total_);
    if (!o_.workload->open_loop() && next_program_ < total_) start_next_program();
  }

  void finish_program(std::uint32_t index) {
    ProgramRun& p = programs_[index];
    ++result_.ok;
    w_->task_finished(clock_.now(), task(p), 0.0, finished_ + 1, total_);
    (void)w_->write_task_output(task(p), "ok", 0.0);
    end_program(index);
  }

  void fail_program(std::uint32_t index, const std::string& error) {
    ProgramRun& p = programs_[index];
    ++result_.errors;
    w_->task_failed(clock_.now(), task(p), error, finished_ + 1, total_);
    (void)w_->write_task_output(task(p), "error", 0.0);
    end_program(index);
  }

  void on_kv_sample() {
    const double now = clock_.now();
    for (std::size_t b = 0; b < engines_.size(); ++b) {
      const double usage = engines_[b]->metrics().kv_usage;
      backend_usage_sum_[b] += usage;
      w_->kv_sample(now, 8000 + static_cast<int>(b),
                    fmt::format("vllm:kv_cache_usage_perc{{engine=\"0\";model_name=\"{}\"}}",
                                o_.orchestrator_model),
                    usage);
    }
    ++kv_samples_;
    push(now + o_.kv_sample_interval_s, EventType::kKvSample, 0);
  }

  void on_metrics_poll(BackendIndex b) {
    // The gateway sees the engine only through this snapshot, one round trip late; a backend
    // that cannot be reached answers no poll (the gateway keeps its last view, unhealthy).
    if (outages_in_force_[b] > 0) {
      metrics_snapshots_[b] = gateway_->backends()[b].metrics;
      metrics_snapshots_[b].healthy = false;
    } else {
      metrics_snapshots_[b] = engines_[b]->metrics();
    }
    push(clock_.now() + o_.metrics_delay_s, EventType::kMetricsDelivered, b);
    push(clock_.now() + o_.metrics_interval_s, EventType::kMetricsPoll, b);
  }

  void sync_gateway_timer() {
    auto t = gateway_->next_timer();
    if (!t) return;
    if (gateway_timer_at_ && *gateway_timer_at_ <= *t) return;
    gateway_timer_at_ = std::max(*t, clock_.now());
    push(*gateway_timer_at_, EventType::kGatewayTimer, 0);
  }

  void handle(const Event& e) {
    switch (e.type) {
      case EventType::kWaitDone:
        on_wait_done(e.a);
        break;
      case EventType::kStepDone:
        on_step_done(e.a);
        break;
      case EventType::kEngineWakeup:
        if (!engines_[e.a]->step_in_flight()) {
          engines_[e.a]->on_timer();
          kick(e.a);
        }
        break;
      case EventType::kKvSample:
        on_kv_sample();
        break;
      case EventType::kMetricsPoll:
        on_metrics_poll(e.a);
        break;
      case EventType::kMetricsDelivered:
        if (metrics_snapshots_[e.a].healthy) marked_down_[e.a] = false;  // a good poll
        gateway_->update_metrics(e.a, metrics_snapshots_[e.a]);
        break;
      case EventType::kOutage:
        if (e.b)
          on_outage_start(e.a);
        else
          on_outage_end(e.a);
        break;
      case EventType::kCallRetry:
        retry_elsewhere(e.a, e.b, programs_[e.a].backend);
        break;
      case EventType::kProgramArrival:
        start_next_program();  // arrivals come in program order (ties: in push order)
        break;
      case EventType::kCallDeadline:
        on_call_deadline(e.a, e.b);
        break;
      case EventType::kGatewayTimer:
        if (gateway_timer_at_ && *gateway_timer_at_ == e.t) {
          gateway_timer_at_.reset();
          gateway_->on_timer();
        }
        break;
    }
  }

  const SimOptions& o_;
  VirtualClock clock_;
  std::vector<std::unique_ptr<EngineModel>> engines_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<RunWriter> w_;
  std::unique_ptr<TimelineWriter> timeline_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t seq_ = 0;
  std::vector<ProgramRun> programs_;
  std::unordered_map<RequestId, PendingCall> pending_;
  RequestId next_request_ = 1;
  long total_ = 0;
  long next_program_ = 0;
  long running_programs_ = 0;
  long finished_ = 0;
  double last_finish_ = 0;
  std::vector<BackendMetrics> metrics_snapshots_;
  std::optional<double> gateway_timer_at_;
  HealthAwarePlacement* placement_ = nullptr;  // with outages: the gateway's policy
  std::vector<int> outages_in_force_;          // per backend
  std::vector<bool> marked_down_;              // per backend: as the router sees it
  std::vector<double> backend_usage_sum_;
  long kv_samples_ = 0;
  SimResult result_;
};

}  // namespace

Status check_backend_outages(const SimOptions& options) {
  for (const BackendOutage& o : options.outages) {
    if (options.no_gateway) return make_error("--outage needs a gateway");
    if (o.backend < 0 || o.backend >= options.backends)
      return make_error(fmt::format("--outage: no backend {} (backends are 0 to {})", o.backend,
                                    options.backends - 1));
    // One backend at least up at every moment: the set of backends down only grows at a start.
    std::vector<bool> down(static_cast<std::size_t>(options.backends), false);
    for (const BackendOutage& other : options.outages)
      if (other.start_s <= o.start_s && o.start_s < other.end_s)
        down[static_cast<std::size_t>(other.backend)] = true;
    if (std::find(down.begin(), down.end(), false) == down.end())
      return make_error(
          fmt::format("--outage: no backend is up at {:g} s; one at least must be", o.start_s));
  }
  return Ok{};
}

Result<BackendOutage> parse_backend_outage(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return make_error(
        fmt::format("'{}': {} (expected BACKEND:START_S:END_S, e.g. 1:600:1200)", text, why));
  };
  const auto first = text.find(':');
  const auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) return bad("three parts separated by ':' needed");
  const std::string backend(text.substr(0, first)),
      start(text.substr(first + 1, second - first - 1)), end(text.substr(second + 1));
  char *b_end = nullptr, *s_end = nullptr, *e_end = nullptr;
  BackendOutage o;
  const long b = std::strtol(backend.c_str(), &b_end, 10);
  o.start_s = std::strtod(start.c_str(), &s_end);
  o.end_s = std::strtod(end.c_str(), &e_end);
  if (backend.empty() || *b_end || b < 0 || b > 1 << 20)
    return bad(fmt::format("BACKEND '{}' is not a backend index (0, 1, ...)", backend));
  if (start.empty() || *s_end || !std::isfinite(o.start_s) || o.start_s < 0)
    return bad(fmt::format("START_S '{}' is not a number of seconds >= 0", start));
  if (end.empty() || *e_end || !std::isfinite(o.end_s) || o.end_s <= o.start_s)
    return bad(fmt::format("END_S '{}' is not a number of seconds after START_S", end));
  o.backend = static_cast<int>(b);
  return o;
}

Result<SimResult> run_simulation(const SimOptions& options) {
  Simulation sim(options);
  return sim.run();
}

}  // namespace agentsched
