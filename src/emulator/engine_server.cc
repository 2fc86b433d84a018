#include "emulator/engine_server.h"

#include <fmt/format.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "core/rng.h"
#include "engine/engine_model.h"
#include "engine/engine_policy.h"
#include "http/fd_limit.h"
#include "http/prometheus.h"
#include "http/server.h"
#include "http/sse.h"
#include "emulator/chat_request.h"
#include "http/clock_timer.h"
#include "emulator/gpu_clock.h"
#include "emulator/vllm_exposition.h"

namespace agentsched::serve {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using http::error_code;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string json_quote(std::string_view s) {
  return json::serialize(json::string(s));
}

// vLLM 0.9.2's ErrorResponse (flat: object, message, type, param, code), with the same
// fields repeated under `error` where the OpenAI SDKs look for them.
http::Response error_response(int status, std::string_view message, std::string_view type) {
  json::object inner{{"message", message}, {"type", type}, {"param", nullptr}, {"code", status}};
  json::object body{{"object", "error"}, {"message", message}, {"type", type},
                    {"param", nullptr},  {"code", status},     {"error", inner}};
  http::Response r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

// What FastAPI answers for routes it does not have.
http::Response detail_response(int status, std::string_view detail) {
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

}  // namespace

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
        exposition(model_name, profile, engine.block_pool().num_blocks(), created_unix),
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

  // Completes every step whose planned end has passed, before an arrival, an abort or a
  // scrape touches the engine. When the event loop runs late (a busy machine, a sanitizer
  // build) a request's bytes and an overdue step timer are ready at once; without this the
  // request could be handled first, join the step that starts at the planned end although
  // it arrived after it, and push the engine's timeline to its own arrival time -- a
  // different batch than `sim` would form, which under KV pressure changes who is
  // preempted.
  void catch_up() {
    while (!stopped && engine.step_in_flight() && step_end <= clock.base_now()) on_step_done();
  }

  // Pins expire while the engine is idle: wake at the earliest expiry.
  void arm_wakeup() {
    const auto at = engine.next_wakeup();
    if (!at) {
      wake_timer.cancel();
      return;
    }
    wake_timer.expires_at(*at);
    wake_timer.async_wait([this](error_code ec) {
      if (ec || stopped || engine.step_in_flight()) return;
      engine.on_timer();
      start_step();
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

namespace {

using ImplPtr = std::shared_ptr<EngineServer::Impl>;

// Removes the request's Pending entry however the handler ends.
struct PendingGuard {
  EngineServer::Impl& impl;
  Pending& p;
  ~PendingGuard() {
    impl.pending.erase(p.id);
    impl.request_done();
  }
};

awaitable<void> wait_for_engine(Pending& p) {
  p.wake.expires_at(asio::steady_timer::time_point::max());
  co_await p.wake.async_wait(as_tuple_awaitable);
}

awaitable<void> chat_completions(ImplPtr self, http::Exchange& ex) {
  EngineServer::Impl& s = *self;
  const std::optional<EngineFaultKind> fault = s.next_chat_fault();
  if (fault == EngineFaultKind::kHttp500) {
    s.count_fault(*fault);
    co_await ex.respond(error_response(
        500, "Injected fault (--fault http500): internal server error", "InternalServerError"));
    co_return;
  }
  auto parsed = parse_chat_request(ex.request().body, ex.request().header("x-session-id"));
  if (!parsed) {
    co_await ex.respond(error_response(400, parsed.error().message, "BadRequestError"));
    co_return;
  }
  const ChatRequest& req = *parsed;
  if (!req.model.empty() && req.model != s.model_name) {
    co_await ex.respond(error_response(
        404, fmt::format("The model `{}` does not exist.", req.model), "NotFoundError"));
    co_return;
  }
  if (s.shutting_down) {
    co_await ex.respond(error_response(503, "The server is shutting down.", "ServiceUnavailable"));
    co_return;
  }
  const std::int64_t max_len = s.profile.model.max_model_len;
  const std::int64_t prompt = req.prompt_tokens;
  if (!req.max_tokens && prompt >= max_len) {
    co_await ex.respond(error_response(
        400,
        fmt::format("This model's maximum context length is {} tokens. However, you requested "
                    "{} tokens in the messages, Please reduce the length of the messages.",
                    max_len, prompt),
        "BadRequestError"));
    co_return;
  }
  if (req.max_tokens && prompt + *req.max_tokens > max_len) {
    co_await ex.respond(error_response(
        400,
        fmt::format("This model's maximum context length is {} tokens. However, you requested "
                    "{} tokens ({} in the messages, {} in the completion). Please reduce the "
                    "length of the messages or completion.",
                    max_len, prompt + *req.max_tokens, prompt, *req.max_tokens),
        "BadRequestError"));
    co_return;
  }

  // Output length: exact with ignore_eos; otherwise the profile's distribution, cut at
  // max_tokens (vLLM's default max_tokens is what is left of the context).
  const std::int64_t cap = req.max_tokens ? *req.max_tokens : max_len - prompt;
  std::int64_t output = cap;
  std::string finish_reason = "length";
  if (!req.ignore_eos) {
    const double p50 = s.profile.emulator.output_tokens_p50;
    const double p90 = std::max(s.profile.emulator.output_tokens_p90, p50);
    const double sigma = std::log(p90 / p50) / 1.2815515655446004;
    // Clamped before rounding: a far tail draw must cut at the cap, not overflow llround.
    const double length = std::min(std::exp(std::log(p50) + sigma * s.rng.normal()),
                                   static_cast<double>(std::max<std::int64_t>(cap, 1)));
    const auto drawn = std::max<std::int64_t>({1, req.min_tokens, std::llround(length)});
    if (drawn < cap) {
      output = drawn;
      finish_reason = "stop";
    }
  }

  Pending p(s.io.get_executor());
  p.id = s.next_id++;
  p.prompt_tokens = prompt;
  p.max_tokens_param = cap;
  p.finish_reason = finish_reason;
  EngineRequestSpec spec;
  spec.id = p.id;
  spec.program_key = program_key(req.program_id);
  spec.prompt_tokens = prompt;
  spec.output_tokens = output;
  spec.prompt_block_hashes = prompt_block_hashes(req.prompt_text);
  spec.is_last_step = req.is_last_step;
  spec.next_tool = req.next_tool;
  s.catch_up();
  if (auto st = s.engine.add_request(std::move(spec)); !st) {
    co_await ex.respond(error_response(400, st.error().message, "BadRequestError"));
    co_return;
  }
  p.arrival = s.clock.now();
  s.pending.emplace(p.id, &p);
  PendingGuard guard{s, p};
  ex.on_disconnect([&p] {
    p.client_gone = true;
    p.notify();
  });
  s.pump();

  if (fault == EngineFaultKind::kStall) {
    // The request runs in the engine, but no byte of an answer ever goes out; a client that
    // gives up has it aborted (its KV blocks freed) like any other.
    s.count_fault(*fault);
    while (!p.client_gone && !p.cancelled) co_await wait_for_engine(p);
    if (p.client_gone) {
      s.abort(p);
      co_return;
    }
    co_await ex.respond(error_response(503, "The server shut down before the request finished.",
                                       "ServiceUnavailable"));
    co_return;
  }

  const std::uint64_t text_seed = mix64(hash_bytes(req.prompt_text));
  const std::string id = fmt::format("chatcmpl-{:016x}{:016x}", mix64(p.id ^ text_seed),
                                     mix64(static_cast<std::uint64_t>(s.created_unix) + p.id));
  const double created = unix_now();

  if (!req.stream) {
    while (!p.finished && !p.client_gone && !p.cancelled) co_await wait_for_engine(p);
    if (p.client_gone) {
      s.abort(p);
      co_return;
    }
    if (!p.finished) {  // cancelled by shutdown
      co_await ex.respond(error_response(503, "The server shut down before the request finished.",
                                         "ServiceUnavailable"));
      co_return;
    }
    const std::int64_t n = p.result.output_tokens;
    std::string body = fmt::format(
        R"({{"id":"{}","object":"chat.completion","created":{},"model":{},"choices":[{{"index":0,)"
        R"("message":{{"role":"assistant","reasoning_content":null,"content":"{}","tool_calls":[]}},)"
        R"("logprobs":null,"finish_reason":"{}","stop_reason":null}}],"usage":{},)"
        R"("prompt_logprobs":null,"kv_transfer_params":null}})",
        id, static_cast<std::int64_t>(created), s.model_json, filler_text(text_seed, 0, n),
        p.finish_reason, s.usage_json(p));
    http::Response r;
    r.body = std::move(body);
    if (fault == EngineFaultKind::kClose) {
      // The head goes out with the body's length, then the connection closes.
      s.count_fault(*fault);
      co_await ex.respond_truncated(std::move(r), 0);
      co_return;
    }
    co_await ex.respond(std::move(r));
    co_return;
  }

  // Streaming: one SSE chunk per engine step that produced tokens for this request (tokens
  // that piled up while a write was pending go out together, as vLLM merges outputs).
  if (co_await ex.begin_stream(200, "text/event-stream; charset=utf-8")) {
    s.abort(p);
    co_return;
  }
  const std::string prefix = s.chunk_prefix(id, created);
  std::string out;
  http::append_sse_event(
      out,
      prefix +
          R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})");
  if (fault == EngineFaultKind::kClose) {
    // The role chunk and one chunk of content, then the connection closes without the
    // final chunk, [DONE] or the end of the chunked body.
    s.count_fault(*fault);
    if (!co_await ex.write(out)) {
      while (p.generated == 0 && !p.finished && !p.client_gone && !p.cancelled)
        co_await wait_for_engine(p);
      if (p.generated > 0 && !p.client_gone) {
        std::string payload = prefix + R"("choices":[{"index":0,"delta":{"content":")";
        append_filler_text(payload, text_seed, 0, p.generated);
        payload += R"("},"logprobs":null,"finish_reason":null}]})";
        std::string chunk;
        http::append_sse_event(chunk, payload);
        co_await ex.write(chunk);
      }
    }
    if (!p.cancelled) s.abort(p);  // a no-op when it finished
    co_return;
  }
  std::int64_t sent = 0;
  bool done = false;
  for (;;) {
    if (p.client_gone) {
      s.abort(p);
      co_return;
    }
    if (p.cancelled && !p.finished) {
      http::append_sse_event(
          out,
          R"({"object":"error","message":"The server shut down before the request finished.","type":"ServiceUnavailable","param":null,"code":503})");
      co_await ex.write(out);
      co_await ex.end_stream();
      co_return;
    }
    const bool final = p.finished;
    if (p.generated > sent || final) {
      std::string payload = prefix;
      payload += R"("choices":[{"index":0,"delta":{"content":")";
      append_filler_text(payload, text_seed, sent, p.generated - sent);
      sent = p.generated;
      if (final) {
        payload += R"("},"logprobs":null,"finish_reason":")";
        payload += p.finish_reason;
        payload += R"(","stop_reason":null}]})";
      } else {
        payload += R"("},"logprobs":null,"finish_reason":null}]})";
      }
      http::append_sse_event(out, payload);
      if (final) {
        if (req.include_usage)
          http::append_sse_event(out, prefix + R"("choices":[],"usage":)" + s.usage_json(p) + "}");
        out += http::kSseDone;
        done = true;
      }
    }
    if (!out.empty()) {
      const std::string batch = std::move(out);
      out.clear();
      if (co_await ex.write(batch)) {
        if (!done) s.abort(p);
        co_return;
      }
      if (done) {
        co_await ex.end_stream();
        co_return;
      }
      continue;  // the write suspended: look again before waiting
    }
    co_await wait_for_engine(p);
  }
}

