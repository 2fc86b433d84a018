#include "router/metrics.h"

#include <boost/json.hpp>

#include "analysis/report_json.h"

namespace agentsched::serve {

namespace json = boost::json;

namespace {

const std::vector<double> kLatencyBuckets = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                                             0.0005,  0.001,    0.0025,  0.005,  0.01,
                                             0.025,   0.05,     0.1,     0.25,   1.0};
const std::vector<double> kDurationBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                              2.5,   5,     10,   30,   60,  120,  300, 600};
const std::vector<double> kHoldBuckets = {0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

bool llm_route(std::string_view route) {
  return route == "chat_completions" || route == "completions";
}

}  // namespace

RouterStats::RouterStats()
    : proxy_overhead(kLatencyBuckets),
      request_duration(kDurationBuckets),
      hold_time(kHoldBuckets) {}

std::vector<std::pair<std::string_view, std::uint64_t>> RouterStats::error_counts() const {
  const auto& e = errors;
  return {{"bad_request", e.bad_request},
          {"too_large", e.too_large},
          {"timeout", e.timeout},
          {"client_disconnect", e.client_disconnect},
          {"upstream_connect", e.upstream_connect},
          {"upstream_io", e.upstream_io},
          {"retried", e.retried},
          {"no_backend", e.no_backend},
          {"connection_limit", e.connection_limit},
          {"unauthorized", e.unauthorized}};
}

std::string_view program_state(const ProgramState& p) {
  if (p.in_flight) return "in_flight";
  if (!p.held.empty()) return "held";
  if (p.paused) return "paused";
  return "idle";
}

std::string render_metrics(const RouterStats& stats, const Gateway& gw,
                           const std::vector<BackendStatus>& backends, std::size_t connections) {
  const double created = stats.created_unix;
  http::PrometheusWriter w;
  std::vector<std::pair<http::Labels, double>> values;
  for (const auto& [route, n] : stats.requests_by_route)
    values.push_back({{{"route", route}}, static_cast<double>(n)});
  w.counter("agentsched_router_requests", "Requests received, by route.", values, created);
  values.clear();
  for (const auto& [key, n] : stats.responses)
    values.push_back(
        {{{"code", std::to_string(key.second)}, {"route", key.first}}, static_cast<double>(n)});
  w.counter("agentsched_router_responses",
            "Responses, by route and HTTP status (499: the client went away first).", values,
            created);
  values.clear();
  for (const auto& [kind, n] : stats.error_counts())
    values.push_back({{{"kind", std::string(kind)}}, static_cast<double>(n)});
  w.counter("agentsched_router_errors", "Errors and retries, by kind.", values, created);
  w.gauge("agentsched_router_held_requests", "Calls held in the router by the policy now.", {},
          static_cast<double>(gw.held_calls()));
  w.histogram("agentsched_router_hold_seconds",
              "Time held calls waited in the router before being forwarded (router clock).", {},
              stats.hold_time, created);
  std::map<std::string_view, double> states = {
      {"in_flight", 0}, {"held", 0}, {"paused", 0}, {"idle", 0}};
  for (const auto& [id, p] : gw.programs()) states[program_state(p)] += 1;
  w.family("agentsched_router_programs", "Programs tracked, by state.", "gauge");
  for (const auto& [state, n] : states)
    w.sample("agentsched_router_programs", {{"state", std::string(state)}}, n);
  w.counter("agentsched_router_programs_released_by_ttl",
            "Programs released after idling past --program-ttl.",
            {{{}, static_cast<double>(stats.released_by_ttl)}}, created);
  w.gauge("agentsched_router_connections", "Client connections open.", {},
          static_cast<double>(connections));
  const auto per_backend = [&](std::string_view name, std::string_view help, auto value) {
    w.family(name, help, "gauge");
    for (BackendIndex i = 0; i < backends.size(); ++i)
      w.sample(name, {{"backend", backends[i].url}}, value(i));
  };
  per_backend("agentsched_router_backend_up", "1 if the backend is considered up.",
              [&](BackendIndex i) { return backends[i].up ? 1.0 : 0.0; });
  per_backend("agentsched_router_backend_kv_usage", "KV-cache usage from the last poll.",
              [&](BackendIndex i) { return gw.backends()[i].metrics.kv_usage; });
  per_backend("agentsched_router_backend_running", "Requests running, from the last poll.",
              [&](BackendIndex i) { return double(gw.backends()[i].metrics.num_running); });
  per_backend("agentsched_router_backend_waiting", "Requests waiting, from the last poll.",
              [&](BackendIndex i) { return double(gw.backends()[i].metrics.num_waiting); });
  per_backend("agentsched_router_backend_programs", "Programs placed on the backend.",
              [&](BackendIndex i) { return double(gw.backends()[i].programs); });
  per_backend("agentsched_router_backend_in_flight", "Calls in flight to the backend.",
              [&](BackendIndex i) { return double(gw.backends()[i].in_flight); });
  std::vector<std::pair<http::Labels, double>> reqs, fails;
  for (const auto& b : backends) {
    reqs.push_back({{{"backend", b.url}}, double(b.requests)});
    fails.push_back({{{"backend", b.url}}, double(b.failures)});
  }
  w.counter("agentsched_router_backend_requests", "Requests sent to each backend.", reqs, created);
  w.counter("agentsched_router_backend_failures", "Failed requests, by backend.", fails, created);
  w.histogram("agentsched_router_proxy_overhead_seconds",
              "Time a call spent in the router outside holds and the backend exchange "
              "(real seconds).",
              {}, stats.proxy_overhead, created);
  w.histogram("agentsched_router_request_duration_seconds",
              "Arrival to last byte sent, holds included (real seconds).", {},
              stats.request_duration, created);
  return w.take();
}

