// The program-aware part of the router: an LLM call becomes a Gateway call (program id,
// last-step flag and stream flag scanned from the body, include_usage added for streams),
// the policy forwards or holds it, its outcome (usage read by the relay) goes back to the
// policy, and programs end on release, on a held call's hang-up and on idle TTL. Health-aware
// placement (gateway/health_aware.h) wraps the policy.
#include <fmt/format.h>

#include <algorithm>

#include "router/responses.h"
#include "router/router_impl.h"

namespace agentsched::serve {

void Router::Impl::gateway_call(const CallPtr& call) {
  const std::string_view session = call->head.field("x-session-id").value_or("");
  auto scan = http::scan_chat_request(call->body, session);
  if (!scan) {
    ++stats.errors.bad_request;
    return respond(call, 400, error_body(400, scan.error().message));
  }
  call->kind = CallKind::kGateway;
  call->program_id = std::move(scan->program_id);
  call->anonymous = call->program_id.empty();
  call->is_last_step = scan->is_last_step;
  call->stream = scan->stream;
  call->edit = http::include_usage_edit(call->body, *scan);
  link(call.get());
  profiles_.on_arrival(call->program_id, !call->anonymous, call->arrived, call->call_index,
                       call->gap_s);
  // A sticky program whose backend is down moves before its call.
  if (!call->anonymous)
    if (ProgramState* p = gw->find(call->program_id)) placement->move_before_call(*gw, *p);
  submit(call);
}

void Router::Impl::submit(const CallPtr& call) {
  call->id = next_id++;
  calls.emplace(call->id, call);
  CallRequest req;
  req.id = call->id;
  req.program_id = call->anonymous ? std::string() : call->program_id;
  req.is_last_step = call->is_last_step;
  req.prompt_tokens_estimate = static_cast<std::int64_t>(call->body.size() / 4);
  call->phase = Phase::kHeld;
  call->held_since = clock->now();
  call->in_submit = true;
  call->forwarded_now = false;
  gw->submit(std::move(req));
  call->in_submit = false;
  call->t_submitted = steady_now();
  reschedule_policy_timer();
  if (call->finished) return;
  if (call->forwarded_now) {
    start_attempt(call);
  } else {
    call->was_held = true;
  }
}

// GatewayDriver: the policy forwards a call (now, or later from a poll, timer or resume).
void Router::Impl::forward(const CallRequest& req, BackendIndex backend) {
  auto it = calls.find(req.id);
  if (it == calls.end()) {
    // Its client is gone: give the in-flight slot back once the policy has returned.
    asio::post(io, [self = shared_from_this(), id = req.id] {
      self->gw->complete(CallResult{.id = id, .ok = false});
      self->reschedule_policy_timer();
    });
    return;
  }
  const CallPtr& call = it->second;
  if (call->anonymous) call->program_id = req.program_id;  // "anonymous:N"
  call->backend = backend;
  call->phase = Phase::kForwarded;
  call->forwarded = true;
  call->forwarded_at = clock->now();
  call->held_s += call->forwarded_at - call->held_since;
  call->t_forward = steady_now();
  if (call->in_submit) {
    call->forwarded_now = true;
  } else {
    stats.hold_time.observe(call->forwarded_at - call->held_since);
    asio::post(io, [this, call] { start_attempt(call); });
  }
}

// Records the outcome once: the policy learns it, the profile and metrics take it.
void Router::Impl::finish_call(const CallPtr& call, int status, bool ok) {
  if (call->finished) return;
  call->finished = true;
  if (call->kind == CallKind::kGateway && calls.erase(call->id)) {
    CallResult r;
    r.id = call->id;
    r.ok = ok;
    const auto& u = call->usage;
    if (ok) {
      if (u.prompt_tokens || u.completion_tokens || u.total_tokens) {
        r.completion_tokens = u.completion_tokens.value_or(0);
        r.prompt_tokens = u.prompt_tokens.value_or(
            std::max<std::int64_t>(0, u.total_tokens.value_or(0) - r.completion_tokens));
        r.cached_tokens = std::clamp<std::int64_t>(u.cached_tokens.value_or(0), 0, r.prompt_tokens);
      } else {
        r.prompt_tokens = static_cast<std::int64_t>(call->body.size() / 4);  // no usage seen
      }
    }
    gw->complete(r);
    if (call->anonymous) gw->release(call->program_id);
    reschedule_policy_timer();
  }
  finish_record(call, status, ok);
}

void Router::Impl::finish_record(const CallPtr& call, int status, bool ok) {
  unlink(call.get());
  const bool still_held = call->phase == Phase::kHeld;
  call->phase = Phase::kDone;
  if (call->kind == CallKind::kLocal) return;
  const SteadyTime t_done = steady_now();
  const double total = seconds_between(call->t_arrive, t_done);
  stats.request_duration.observe(total);
  if (call->t_up_end > call->t_up_start && call->t_up_start > SteadyTime{}) {
    const double held = call->was_held ? seconds_between(call->t_submitted, call->t_forward) : 0;
    const double upstream = seconds_between(call->t_up_start, call->t_up_end);
    stats.proxy_overhead.observe(std::max(0.0, total - held - upstream));
  }
  if (call->kind != CallKind::kGateway) return;
  CallRecord r;
  r.index = call->call_index;
  r.backend = call->t_up_start > SteadyTime{} ? static_cast<std::int32_t>(call->backend) : -1;
  r.status = status;
  r.stream = call->stream;
  r.retried = call->retried;
  r.arrived = call->arrived;
  r.held_s = call->held_s + (still_held ? clock->now() - call->held_since : 0);
  if (call->got_response_byte) r.ttfb_s = call->first_byte_at - call->sent_at;
  if (call->last_byte_at > 0) r.backend_s = call->last_byte_at - call->sent_at;
  r.gap_s = call->gap_s;
  if (ok) {
    r.prompt_tokens = call->usage.prompt_tokens.value_or(0);
    r.completion_tokens = call->usage.completion_tokens.value_or(0);
  }
  profiles_.on_call_end(call->anonymous ? std::string_view(call->program_id) : call->program_id, r,
                        clock->now());
}

// Ends a program in the gateway; its held calls go through as single calls.
bool Router::Impl::release_program(const std::string& id, std::string_view reason) {
  ProgramState* p = gw->find(id);
  if (!p) return false;
  std::vector<RequestId> held;
  for (const auto& c : p->held) held.push_back(c.id);
  if (p->in_flight) {
    // Gateway::release forgets calls in flight without giving back the backend's in-flight
    // count: end them for the gateway first. They still finish for their clients.
    std::vector<RequestId> flying;
    for (const auto& [rid, call] : calls)
      if (call->program_id == id && call->phase != Phase::kHeld) flying.push_back(rid);
    for (RequestId rid : flying) {
      calls.erase(rid);
      gw->complete(CallResult{.id = rid, .ok = false});
    }
    p = gw->find(id);
    if (!p) return true;
  }
  profiles_.on_release(id, p->first_seen, p->last_activity, reason);
  gw->release(id);
  for (RequestId rid : held) {
    auto it = calls.find(rid);
    if (it == calls.end()) continue;
    CallPtr call = it->second;
    calls.erase(it);
    if (call->finished) continue;
    call->anonymous = true;
    call->program_id.clear();
    submit(call);
  }
  reschedule_policy_timer();
  return true;
}

void Router::Impl::reschedule_policy_timer() {
  const std::optional<Seconds> t = stopping ? std::nullopt : gw->next_timer();
  if (t == policy_timer_at) return;
  policy_timer_at = t;
  ++policy_timer_gen;
  if (!t) {
    policy_timer->cancel();
    return;
  }
  // Waits on the router clock itself: a scaled clock's real instant, a manual clock's time.
  policy_timer->expires_at(*t);
  policy_timer->async_wait([self = shared_from_this(), gen = policy_timer_gen](error_code ec) {
    if (ec || gen != self->policy_timer_gen || self->stopping) return;
    self->policy_timer_at.reset();
    self->gw->on_timer();
    self->reschedule_policy_timer();
  });
}

}  // namespace agentsched::serve