awaitable<void> handle_request(ImplPtr self, http::Exchange& ex) {
  if (!self) {
    co_await ex.respond(detail_response(503, "Service Unavailable"));
    co_return;
  }
  const http::Request& req = ex.request();
  const std::string_view path = req.path();
  if (path == "/v1/chat/completions" && req.method == "POST") {
    co_await chat_completions(self, ex);
    co_return;
  }
  // (The response is built before the co_await: GCC 12 destroys temporaries of a
  // conditional expression inside a co_await operand twice.)
  http::Response r;
  const bool known = path == "/v1/chat/completions" || path == "/health" || path == "/metrics" ||
                     path == "/v1/models" || path == "/version";
  if (!known) {
    r = detail_response(404, "Not Found");
  } else if (req.method != "GET" || path == "/v1/chat/completions") {
    r = detail_response(405, "Method Not Allowed");
  } else if (path == "/health") {
    r.content_type.clear();
  } else if (path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    const std::int64_t every =
        self->fault_every[static_cast<std::size_t>(EngineFaultKind::kGarbageMetrics)];
    if (++self->metrics_scrapes; every > 0 && self->metrics_scrapes % every == 0) {
      self->count_fault(EngineFaultKind::kGarbageMetrics);
      r.body = std::string(kGarbageMetricsText);
    } else {
      self->catch_up();
      r.body = self->render_metrics();
    }
  } else if (path == "/v1/models") {
    r = self->models_response();
  } else {
    // vLLM's /version gives the version only; the emulator adds its time scale, so the
    // router and driver can tell when they run on another clock (a mismatch skews every
    // wait and timestamp of the run).
    r.body = fmt::format(R"({{"version":"0.9.2","time_scale":{}}})", self->options.time_scale);
  }
  co_await ex.respond(std::move(r));
}

}  // namespace

