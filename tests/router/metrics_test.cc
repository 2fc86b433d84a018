// /metrics and /status rendering (router/metrics.h) from counters set by hand.
#include "router/metrics.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway/gateway_harness.h"
#include "gateway/passthrough.h"

namespace agentsched::serve {
namespace {

namespace json = boost::json;

double value(const http::PrometheusText& t, std::string_view name, std::string_view label = {},
             std::string_view label_value = {}) {
  for (const auto* s : http::find_samples(t, name))
    if (label.empty() || s->label(label) == label_value) return s->value;
  ADD_FAILURE() << "no sample " << name << " " << label << "=" << label_value;
  return -1;
}

struct Fixture {
  Fixture() : h(std::make_unique<PassthroughPolicy>(), 2) {
    backends.resize(2);
    backends[0].url = "http://a:1";
    backends[1].url = "http://b:2";
    backends[1].up = false;
    backends[0].requests = 5;
    backends[1].failures = 2;
    stats.created_unix = 1000;
    stats.count_request("chat_completions");
    stats.count_request("chat_completions");
    stats.count_request("router");
    stats.count_response("chat_completions", 200);
    stats.count_response("chat_completions", 502);
    stats.count_response("router", 404);
    stats.errors.retried = 1;
    stats.errors.unauthorized = 4;
    stats.hold_time.observe(0.3);
  }
  test::GatewayHarness h;
  RouterStats stats;
  std::vector<BackendStatus> backends;
};

TEST(RouterMetrics, CountersGaugesAndPerBackendFamilies) {
  Fixture f;
  f.h.call("a");                // in flight on 0
  f.h.done(f.h.call("b"), 10);  // idle on 1
  const auto t = http::parse_prometheus_text(render_metrics(f.stats, f.h.gw, f.backends, 7));
  EXPECT_TRUE(t.bad_lines.empty());
  EXPECT_EQ(value(t, "agentsched_router_requests_total", "route", "chat_completions"), 2);
  EXPECT_EQ(value(t, "agentsched_router_requests_total", "route", "router"), 1);
  EXPECT_EQ(value(t, "agentsched_router_requests_created", "route", "router"), 1000);
  EXPECT_EQ(value(t, "agentsched_router_responses_total", "code", "502"), 1);
  EXPECT_EQ(value(t, "agentsched_router_errors_total", "kind", "retried"), 1);
  EXPECT_EQ(value(t, "agentsched_router_errors_total", "kind", "unauthorized"), 4);
  EXPECT_EQ(value(t, "agentsched_router_errors_total", "kind", "timeout"), 0);
  EXPECT_EQ(value(t, "agentsched_router_connections"), 7);
  EXPECT_EQ(value(t, "agentsched_router_programs", "state", "in_flight"), 1);
  EXPECT_EQ(value(t, "agentsched_router_programs", "state", "idle"), 1);
  EXPECT_EQ(value(t, "agentsched_router_programs", "state", "held"), 0);
  EXPECT_EQ(value(t, "agentsched_router_backend_up", "backend", "http://a:1"), 1);
  EXPECT_EQ(value(t, "agentsched_router_backend_up", "backend", "http://b:2"), 0);
  EXPECT_EQ(value(t, "agentsched_router_backend_in_flight", "backend", "http://a:1"), 1);
  EXPECT_EQ(value(t, "agentsched_router_backend_programs", "backend", "http://b:2"), 1);
  EXPECT_EQ(value(t, "agentsched_router_backend_requests_total", "backend", "http://a:1"), 5);
  EXPECT_EQ(value(t, "agentsched_router_backend_failures_total", "backend", "http://b:2"), 2);
  EXPECT_EQ(value(t, "agentsched_router_hold_seconds_count"), 1);
  EXPECT_EQ(value(t, "agentsched_router_hold_seconds_bucket", "le", "0.5"), 1);
  EXPECT_EQ(value(t, "agentsched_router_hold_seconds_bucket", "le", "0.1"), 0);
  EXPECT_EQ(t.types.at("agentsched_router_requests_total"), "counter");
}

TEST(RouterMetrics, StatusCountsLlmRoutesOnlyAndNamesThePolicy) {
  Fixture f;
  PolicyParams params;
  StatusSettings s;
  s.policy = "passthrough";
  s.policy_params = &params;
  s.backend_type = "sglang";
  s.now_s = 12;
  s.time_scale = 20;
  s.connections = 3;
  const json::value v = json::parse(status_json(f.stats, f.h.gw, s));
  EXPECT_EQ(v.at("policy").at("name").as_string(), "passthrough");
  EXPECT_FALSE(v.at("policy").at("summary").as_string().empty());
  EXPECT_TRUE(v.at("policy").at("params").as_array().empty());
  EXPECT_EQ(v.at("backend_type").as_string(), "sglang");
  EXPECT_EQ(v.at("requests").as_int64(), 2);         // chat_completions only
  EXPECT_EQ(v.at("error_responses").as_int64(), 1);  // the 502; the router's 404 is not LLM
  EXPECT_EQ(v.at("responses_by_status").at("404").as_int64(), 1);
  EXPECT_EQ(v.at("requests_by_route").at("router").as_int64(), 1);
  EXPECT_EQ(v.at("errors").at("unauthorized").as_int64(), 4);
  EXPECT_EQ(v.at("connections").as_int64(), 3);
  EXPECT_EQ(v.at("time_scale").as_double(), 20);
}

TEST(RouterMetrics, StatusShowsEffectiveParameters) {
  Fixture f;
  PolicyParams params{{"cap", 3}};
  StatusSettings s;
  s.policy = "cap";
  s.policy_params = &params;
  const json::value v = json::parse(status_json(f.stats, f.h.gw, s));
  bool found = false;
  for (const auto& p : v.at("policy").at("params").as_array())
    if (p.at("name").as_string() == "cap") {
      found = true;
      EXPECT_EQ(p.at("value").to_number<double>(), 3);
    }
  EXPECT_TRUE(found);
}

TEST(RouterMetrics, ProgramStates) {
  ProgramState p;
  EXPECT_EQ(program_state(p), "idle");
  p.paused = true;
  EXPECT_EQ(program_state(p), "paused");
  p.held.push_back({});
  EXPECT_EQ(program_state(p), "held");
  p.in_flight = true;
  EXPECT_EQ(program_state(p), "in_flight");
}

}  // namespace
}  // namespace agentsched::serve
