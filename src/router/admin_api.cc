#include "router/admin_api.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "analysis/report_json.h"
#include "http/admin_token.h"
#include "router/dashboard_page.h"
#include "router/responses.h"

namespace agentsched::serve {

namespace json = boost::json;

namespace {

json::object program_object(const ProgramState& p, const ProfileStore& profiles, bool with_calls) {
  json::object o;
  o["id"] = p.id;
  if (p.backend)
    o["backend"] = *p.backend;
  else
    o["backend"] = nullptr;
  o["state"] = program_state(p);
  o["steps"] = p.steps;
  o["calls"] = p.calls;
  o["context_tokens"] = p.context_tokens;
  o["paused"] = p.paused;
  o["pause_requested"] = p.pause_requested;
  o["held_calls"] = p.held.size();
  o["total_held_s"] = p.total_held_s;
  o["first_seen_s"] = p.first_seen;
  o["last_activity_s"] = p.last_activity;
  if (const ProgramProfile* prof = profiles.find(p.id)) {
    json::object s;
    s["calls"] = prof->calls;
    s["errors"] = prof->errors;
    s["held_s"] = prof->held_s;
    s["backend_ttfb_s"] = prof->ttfb_s;
    s["backend_s"] = prof->backend_s;
    s["between_calls_s"] = prof->gap_s;
    s["prompt_tokens"] = prof->prompt_tokens;
    s["completion_tokens"] = prof->completion_tokens;
    o["profile"] = std::move(s);
    if (with_calls) {
      json::array calls_out;
      for (const CallRecord& r : prof->recent()) {
        json::object c;
        c["call"] = r.index;
        c["backend"] = r.backend;
        c["status"] = r.status;
        c["stream"] = r.stream;
        c["retried"] = r.retried;
        c["arrived_s"] = r.arrived;
        c["held_s"] = r.held_s;
        c["backend_ttfb_s"] = r.ttfb_s;
        c["backend_s"] = r.backend_s;
        if (r.gap_s >= 0)
          c["since_previous_s"] = r.gap_s;
        else
          c["since_previous_s"] = nullptr;
        c["prompt_tokens"] = r.prompt_tokens;
        c["completion_tokens"] = r.completion_tokens;
        calls_out.push_back(std::move(c));
      }
      o["recent_calls"] = std::move(calls_out);
    }
  }
  return o;
}

LocalResponse make_response(int status, std::string body,
                            std::string_view content_type = "application/json",
                            std::string_view extra_headers = {}) {
  LocalResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = content_type;
  r.extra_headers = extra_headers;
  return r;
}

LocalResponse json_response(int status, std::string body) {
  return make_response(status, std::move(body));
}

LocalResponse error(int status, std::string_view message) {
  return make_response(status, error_body(status, message));
}

// 401 in OpenAI's shape, with the RFC 6750 challenge. Neither the header received nor the
// token is written anywhere (answer, log or metrics).
LocalResponse unauthorized(bool presented) {
  LocalResponse r = error(401, presented ? "invalid admin token for this management endpoint"
                                         : "this management endpoint needs the router's admin "
                                           "token: send 'Authorization: Bearer <token>'");
  r.extra_headers = presented ? "www-authenticate: Bearer realm=\"agentsched-router\", "
                                "error=\"invalid_token\"\r\n"
                              : "www-authenticate: Bearer realm=\"agentsched-router\"\r\n";
  return r;
}

}  // namespace

bool is_admin_path(std::string_view path) {
  return path == "/health" || path == "/programs" || path == "/backends" || path == "/metrics" ||
         path == "/status" || path == "/dashboard" || path == "/programs/release" ||
         path.starts_with("/programs/");
}

std::string programs_json(Gateway& gw, const ProfileStore& profiles, Seconds now) {
  json::object out;
  out["policy"] = gw.policy().name();
  out["now_s"] = now;
  out["count"] = gw.programs().size();
  out["held_calls"] = gw.held_calls();
  json::array list;
  for (const auto& [id, p] : gw.programs()) list.push_back(program_object(p, profiles, false));
  out["programs"] = std::move(list);
  return analysis::compact_json(out);
}

std::string program_json(const ProgramState& p, const ProfileStore& profiles) {
  return analysis::compact_json(program_object(p, profiles, true));
}

std::string backends_json(const Gateway& gw, const std::vector<BackendStatus>& backends,
                          std::string_view backend_type) {
  json::array list;
  for (BackendIndex i = 0; i < backends.size(); ++i) {
    const BackendStatus& b = backends[i];
    const BackendView& v = gw.backends()[i];
    json::object o;
    o["index"] = i;
    o["url"] = b.url;
    o["up"] = b.up;
    o["last_error"] = b.last_error;
    o["changed_at_s"] = b.changed_at;
    o["polled_at_s"] = v.polled_at;
    o["kv_usage"] = v.metrics.kv_usage;
    o["num_running"] = v.metrics.num_running;
    o["num_waiting"] = v.metrics.num_waiting;
    o["kv_capacity_tokens"] = v.metrics.kv_capacity_tokens();
    o["programs"] = v.programs;
    o["in_flight"] = v.in_flight;
    o["requests"] = b.requests;
    o["failures"] = b.failures;
    o["polls"] = b.polls;
    o["poll_failures"] = b.poll_failures;
    o["idle_connections"] = b.idle_connections;
    list.push_back(std::move(o));
  }
  json::object out;
  out["backend_type"] = backend_type;
  out["backends"] = std::move(list);
  return analysis::compact_json(out);
}

std::string release_target(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  std::string id;
  if (!ec && v.is_object()) {
    const json::object& o = v.as_object();
    for (const char* key : {"job_id", "program_id"})
      if (const json::value* f = o.if_contains(key)) {
        if (const auto* s = f->if_string()) id = std::string(*s);
        if (const auto* i = f->if_int64()) id = std::to_string(*i);
        if (!id.empty()) break;
      }
  }
  return id;
}

LocalResponse handle_admin(AdminHost& host, std::string_view method, std::string_view path,
                           std::string_view body, std::optional<std::string_view> authorization,
                           std::string_view admin_token) {
  const bool post = path == "/programs/release";
  if (method != (post ? "POST" : "GET"))
    return error(405, fmt::format("use {}", post ? "POST" : "GET"));
  // State-changing endpoints need the admin token when one is set; reading stays open.
  if (post && !admin_token.empty() && !bearer_matches(authorization, admin_token)) {
    ++host.errors().unauthorized;
    return unauthorized(authorization.has_value());
  }
  Gateway& gw = host.gateway();
  if (path == "/health") {
    std::size_t up = 0;
    const auto backends = host.backend_statuses();
    for (const auto& b : backends) up += b.up ? 1 : 0;
    return json_response(up ? 200 : 503,
                         fmt::format(R"({{"status":"{}","backends_up":{},"backends":{}}})",
                                     up ? "ok" : "no backend available", up, backends.size()));
  }
  if (path == "/programs")
    return json_response(200, programs_json(gw, host.profiles(), host.now()));
  if (path == "/backends")
    return json_response(200, backends_json(gw, host.backend_statuses(), host.backend_type()));
  if (path == "/metrics")
    return make_response(200, host.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
  if (path == "/status") return json_response(200, host.status_text());
  // Static: nothing of the request or of the options is written into the page.
  if (path == "/dashboard")
    return make_response(200, std::string(dashboard_page()), "text/html; charset=utf-8",
                         dashboard_headers());
  if (post) {
    const std::string id = release_target(body);
    if (id.empty()) {
      ++host.errors().bad_request;
      return error(400, R"(expected a JSON body {"job_id": "..."} or {"program_id": "..."})");
    }
    const bool released = host.release_program(id);
    return json_response(
        200, fmt::format(R"({{"released":{},"job_id":{}}})", released ? "true" : "false",
                         json::serialize(json::string(id))));
  }
  const std::string id = url_decode(path.substr(std::string_view("/programs/").size()));
  const ProgramState* p = gw.find(id);
  if (!p) return error(404, fmt::format("no program '{}' in the router", id));
  return json_response(200, program_json(*p, host.profiles()));
}

}  // namespace agentsched::serve