std::string_view engine_fault_name(EngineFaultKind kind) {
  switch (kind) {
    case EngineFaultKind::kHttp500:
      return "http500";
    case EngineFaultKind::kClose:
      return "close";
    case EngineFaultKind::kStall:
      return "stall";
    case EngineFaultKind::kGarbageMetrics:
      return "garbage-metrics";
  }
  return "?";
}

Result<EngineFault> parse_engine_fault(std::string_view spec) {
  auto bad = [spec](std::string_view why) {
    return make_error(
        fmt::format("--fault '{}': {} (expected KIND=EVERY: KIND one of http500, close, stall, "
                    "garbage-metrics; EVERY a positive integer)",
                    spec, why));
  };
  const auto eq = spec.find('=');
  if (eq == std::string_view::npos) return bad("no '='");
  const std::string_view name = spec.substr(0, eq);
  const std::string_view every_text = spec.substr(eq + 1);
  std::optional<EngineFaultKind> kind;
  for (int k = 0; k < kEngineFaultKinds; ++k)
    if (engine_fault_name(static_cast<EngineFaultKind>(k)) == name)
      kind = static_cast<EngineFaultKind>(k);
  if (!kind) return bad(fmt::format("unknown kind '{}'", name));
  std::int64_t every = 0;
  const auto [end, ec] =
      std::from_chars(every_text.data(), every_text.data() + every_text.size(), every);
  if (ec != std::errc{} || end != every_text.data() + every_text.size() || every_text.empty())
    return bad(fmt::format("EVERY '{}' is not an integer", every_text));
  if (every < 1) return bad(fmt::format("EVERY must be at least 1, got {}", every));
  return EngineFault{*kind, every};
}

