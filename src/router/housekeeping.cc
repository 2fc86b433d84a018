// Housekeeping and shutdown: once a second, requests and connections past their deadlines
// (header, body, idle, drain, connect, upstream), programs idle past --program-ttl, and the
// profile flush; then the graceful shutdown (held calls answered 503, calls in flight given
// shutdown_timeout_s, live programs written to programs.csv, every socket and timer closed).
#include <fmt/format.h>

#include "router/responses.h"
#include "router/router_impl.h"

namespace agentsched::serve {

void Router::Impl::tick() {
  tick_timer.expires_after(std::chrono::seconds(1));
  tick_timer.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->stopped) return;
    self->housekeeping();
    self->tick();
  });
}

void Router::Impl::housekeeping() {
  server->sweep();  // client connections past their header, body or idle deadline
  const SteadyTime now = steady_now();
  std::vector<CallPtr> late;
  for (Call* c = list_head.next; c != &list_head; c = c->next) {
    if (c->connecting && seconds_between(c->connect_started, now) > opt.connect_timeout_s)
      late.push_back(c->shared_from_this());
    else if (opt.upstream_timeout_s > 0 && c->phase == Phase::kUpstream &&
             seconds_between(c->t_up_start, now) > opt.upstream_timeout_s)
      late.push_back(c->shared_from_this());
  }
  for (const CallPtr& call : late) {
    if (call->finished) continue;
    ++stats.errors.timeout;
    if (call->connecting) {
      attempt_failed(call,
                     fmt::format("connect to {}: no answer within {} s",
                                 backends[call->backend].status.url, opt.connect_timeout_s),
                     true);
    } else if (!call->head_sent) {
      // A slow answer is not a dead backend: no retry elsewhere (it would double the load).
      call->drop_upstream();
      fail_call(call, 504,
                fmt::format("the backend did not answer within {} s", opt.upstream_timeout_s));
    } else {
      relay_failed(call, "backend response timed out", false);
    }
  }
  if (opt.program_ttl_s > 0) {
    const Seconds t = clock->now();
    std::vector<std::string> idle;
    for (const auto& [id, p] : gw->programs())
      if (!p.in_flight && p.held.empty() && t - p.last_activity > opt.program_ttl_s)
        idle.push_back(id);
    for (const auto& id : idle) {
      ++stats.released_by_ttl;
      release_program(id, "ttl");
    }
  }
  profiles_.flush();
}

void Router::Impl::shutdown(std::function<void()> done) {
  if (stopping) {
    // A second request: drop what is left now.
    std::vector<CallPtr> open;
    for (Call* c = list_head.next; c != &list_head; c = c->next)
      open.push_back(c->shared_from_this());
    for (const CallPtr& call : open) abort_call(call, "shutdown");
    server->close_all();
    maybe_finish_shutdown();
    return;
  }
  stopping = true;
  on_done = std::move(done);
  listener.close();
  // Held calls will not be resumed: answer them now.
  std::vector<CallPtr> held;
  for (const auto& [id, call] : calls)
    if (call->phase == Phase::kHeld) held.push_back(call);
  for (const CallPtr& call : held) {
    calls.erase(call->id);
    call->finished = true;
    finish_record(call, 503, false);
    count_response(*call, 503);
    call->status = 503;
    call->keep_alive = false;
    respond_after_finish(call, error_body(503, "the router is shutting down"));
  }
  server->stop();  // idle connections closed, busy ones after their response
  auto grace = std::make_shared<asio::steady_timer>(io);
  grace->expires_after(real_duration(opt.shutdown_timeout_s));
  grace->async_wait([self = shared_from_this(), grace](error_code) {
    if (!self->stopped) self->shutdown({});
  });
  shutdown_grace = grace;
  maybe_finish_shutdown();
}

void Router::Impl::maybe_finish_shutdown() {
  if (!stopping || stopped || server->num_connections() > 0) return;
  stopped = true;
  // Programs still live are written to programs.csv with end=shutdown.
  std::vector<std::string> ids;
  for (const auto& [id, p] : gw->programs()) ids.push_back(id);
  for (const auto& id : ids)
    if (const ProgramState* p = gw->find(id))
      profiles_.on_release(id, p->first_seen, p->last_activity, "shutdown");
  profiles_.flush();
  policy_timer->cancel();
  tick_timer.cancel();
  if (shutdown_grace) shutdown_grace->cancel();
  for (auto& b : backends) b.pool.close_all();
  if (on_done) {
    auto done = std::move(on_done);
    on_done = nullptr;
    asio::post(io, std::move(done));
  }
}

}  // namespace agentsched::serve
