// The admin API (router/admin_api.h) without a socket: a Gateway on the virtual clock and a
// host that records what the API asks of the router.
#include "router/admin_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway/gateway_harness.h"
#include "gateway/passthrough.h"
#include "router/responses.h"

namespace agentsched::serve {
namespace {

namespace json = boost::json;

class FakeHost final : public AdminHost {
 public:
  FakeHost() : h(std::make_unique<PassthroughPolicy>(), 2) {
    statuses.resize(2);
    statuses[0].url = "http://127.0.0.1:9001";
    statuses[1].url = "http://127.0.0.1:9002";
  }
  Gateway& gateway() override { return h.gw; }
  const ProfileStore& profiles() const override { return store; }
  std::vector<BackendStatus> backend_statuses() const override { return statuses; }
  std::string_view backend_type() const override { return "vllm"; }
  std::string metrics_text() override { return "# metrics\n"; }
  std::string status_text() override { return "{\"status\":1}"; }
  ErrorCounters& errors() override { return counters; }
  bool release_program(const std::string& id) override {
    released.push_back(id);
    if (!h.gw.find(id)) return false;
    h.gw.release(id);
    return true;
  }
  Seconds now() const override { return h.clock.now(); }

  test::GatewayHarness h;
  ProfileStore store;
  std::vector<BackendStatus> statuses;
  ErrorCounters counters;
  std::vector<std::string> released;
};

LocalResponse get(FakeHost& host, std::string_view path) {
  return handle_admin(host, "GET", path, "", std::nullopt, "");
}

TEST(AdminApi, KnowsItsPaths) {
  for (std::string_view p : {"/health", "/programs", "/backends", "/metrics", "/status",
                             "/dashboard", "/programs/release", "/programs/a%3A1"})
    EXPECT_TRUE(is_admin_path(p)) << p;
  for (std::string_view p : {"/v1/models", "/v1/chat/completions", "/program", "/healthz", "/"})
    EXPECT_FALSE(is_admin_path(p)) << p;
}

TEST(AdminApi, HealthIsOkWhileABackendIsUp) {
  FakeHost host;
  LocalResponse r = get(host, "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok","backends_up":2,"backends":2})");
  host.statuses[0].up = false;
  EXPECT_EQ(get(host, "/health").body, R"({"status":"ok","backends_up":1,"backends":2})");
  host.statuses[1].up = false;
  r = get(host, "/health");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"status":"no backend available","backends_up":0,"backends":2})");
}

TEST(AdminApi, WrongMethodIs405) {
  FakeHost host;
  LocalResponse r = handle_admin(host, "POST", "/programs", "", std::nullopt, "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, error_body(405, "use GET"));
  r = handle_admin(host, "GET", "/programs/release", "", std::nullopt, "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, error_body(405, "use POST"));
}

TEST(AdminApi, ProgramsListsTheGatewaysTable) {
  FakeHost host;
  host.h.at(2.5);
  const RequestId a = host.h.call("a", 400);
  host.h.call("b", 400);
  host.h.done(a, 90, 10);
  const json::value v = json::parse(get(host, "/programs").body);
  EXPECT_EQ(v.at("policy").as_string(), "passthrough");
  EXPECT_EQ(v.at("now_s").as_double(), 2.5);
  EXPECT_EQ(v.at("count").as_int64(), 2);
  const auto& list = v.at("programs").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("id").as_string(), "a");
  EXPECT_EQ(list[0].at("backend").as_int64(), 0);
  EXPECT_EQ(list[0].at("state").as_string(), "idle");
  EXPECT_EQ(list[0].at("context_tokens").as_int64(), 100);
  EXPECT_EQ(list[1].at("state").as_string(), "in_flight");
  EXPECT_EQ(list[1].at("backend").as_int64(), 1);
}

TEST(AdminApi, OneProgramOr404) {
  FakeHost host;
  host.h.call("job:1");
  LocalResponse r = get(host, "/programs/job%3A1");  // percent-decoded
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).at("id").as_string(), "job:1");
  r = get(host, "/programs/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, error_body(404, "no program 'nope' in the router"));
}

TEST(AdminApi, BackendsJoinHealthAndTheGatewaysView) {
  FakeHost host;
  host.statuses[1].up = false;
  host.statuses[1].last_error = "connect: refused";
  host.statuses[1].idle_connections = 3;
  host.h.metrics(0, 0.25, 2, 1);
  const json::value v = json::parse(get(host, "/backends").body);
  EXPECT_EQ(v.at("backend_type").as_string(), "vllm");
  const auto& list = v.at("backends").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("kv_usage").as_double(), 0.25);
  EXPECT_EQ(list[0].at("num_running").as_int64(), 2);
  EXPECT_EQ(list[0].at("up").as_bool(), true);
  EXPECT_EQ(list[1].at("up").as_bool(), false);
  EXPECT_EQ(list[1].at("last_error").as_string(), "connect: refused");
  EXPECT_EQ(list[1].at("idle_connections").as_int64(), 3);
  EXPECT_EQ(list[1].at("polled_at_s").as_double(), -1);
}

TEST(AdminApi, MetricsStatusAndDashboardComeFromTheHost) {
  FakeHost host;
  LocalResponse r = get(host, "/metrics");
  EXPECT_EQ(r.body, "# metrics\n");
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(get(host, "/status").body, "{\"status\":1}");
  r = get(host, "/dashboard");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<html"), std::string::npos);
  EXPECT_FALSE(r.extra_headers.empty());
}

TEST(AdminApi, ReleaseNeedsTheTokenWhenOneIsSet) {
  FakeHost host;
  host.h.call("p");
  const std::string body = R"({"job_id":"p"})";
  LocalResponse r = handle_admin(host, "POST", "/programs/release", body, std::nullopt, "tok");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("needs the router's admin token"), std::string::npos);
  EXPECT_EQ(r.extra_headers, "www-authenticate: Bearer realm=\"agentsched-router\"\r\n");
  r = handle_admin(host, "POST", "/programs/release", body, "Bearer wrong", "tok");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("invalid admin token"), std::string::npos);
  EXPECT_NE(r.extra_headers.find("invalid_token"), std::string::npos);
  EXPECT_EQ(host.counters.unauthorized, 2u);
  EXPECT_TRUE(host.released.empty());
  // Reading stays open.
  EXPECT_EQ(handle_admin(host, "GET", "/programs", "", std::nullopt, "tok").status, 200);
  r = handle_admin(host, "POST", "/programs/release", body, "Bearer tok", "tok");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"released":true,"job_id":"p"})");
  EXPECT_EQ(host.released, std::vector<std::string>{"p"});
}

TEST(AdminApi, ReleaseReadsJobIdOrProgramId) {
  EXPECT_EQ(release_target(R"({"job_id":"a"})"), "a");
  EXPECT_EQ(release_target(R"({"program_id":7})"), "7");
  EXPECT_EQ(release_target(R"({"job_id":"","program_id":"b"})"), "b");
  EXPECT_EQ(release_target(R"({"other":1})"), "");
  EXPECT_EQ(release_target("not json"), "");
  FakeHost host;
  LocalResponse r = handle_admin(host, "POST", "/programs/release", "[]", std::nullopt, "");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(host.counters.bad_request, 1u);
  r = handle_admin(host, "POST", "/programs/release", R"({"job_id":"gone"})", std::nullopt, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"released":false,"job_id":"gone"})");
}

}  // namespace
}  // namespace agentsched::serve
