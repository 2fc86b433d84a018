#pragma once
// The engine emulator's state (EngineServer::Impl), shared by the process half
// (engine_server.cc: the engine stepping on the clock, faults, start and shutdown) and the
// HTTP half (engine_http.cc: the OpenAI chat API, /metrics, /v1/models). Internal to
// src/emulator.
#include "emulator/engine_server.h"

#include <fmt/format.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "core/rng.h"
#include "emulator/chat_request.h"
#include "emulator/gpu_clock.h"
#include "emulator/vllm_exposition.h"
#include "engine/engine_model.h"
#include "engine/engine_policy.h"
#include "http/clock_timer.h"
#include "http/prometheus.h"
#include "http/server.h"
#include "http/server_process.h"
#include "http/sse.h"

namespace agentsched::serve {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using http::error_code;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace engine_detail {

inline double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::string json_quote(std::string_view s) {
  return json::serialize(json::string(s));
}

// vLLM 0.9.2's ErrorResponse (flat: object, message, type, param, code), with the same
// fields repeated under `error` where the OpenAI SDKs look for them.
inline http::Response error_response(int status, std::string_view message, std::string_view type) {
  json::object inner{{"message", message}, {"type", type}, {"param", nullptr}, {"code", status}};
  json::object body{{"object", "error"}, {"message", message}, {"type", type},
                    {"param", nullptr},  {"code", status},     {"error", inner}};
  http::Response r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

// What FastAPI answers for routes it does not have.
inline http::Response detail_response(int status, std::string_view detail) {
  http::Response r;
  r.status = status;
  r.body = json::serialize(json::object{{"detail", detail}});
  return r;
}

// What `--fault garbage-metrics` serves: a 200 whose text no Prometheus parser accepts (a
// cut sample, stray braces, binary junk).
constexpr std::string_view kGarbageMetricsText =
    "<html>502 upstream garbage</html>\n{{{ not prometheus }}}\nvllm:kv_cache_usage_perc{engine=\"0"
    "\",model_name=\n\x01\x02\x7f\xff\xfe junk\n";

// Where a request's handler waits for the engine: the driver updates the fields and
// cancels the timer to wake the handler (single-threaded, so no lost wakeups as long as
// the handler re-checks the fields before every wait).
struct Pending {
  explicit Pending(asio::any_io_executor ex) : wake(ex) {}
  void notify() { wake.cancel(); }

  asio::steady_timer wake;
  RequestId id = 0;
  Seconds arrival = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t max_tokens_param = 0;
  std::string finish_reason;
  std::int64_t generated = 0;
  Seconds last_token_at = 0;
  bool finished = false;
  bool client_gone = false;
  bool cancelled = false;  // aborted by shutdown
  FinishedRequest result;
};

}  // namespace engine_detail
using namespace engine_detail;

struct EngineServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, EngineServerOptions opts, Profile prof,
       std::unique_ptr<EnginePolicy> policy)
      : io(io_context),
        options(std::move(opts)),
        profile(std::move(prof)),
        own_clock(options.clock ? nullptr : std::make_unique<ScaledClock>(options.time_scale)),
        clock(options.clock ? *options.clock : *own_clock),
        engine(profile, std::move(policy), clock,
               EngineOptions{.token_events = true,
                             .num_gpu_blocks_override = options.num_gpu_blocks_override}),
        model_name(options.model.empty() ? profile.model.name : options.model),
        model_json(json_quote(model_name)),
        created_unix(unix_now()),
        exposition(model_name, profile, engine.block_pool().num_blocks(),
                   engine.host_blocks_capacity(), created_unix),
        rng(options.seed),
        step_timer(io.get_executor(), clock),
        wake_timer(io.get_executor(), clock),
        drain_timer(io) {}

  asio::io_context& io;
  EngineServerOptions options;
  Profile profile;
  std::unique_ptr<ScaledClock> own_clock;  // unless the options bring a clock
  GpuClock clock;
  EngineModel engine;
  std::string model_name;
  std::string model_json;
  double created_unix;
  VllmExposition exposition;
  Rng rng;
  std::unique_ptr<http::Server> server;
  ClockTimer step_timer;
  ClockTimer wake_timer;
  asio::steady_timer drain_timer;
  Seconds step_end = 0;
  // Changes whenever a step starts or completes: a timer handler already queued when
  // catch_up() completed its step must neither complete the next step nor an absent one.
  std::uint64_t step_generation = 0;
  RequestId next_id = 1;
  std::unordered_map<RequestId, Pending*> pending;
  // Fault injection (tests only): EVERY per kind (0 = off), arrivals counted, faults injected.
  std::array<std::int64_t, kEngineFaultKinds> fault_every{};
  std::array<std::int64_t, kEngineFaultKinds> faults_injected{};
  std::int64_t chat_arrivals = 0;
  std::int64_t metrics_scrapes = 0;
  bool shutting_down = false;
  bool stopped = false;
  std::function<void()> on_shutdown_done;