std::string status_json(const RouterStats& stats, const Gateway& gw, const StatusSettings& s) {
  json::object policy;
  policy["name"] = s.policy;
  json::array params;
  for (const auto& info : gateway_policy_infos()) {
    if (info.name != s.policy) continue;
    policy["summary"] = info.summary;
    for (const auto& [name, default_value, meaning] : info.params) {
      const PolicyParams empty;
      const PolicyParams& given_params = s.policy_params ? *s.policy_params : empty;
      const auto given = given_params.find(name);
      json::object p;
      p["name"] = name;
      p["value"] = given == given_params.end() ? default_value : given->second;
      p["default"] = default_value;
      p["meaning"] = meaning;
      params.push_back(std::move(p));
    }
  }
  if (!policy.contains("summary")) policy["summary"] = "";
  policy["params"] = std::move(params);

  std::uint64_t requests = 0, error_responses = 0;
  json::object by_route, by_status;
  for (const auto& [route, n] : stats.requests_by_route) {
    by_route[route] = n;
    if (llm_route(route)) requests += n;
  }
  std::map<int, std::uint64_t> status_totals;  // over all routes
  for (const auto& [key, n] : stats.responses) {
    status_totals[key.second] += n;
    if (llm_route(key.first) && key.second >= 400) error_responses += n;
  }
  for (const auto& [code, n] : status_totals) by_status[std::to_string(code)] = n;
  json::object errors_out;
  for (const auto& [kind, n] : stats.error_counts()) errors_out[kind] = n;

  json::object out;
  out["policy"] = std::move(policy);
  out["backend_type"] = s.backend_type;
  out["now_s"] = s.now_s;
  // Real seconds since the router started: what the dashboard divides counter deltas by, so
  // that its rates hold whatever the time scale and however often a browser polls.
  out["uptime_real_s"] = s.uptime_real_s;
  out["time_scale"] = s.time_scale;
  out["metrics_interval_s"] = s.metrics_interval_s;
  out["program_ttl_s"] = s.program_ttl_s;
  out["requests"] = requests;
  out["error_responses"] = error_responses;
  out["requests_by_route"] = std::move(by_route);
  out["responses_by_status"] = std::move(by_status);
  out["errors"] = std::move(errors_out);
  out["held_calls"] = gw.held_calls();
  out["programs"] = gw.programs().size();
  out["connections"] = s.connections;
  return analysis::compact_json(out);
}

}  // namespace agentsched::serve