EngineServer::EngineServer(asio::io_context& io, EngineServerOptions options) {
  if (!(options.time_scale > 0) || !std::isfinite(options.time_scale))
    throw std::runtime_error(
        fmt::format("--time-scale must be positive, got {}", options.time_scale));
  auto profile = load_profile(options.profile);
  if (!profile) throw std::runtime_error(profile.error().message);
  if (options.max_model_len > 0)
    profile->model.max_model_len = static_cast<int>(options.max_model_len);
  if (options.host_kv_gib >= 0)
    if (auto st = set_profile_field(*profile, "host.kv_gib", options.host_kv_gib); !st)
      throw std::runtime_error(fmt::format("--host-kv-gib: {}", st.error().message));
  auto policy = make_engine_policy(options.policy, options.policy_params);
  if (!policy) throw std::runtime_error(policy.error().message);
  std::array<std::int64_t, kEngineFaultKinds> fault_every{};
  for (const EngineFault& f : options.faults) {
    if (f.every < 1)
      throw std::runtime_error(fmt::format("--fault {}={}: EVERY must be at least 1",
                                           engine_fault_name(f.kind), f.every));
    auto& slot = fault_every[static_cast<std::size_t>(f.kind)];
    if (slot > 0)
      throw std::runtime_error(
          fmt::format("--fault {} given twice (one EVERY per kind)", engine_fault_name(f.kind)));
    slot = f.every;
  }
  impl_ = std::make_shared<Impl>(io, std::move(options), std::move(*profile),
                                 std::move(policy.value()));
  impl_->fault_every = fault_every;
  http::ServerOptions server_options;
  server_options.server_name = "agentsched-engine";
  impl_->server = std::make_unique<http::Server>(
      io.get_executor(),
      [weak = std::weak_ptr<Impl>(impl_)](http::Exchange& ex) {
        return handle_request(weak.lock(), ex);
      },
      server_options);
}