  // ---- fault injection ----

  bool faults_on() const {
    for (auto every : fault_every)
      if (every > 0) return true;
    return false;
  }

  // The chat fault for the chat request that just arrived, if any (the first kind in enum
  // order whose EVERY divides the arrival count).
  std::optional<EngineFaultKind> next_chat_fault() {
    const std::int64_t n = ++chat_arrivals;
    for (auto kind :
         {EngineFaultKind::kHttp500, EngineFaultKind::kClose, EngineFaultKind::kStall}) {
      const std::int64_t every = fault_every[static_cast<std::size_t>(kind)];
      if (every > 0 && n % every == 0) return kind;
    }
    return std::nullopt;
  }

  void count_fault(EngineFaultKind kind) {
    ++faults_injected[static_cast<std::size_t>(kind)];
    std::fprintf(stderr, "agentsched engine: injected fault %s\n",
                 std::string(engine_fault_name(kind)).c_str());
  }

  std::string render_metrics() const {
    std::optional<HostTierMetrics> host;
    if (engine.host_tier_on()) {
      const EngineCounters& c = engine.counters();
      host = HostTierMetrics{.queries = c.host_queries,
                             .hits = c.host_hit_tokens,
                             .loads = c.host_loads,
                             .load_blocks = c.host_load_blocks,
                             .load_wait_s = c.host_load_wait_s,
                             .stores = c.host_stores,
                             .evictions = c.host_evictions,
                             .link_busy_s = c.host_link_busy_s,
                             .link_bytes = c.host_link_bytes,
                             .loading = engine.num_loading(),
                             .blocks_used = engine.host_blocks_used(),
                             .blocks_capacity = engine.host_blocks_capacity()};
    }
    std::string text = exposition.render(engine.metrics(), host ? &*host : nullptr);
    if (!faults_on()) return text;  // without --fault the text is exactly vLLM's families
    http::PrometheusWriter w;
    std::vector<std::pair<http::Labels, double>> values;
    for (std::size_t k = 0; k < fault_every.size(); ++k)
      if (fault_every[k] > 0)
        values.push_back(
            {{{"kind", std::string(engine_fault_name(static_cast<EngineFaultKind>(k)))}},
             static_cast<double>(faults_injected[k])});
    w.counter("agentsched_engine_faults_injected",
              "Faults injected by --fault (agentsched engine emulator, for testing).", values,
              created_unix);
    return text + w.take();
  }

  // ---- engine driving ----

  void pump() {
    if (!engine.step_in_flight()) start_step();
  }

  void start_step() {
    if (stopped) return;
    if (engine.has_work()) {
      const Seconds start = clock.now();
      if (auto duration = engine.begin_step()) {
        step_end = start + *duration;
        step_timer.expires_at(step_end);
        step_timer.async_wait([this, generation = ++step_generation](error_code ec) {
          if (!ec && generation == step_generation) on_step_done();
        });
        return;
      }
    }
    arm_wakeup();
  }

  void on_step_done() {
    if (stopped) return;
    ++step_generation;
    clock.hold(step_end);
    StepOutcome out = engine.finish_step();
    deliver(out);
    start_step();  // back to back: the next step starts at the planned end of this one
    clock.release();
  }

  // Completes every step whose planned end has passed, and applies every wake-up of an idle
  // engine whose planned time has passed (a request through the API server, a pin's expiry, a
  // host load), before an arrival, an abort or a scrape touches the engine. When the event
  // loop runs late (a busy machine, a sanitizer build) a request's bytes and an overdue timer
  // are ready at once; without this the request could be handled first, join the step that
  // starts at the planned end although it arrived after it, and push the engine's timeline to
  // its own arrival time -- a different batch than `sim` would form, which under KV pressure
  // changes who is preempted.
  void catch_up() {
    while (!stopped) {
      if (engine.step_in_flight()) {
        if (step_end > clock.base_now()) return;
        on_step_done();
        continue;
      }
      const auto at = engine.next_wakeup();
      if (!at || *at > clock.base_now()) return;
      wake(*at);
      if (!engine.step_in_flight() && engine.next_wakeup() == at) {
        // Nothing fell due at exactly `at` (rounding): apply it at the real time instead, so
        // that it cannot come back at the same moment forever.
        engine.on_timer();
        start_step();
        return;
      }
    }
  }

  // Applies an idle engine's wake-up at its planned time `at`, however late the timer fired,
  // as on_step_done() does for steps: the engine's timeline stays the one `sim` computes.
  void wake(Seconds at) {
    clock.hold(at);
    engine.on_timer();
    start_step();
    clock.release();
  }

  // Pins expire, host loads end and requests come through the API server while the engine is
  // idle: wake at the earliest.
  void arm_wakeup() {
    const auto at = engine.next_wakeup();
    if (!at) {
      wake_timer.cancel();
      return;
    }
    wake_timer.expires_at(*at);
    wake_timer.async_wait([this](error_code ec) {
      if (ec || stopped || engine.step_in_flight()) return;
      catch_up();
      if (!engine.step_in_flight()) arm_wakeup();  // fired a hair early, or a new wake-up
    });
  }

