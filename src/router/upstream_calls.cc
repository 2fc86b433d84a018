// Upstream attempts: a call goes to its backend on a pooled keep-alive connection
// (http/upstream.h) or a fresh one; a failure before any response byte reached the client is
// retried once elsewhere (a stale pooled connection first gets one more try on a fresh one);
// everything after the response head is the relay's (relay_io.cc).
#include <fmt/format.h>

#include "router/responses.h"
#include "router/router_impl.h"

namespace agentsched::serve {

void Router::Impl::plain_call(const CallPtr& call) {
  call->kind = CallKind::kPlain;
  link(call.get());
  auto b = placement->healthy_fallback(*gw, std::nullopt);
  call->backend = b.value_or(0);
  call->phase = Phase::kForwarded;
  call->forwarded = true;
  call->t_forward = call->t_submitted = steady_now();
  start_attempt(call);
}

void Router::Impl::start_attempt(const CallPtr& call) {
  if (call->finished) return;
  Backend& be = backends[call->backend];
  // A program sent to a backend known to be down while another is up (a held call resumed
  // after its backend died): skip straight to the retry.
  if (!be.status.up && call->attempts == 0 && placement->healthy_fallback(*gw, call->backend)) {
    attempt_failed(call, fmt::format("backend {} is down", call->backend), false);
    return;
  }
  ++call->gen;
  call->phase = Phase::kUpstream;
  call->got_response_byte = false;
  call->sent_at = clock->now();
  call->t_up_start = steady_now();
  std::unique_ptr<http::UpstreamConnection> up;
  if (!call->force_fresh) up = be.pool.take();
  if (!up) up = std::make_unique<http::UpstreamConnection>(io.get_executor(), call->backend);
  call->force_fresh = false;
  ++be.status.requests;
  call->up = std::move(up);
  if (call->up->reused) {
    send_request(call);
    return;
  }
  call->connecting = true;
  call->connect_started = steady_now();
  call->up->socket.async_connect(be.endpoint, [this, call, gen = call->gen](error_code ec) {
    if (call->finished || call->gen != gen) return;
    call->connecting = false;
    if (ec) {
      ++stats.errors.upstream_connect;
      attempt_failed(
          call, fmt::format("connect to {}: {}", backends[call->backend].status.url, ec.message()),
          true);
      return;
    }
    error_code ignored;
    call->up->socket.set_option(tcp::no_delay(true), ignored);
    send_request(call);
  });
}

void Router::Impl::send_request(const CallPtr& call) {
  http::UpstreamConnection& up = *call->up;
  const Backend& be = backends[call->backend];
  std::size_t body_size = call->body.size();
  if (call->edit) body_size += call->edit->text.size() - (call->edit->end - call->edit->begin);
  http::build_upstream_head(up.head, call->head, be.host_header, body_size);
  std::array<asio::const_buffer, 4> bufs;
  if (call->edit) {
    const auto& e = *call->edit;
    bufs = {asio::buffer(up.head), asio::buffer(call->body.substr(0, e.begin)),
            asio::buffer(e.text), asio::buffer(call->body.substr(e.end))};
  } else {
    bufs = {asio::buffer(up.head), asio::buffer(call->body), asio::const_buffer(),
            asio::const_buffer()};
  }
  asio::async_write(up.socket, bufs, [this, call, gen = call->gen](error_code ec, std::size_t) {
    if (call->finished || call->gen != gen) return;
    if (ec) {
      ++stats.errors.upstream_io;
      attempt_failed(
          call, fmt::format("send to {}: {}", backends[call->backend].status.url, ec.message()),
          !call->up->reused);
      return;
    }
    read_response_head(call);
  });
}

void Router::Impl::read_response_head(const CallPtr& call) {
  http::UpstreamConnection& up = *call->up;
  up.in.reserve_writable(8 * 1024);
  up.socket.async_read_some(
      asio::buffer(up.in.write_ptr(), up.in.writable()),
      [this, call, gen = call->gen](error_code ec, std::size_t n) {
        if (call->finished || call->gen != gen) return;
        http::UpstreamConnection& up = *call->up;
        if (ec) {
          ++stats.errors.upstream_io;
          // Nothing came back: a fresh connection means the backend is in trouble; a reused
          // one may just have been closed by the backend while idle.
          attempt_failed(call,
                         fmt::format("no response from {}: {}", backends[call->backend].status.url,
                                     ec == asio::error::eof ? "connection closed" : ec.message()),
                         !up.reused || call->got_response_byte);
          return;
        }
        if (!call->got_response_byte) {
          call->got_response_byte = true;
          call->first_byte_at = clock->now();
        }
        up.in.commit(n);
        std::string_view err;
        for (;;) {
          const auto r = http::parse_response_head(up.in.data(), call->rhead, err, limits);
          if (r == http::ParseResult::kIncomplete) {
            read_response_head(call);
            return;
          }
          if (r == http::ParseResult::kError) {
            ++stats.errors.upstream_io;
            attempt_failed(
                call,
                fmt::format("bad response from {}: {}", backends[call->backend].status.url, err),
                true);
            return;
          }
          if (call->rhead.status >= 100 && call->rhead.status < 200) {
            up.in.consume(call->rhead.head_size);  // interim response: wait for the real one
            continue;
          }
          break;
        }
        begin_relay(call);
      });
}

// An attempt failed before any byte went to the client.
void Router::Impl::attempt_failed(const CallPtr& call, const std::string& why, bool backend_fault) {
  if (call->finished) return;
  const bool reused = call->up && call->up->reused;
  call->drop_upstream();
  call->connecting = false;
  if (call->head_sent) {
    relay_failed(call, why);
    return;
  }
  if (reused && !call->stale_retry_used) {
    // A keep-alive connection the backend had closed: once more on a fresh connection.
    call->stale_retry_used = true;
    call->force_fresh = true;
    start_attempt(call);
    return;
  }
  const BackendIndex failed = call->backend;
  if (backend_fault) mark_down(failed, why);
  ++backends[failed].status.failures;
  ++call->attempts;
  const auto other = placement->healthy_fallback(*gw, failed);
  const bool can_retry = !call->retried && other.has_value();
  if (call->kind == CallKind::kPlain) {
    if (can_retry) {
      ++stats.errors.retried;
      call->retried = true;
      call->backend = *other;
      start_attempt(call);
      return;
    }
    fail_call(call, other || backends[failed].status.up ? 502 : 503, why);
    return;
  }
  // Gateway call: the failed attempt is a failed call for the policy; the retry is a new
  // call of the same program on another backend (the policy may hold it like any other).
  calls.erase(call->id);
  gw->complete(CallResult{.id = call->id, .ok = false});
  // A single call's program ends with the attempt (a retry makes a new one).
  if (call->anonymous) gw->release(call->program_id);
  if (can_retry) {
    ++stats.errors.retried;
    call->retried = true;
    if (ProgramState* p = gw->find(call->program_id); p && !call->anonymous && !p->in_flight)
      gw->place(*p, *other);
    submit(call);
    return;
  }
  reschedule_policy_timer();
  fail_call(call, other || backends[failed].status.up ? 502 : 503,
            fmt::format("backend failed: {}", why));
}

// Ends a call with an error response (no byte of a backend response went out).
void Router::Impl::fail_call(const CallPtr& call, int status, const std::string& message) {
  if (call->kind == CallKind::kGateway && status == 503) ++stats.errors.no_backend;
  finish_call(call, status, false);
  respond(call, status, error_body(status, message));
}

}  // namespace agentsched::serve
