#include <fmt/format.h>

#include "emulator/engine_server_impl.h"

namespace agentsched::serve {

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

awaitable<void> handle_engine_request(std::shared_ptr<EngineServer::Impl> self,
                                      http::Exchange& ex) {
  return handle_request(std::move(self), ex);
}

}  // namespace agentsched::serve
