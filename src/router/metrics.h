#pragma once
// The router's own counters and their two renderings: GET /metrics (Prometheus text) and
// GET /status (JSON for the dashboard). Rendering reads the gateway's program table and
// backend views and the backends' health; it changes nothing.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/gateway.h"
#include "gateway/policies.h"
#include "http/prometheus.h"
#include "router/backend_health.h"

namespace agentsched::serve {

struct ErrorCounters {
  std::uint64_t bad_request = 0, too_large = 0, timeout = 0, client_disconnect = 0,
                upstream_connect = 0, upstream_io = 0, retried = 0, no_backend = 0,
                connection_limit = 0, unauthorized = 0;
};

struct RouterStats {
  RouterStats();
  std::map<std::string, std::uint64_t> requests_by_route;
  std::map<std::pair<std::string, int>, std::uint64_t> responses;  // (route, status)
  ErrorCounters errors;
  http::PrometheusHistogram proxy_overhead;    // real seconds
  http::PrometheusHistogram request_duration;  // real seconds
  http::PrometheusHistogram hold_time;         // router clock
  std::uint64_t released_by_ttl = 0;
  double created_unix = 0;

  void count_request(const char* route) { ++requests_by_route[route]; }
  void count_response(const char* route, int status) { ++responses[{route, status}]; }
  // The error counters by kind, as /metrics and /status name them.
  std::vector<std::pair<std::string_view, std::uint64_t>> error_counts() const;
};

// in_flight, held, paused or idle.
std::string_view program_state(const ProgramState& p);

// GET /metrics.
std::string render_metrics(const RouterStats& stats, const Gateway& gw,
                           const std::vector<BackendStatus>& backends, std::size_t connections);

// The settings /status reports beside the counters.
struct StatusSettings {
  std::string_view policy;
  const PolicyParams* policy_params = nullptr;
  std::string_view backend_type;
  double now_s = 0;
  double uptime_real_s = 0;
  double time_scale = 1;
  double metrics_interval_s = 0;
  double program_ttl_s = 0;
  std::size_t connections = 0;
};

// GET /status: the policy with its effective parameters, the router's settings and its
// request and error counters, for the dashboard. `requests` and `error_responses` count the
// LLM routes only: the router's own endpoints (the dashboard polling them included) and
// other proxied paths (a browser's /favicon.ico) would otherwise blur the LLM traffic.
std::string status_json(const RouterStats& stats, const Gateway& gw, const StatusSettings& s);

}  // namespace agentsched::serve