  void deliver(const StepOutcome& out) {
    const Seconds now = clock.now();
    std::int64_t step_tokens = 0;
    for (const TokenEvent& t : out.tokens) {
      ++step_tokens;
      auto it = pending.find(t.id);
      if (it == pending.end()) continue;
      Pending& p = *it->second;
      if (t.generated == 1) {
        exposition.on_first_token(now - p.arrival, p.prompt_tokens);
        step_tokens += p.prompt_tokens;  // vLLM counts a prompt in the step of its first token
      } else {
        exposition.on_next_token(now - p.last_token_at);
      }
      p.last_token_at = now;
      p.generated = t.generated;
      p.notify();
    }
    exposition.on_step(step_tokens);
    for (const FinishedRequest& f : out.finished) {
      auto it = pending.find(f.id);
      if (it == pending.end()) continue;
      Pending& p = *it->second;
      const RequestTimeline& tl = f.timeline;
      exposition.on_finished({.finish_reason = p.finish_reason,
                              .e2e_s = tl.finished - tl.arrival,
                              .queue_s = tl.waiting_s,
                              .inference_s = tl.finished - std::max(tl.first_scheduled, tl.arrival),
                              .prefill_s = tl.prefill_s,
                              .decode_s = tl.decode_s,
                              .prompt_tokens = f.prompt_tokens,
                              .generation_tokens = f.output_tokens,
                              .max_tokens_param = p.max_tokens_param});
      p.result = f;
      p.finished = true;
      p.notify();
    }
  }

  void abort(Pending& p) {
    catch_up();
    if (p.finished) return;
    engine.abort_request(p.id);
    exposition.on_abort();
    p.finished = true;
    pump();  // freed blocks may let waiting requests in
  }

  // ---- shutdown ----

  void shutdown(std::function<void()> on_done) {
    if (on_done) on_shutdown_done = std::move(on_done);
    if (shutting_down) {
      cancel_all();  // asked twice: stop waiting for in-flight requests
      return;
    }
    shutting_down = true;
    server->stop();
    if (pending.empty()) {
      finish_shutdown();
      return;
    }
    drain_timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options.shutdown_timeout_s)));
    drain_timer.async_wait([this](error_code ec) {
      if (!ec) cancel_all();
    });
  }

  void cancel_all() {
    for (auto& [id, p] : pending) {
      if (!p->finished) {
        engine.abort_request(id);
        exposition.on_abort();
      }
      p->cancelled = true;
      p->notify();
    }
  }

  // Called whenever a handler ends.
  void request_done() {
    if (shutting_down && !stopped && pending.empty()) finish_shutdown();
  }

  void finish_shutdown() {
    stopped = true;
    drain_timer.cancel();
    step_timer.cancel();
    wake_timer.cancel();
    server->stop();  // connections that just went idle
    if (on_shutdown_done) {
      auto done = std::move(on_shutdown_done);
      on_shutdown_done = nullptr;
      done();
    }
  }

  // ---- HTTP ----

  std::string chunk_prefix(std::string_view id, double created) const {
    return fmt::format(R"({{"id":"{}","object":"chat.completion.chunk","created":{},"model":{},)",
                       id, static_cast<std::int64_t>(created), model_json);
  }

  std::string usage_json(const Pending& p) const {
    const std::int64_t completion = p.result.output_tokens;
    return fmt::format(R"({{"prompt_tokens":{},"total_tokens":{},"completion_tokens":{},)"
                       R"("prompt_tokens_details":{{"cached_tokens":{}}}}})",
                       p.prompt_tokens, p.prompt_tokens + completion, completion,
                       p.result.timeline.cached_tokens);
  }

  http::Response models_response() const {
    const auto created = static_cast<std::int64_t>(created_unix);
    json::object permission{{"id", fmt::format("modelperm-{:016x}", mix64(created))},
                            {"object", "model_permission"},
                            {"created", created},
                            {"allow_create_engine", false},
                            {"allow_sampling", true},
                            {"allow_logprobs", true},
                            {"allow_search_indices", false},
                            {"allow_view", true},
                            {"allow_fine_tuning", false},
                            {"organization", "*"},
                            {"group", nullptr},
                            {"is_blocking", false}};
    json::object model{{"id", model_name},
                       {"object", "model"},
                       {"created", created},
                       {"owned_by", "vllm"},
                       {"root", model_name},
                       {"parent", nullptr},
                       {"max_model_len", profile.model.max_model_len},
                       {"permission", json::array{permission}}};
    http::Response r;
    r.body = json::serialize(json::object{{"object", "list"}, {"data", json::array{model}}});
    return r;
  }
};

// Answers one request (engine_http.cc); `self` is null once the server is gone.
awaitable<void> handle_engine_request(std::shared_ptr<EngineServer::Impl> self, http::Exchange& ex);

}  // namespace agentsched::serve