EngineServer::~EngineServer() {
  impl_->stopped = true;
}

Status EngineServer::start() {
  if (auto st = impl_->server->listen(impl_->options.host, impl_->options.port); !st) return st;
  impl_->server->start();
  return Ok{};
}

std::uint16_t EngineServer::port() const {
  return impl_->server->port();
}

const EngineServerOptions& EngineServer::options() const {
  return impl_->options;
}

const Profile& EngineServer::profile() const {
  return impl_->profile;
}

void EngineServer::shutdown(std::function<void()> on_done) {
  impl_->shutdown(std::move(on_done));
}

BackendMetrics EngineServer::metrics() const {
  return impl_->engine.metrics();
}

std::string EngineServer::metrics_text() const {
  return impl_->render_metrics();
}

std::int64_t EngineServer::faults_injected(EngineFaultKind kind) const {
  return impl_->faults_injected[static_cast<std::size_t>(kind)];
}

int run_engine_server(const EngineServerOptions& options) {
  const std::uint64_t fd_limit = http::raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client must cost an error code, not the process
  asio::io_context io(1);
  EngineServer server(io, options);
  // Signals are caught before the port is announced: whoever reads the announcement may
  // send SIGTERM at once.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stopped = false;
  std::function<void(error_code, int)> on_signal = [&](error_code ec, int sig) {
    if (ec || stopped) return;
    std::fprintf(stderr, "agentsched engine: signal %d, shutting down\n", sig);
    signals.async_wait(on_signal);  // a second signal aborts what is still in flight
    server.shutdown([&] {
      stopped = true;
      signals.cancel();
    });
  };
  signals.async_wait(on_signal);
  if (auto st = server.start(); !st) throw std::runtime_error(st.error().message);
  const Profile& p = server.profile();
  std::fprintf(stderr,
               "agentsched engine: profile %s, policy %s, %lld KV blocks of %d tokens, "
               "max_model_len %d, time scale %g, fd limit %llu\n",
               p.name.c_str(), options.policy.c_str(),
               static_cast<long long>(server.metrics().num_gpu_blocks), p.engine.block_size,
               p.model.max_model_len, options.time_scale,
               static_cast<unsigned long long>(fd_limit));
  for (const EngineFault& f : options.faults)
    std::fprintf(stderr, "agentsched engine: FAULT INJECTION (testing): %s every %lld\n",
                 std::string(engine_fault_name(f.kind)).c_str(), static_cast<long long>(f.every));
  std::printf("listening on %s:%u\n", options.host.c_str(), static_cast<unsigned>(server.port()));
  std::fflush(stdout);

  io.run();
  std::fprintf(stderr, "agentsched engine: stopped\n");
  return 0;
}

}  // namespace agentsched::serve
