// The response relay: a backend's response goes to the client as it arrives, chunk by chunk
// (streaming SSE) or whole (unary), its usage read on the way; the decisions (framing, the
// client's head, which bytes go out) are relay.h's. Also the two ways a call ends early: the
// backend failing mid-response, the client going away.
#include <fmt/format.h>

#include "router/router_impl.h"

namespace agentsched::serve {

void Router::Impl::begin_relay(const CallPtr& call) {
  const http::MessageHead& rh = call->rhead;
  call->status = rh.status;
  call->plan = plan_response(call->head.method, rh, call->edit.has_value());
  call->body_reader.reset(call->plan.framing, call->plan.body_length);
  build_client_head(call->whead, rh, call->plan, call->backend, call->keep_alive);
  call->up->in.consume(rh.head_size);
  relay_body(call, false);
}

// Relays the response body bytes buffered in call->up->in; `eof`: the backend closed.
void Router::Impl::relay_body(const CallPtr& call, bool eof) {
  http::UpstreamConnection& up = *call->up;
  auto& pieces = call->pieces;
  std::size_t consumed = 0;
  const auto outcome = call->body_reader.read(up.in.data(), eof, pieces, consumed);
  if (outcome == BodyReader::Outcome::kBadChunk) {
    ++stats.errors.upstream_io;
    relay_failed(call, "invalid chunked encoding from backend");
    return;
  }
  if (outcome == BodyReader::Outcome::kTruncated) {
    ++stats.errors.upstream_io;
    relay_failed(call, "backend closed the connection mid-response");
    return;
  }
  const bool end = outcome == BodyReader::Outcome::kEnd;
  if (end) {
    call->last_byte_at = clock->now();
    call->t_up_end = steady_now();
  }
  for (auto p : pieces) call->usage.feed(p);
  if (call->plan.strip_usage) {
    // Whole SSE events pass through; the usage-only chunk (which the client did not ask
    // for) is dropped.
    for (auto p : pieces) call->sse_filter.feed(p, call->sse_out);
    if (end) call->sse_filter.finish(call->sse_out);
    pieces.clear();
    if (!call->sse_out.empty()) pieces.push_back(call->sse_out);
  }
  auto& bufs = call->wbufs;
  client_frames(bufs, call->head_sent ? std::string_view() : std::string_view(call->whead), pieces,
                call->plan.client_chunked, end, call->chunk_size);
  if (bufs.empty()) {
    up.in.consume(consumed);
    read_upstream_body(call);
    return;
  }
  ConnPtr client = call->client;
  if (!client || client->closed) {
    abort_call(call, "client disconnected");
    return;
  }
  asio::async_write(client->socket, bufs,
                    [this, call, gen = call->gen, consumed, end](error_code ec, std::size_t) {
                      if (call->finished || call->gen != gen) return;
                      if (ec) {
                        abort_call(call, "client disconnected");
                        return;
                      }
                      call->head_sent = true;
                      call->sse_out.clear();
                      call->up->in.consume(consumed);
                      if (end)
                        relay_done(call);
                      else
                        read_upstream_body(call);
                    });
}

void Router::Impl::read_upstream_body(const CallPtr& call) {
  http::UpstreamConnection& up = *call->up;
  up.in.reserve_writable(16 * 1024);
  up.socket.async_read_some(asio::buffer(up.in.write_ptr(), up.in.writable()),
                            [this, call, gen = call->gen](error_code ec, std::size_t n) {
                              if (call->finished || call->gen != gen) return;
                              if (ec == asio::error::eof) {
                                call->plan.upstream_reusable = false;
                                relay_body(call, true);
                                return;
                              }
                              if (ec) {
                                ++stats.errors.upstream_io;
                                relay_failed(call,
                                             fmt::format("reading from backend: {}", ec.message()));
                                return;
                              }
                              call->up->in.commit(n);
                              relay_body(call, false);
                            });
}

// The whole response went to the client.
void Router::Impl::relay_done(const CallPtr& call) {
  Backend& be = backends[call->backend];
  std::unique_ptr<http::UpstreamConnection> up = std::move(call->up);
  if (call->plan.upstream_reusable && !stopping)
    be.pool.give(std::move(up));
  else
    up->close();
  if (be.status.response_relayed(clock->now(), call->status)) log_up(call->backend);
  count_response(*call, call->status);
  finish_call(call, call->status, call->status >= 200 && call->status < 300);
  end_exchange(call, true);
}

// The backend failed after part of its response went to the client: the client sees a
// truncated response (the connection is closed), the policy a failed call.
void Router::Impl::relay_failed(const CallPtr& call, const std::string& why, bool backend_fault) {
  call->drop_upstream();
  if (backend_fault) mark_down(call->backend, why);
  ++backends[call->backend].status.failures;
  count_response(*call, call->status);
  // The client saw a truncated response: the profile records it as a backend failure.
  finish_call(call, 502, false);
  if (call->client) server->close(call->client);
  end_exchange(call, false);
}

// The client went away (or the router gave up on the call): free everything at once.
void Router::Impl::abort_call(const CallPtr& call, std::string_view why) {
  if (call->finished) return;
  ++stats.errors.client_disconnect;
  count_response(*call, 499);
  // Closing the connection is how the engine learns to abort the request.
  call->drop_upstream();
  const bool held = call->kind == CallKind::kGateway && call->phase == Phase::kHeld;
  if (held) {
    // Design rule: a held call whose client hangs up releases its program (the agent is
    // gone); other held calls of that program go through as single calls.
    calls.erase(call->id);
    call->finished = true;  // keep release_program from answering this call
    finish_record(call, 499, false);
    release_program(call->program_id, "disconnect");
  } else {
    finish_call(call, 499, false);
  }
  if (call->client) server->close(call->client);
  end_exchange(call, false);
}

}  // namespace agentsched::serve
