// `agentsched router` as a real process, its admin surface: the admin token, the dashboard,
// /status and /programs, the time-scale warning, and what happens to client credentials.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "http/server.h"
#include "serve/router_test_util.h"
#include "serve/test_files.h"

namespace agentsched::serve {
namespace {

using namespace agentsched::testing;
namespace json = boost::json;

// ------------------------------------------------------------------ admin token

const char* const kRelease = "/programs/release";

http::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

TEST(RouterProcess, AdminTokenGuardsReleaseAndLeavesReadingOpen) {
  auto engine = start_engine();
  const std::string token = "adm-0123456789abcdef";
  auto router = start_router({engine->url()}, {"--admin-token", token});
  const int port = router->port();
  ASSERT_GT(port, 0);
  ASSERT_EQ(call(port, "POST", "/v1/chat/completions", chat_body(R"("job_id":"tok:1")"))->status,
            200);
  const std::string release = R"({"job_id":"tok:1"})";

  // No token: 401 in OpenAI's shape, with the Bearer challenge.
  auto r = call(port, "POST", kRelease, release);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  const json::value body = json::parse(r->body);
  EXPECT_EQ(body.at("error").at("type").as_string(), "authentication_error") << r->body;
  EXPECT_EQ(body.at("error").at("code").to_number<int>(), 401) << r->body;
  EXPECT_FALSE(body.at("error").at("message").as_string().empty());
  EXPECT_EQ(r->header("www-authenticate").substr(0, 7), "Bearer ") << r->header("www-authenticate");
  EXPECT_EQ(r->header("www-authenticate").find("invalid_token"), std::string::npos);

  // A wrong token, a prefix of the right one, the right one with another scheme.
  for (const auto& headers : {bearer("wrong"), bearer(token.substr(0, 10)), bearer(token + "x"),
                              http::Headers{{"Authorization", "Basic " + token}},
                              http::Headers{{"Authorization", token}}}) {
    r = call(port, "POST", kRelease, release, headers);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << headers[0].second;
    EXPECT_NE(r->body.find(R"("type":"authentication_error")"), std::string::npos) << r->body;
    EXPECT_NE(r->header("www-authenticate").find(R"(error="invalid_token")"), std::string::npos);
  }
  EXPECT_EQ(program_count(port), 1);  // nothing was released

  // Reading needs no token.
  for (const char* target : {"/programs", "/programs/tok:1", "/health", "/backends", "/metrics"})
    EXPECT_EQ(call(port, "GET", target)->status, 200) << target;
  // A wrong method is still a 405, token or not.
  EXPECT_EQ(call(port, "GET", kRelease)->status, 405);

  // The right token (the scheme is case-insensitive) releases.
  r = call(port, "POST", kRelease, release, bearer(token));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, R"({"released":true,"job_id":"tok:1"})");
  EXPECT_EQ(program_count(port), 0);
  r = call(port, "POST", kRelease, release, {{"Authorization", "bearer   " + token + " "}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, R"({"released":false,"job_id":"tok:1"})");

  // Chat traffic needs no admin token.
  EXPECT_EQ(call(port, "POST", "/v1/chat/completions", chat_body(R"("job_id":"tok:2")"))->status,
            200);
  EXPECT_EQ(
      metric_value(router_metrics(port), R"(agentsched_router_errors_total{kind="unauthorized"})"),
      6);
  EXPECT_EQ(router->stop(), 0);
}

// ------------------------------------------------------------------ dashboard

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// GET /dashboard is a static page: open like the other reads, served with no caching and a CSP
// that forbids loads from elsewhere, and carrying neither the admin token nor the Authorization
// header of the request, nor any way to post to the guarded release endpoint.
TEST(RouterProcess, DashboardIsStaticOpenAndCarriesNoSecretOrAction) {
  auto engine = start_engine();
  const std::string token = "adm-dashboard-0123456789";
  auto router = start_router({engine->url()}, {"--admin-token", token});
  const int port = router->port();
  ASSERT_GT(port, 0);
  ASSERT_EQ(call(port, "POST", "/v1/chat/completions", chat_body(R"("job_id":"dash:1")"))->status,
            200);

  const std::string client_secret = "client-secret-abcdef987";
  for (const http::Headers& headers :
       {http::Headers{}, bearer(token),
        http::Headers{{"Authorization", "Bearer " + client_secret}}}) {
    auto r = call(port, "GET", "/dashboard", {}, headers);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(r->header("cache-control"), "no-store");
    const std::string csp(r->header("content-security-policy"));
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("form-action 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("http"), std::string::npos) << csp;  // no other origin allowed
    const std::string& page = r->body;
    EXPECT_NE(page.find("</html>"), std::string::npos);
    // Nothing secret: not the token, not the client's header.
    EXPECT_EQ(page.find(token), std::string::npos);
    EXPECT_EQ(page.find(client_secret), std::string::npos);
    EXPECT_EQ(page.find("Bearer"), std::string::npos);
    EXPECT_EQ(page.find("Authorization"), std::string::npos);
    EXPECT_EQ(page.find("authorization"), std::string::npos);
    // No action: no form, no button, no POST, no mention of the release endpoint.
    EXPECT_EQ(page.find("<form"), std::string::npos);
    EXPECT_EQ(page.find("<button"), std::string::npos);
    EXPECT_EQ(page.find("POST"), std::string::npos);
    EXPECT_EQ(page.find("release"), std::string::npos);
    // No external asset: every fetch is one of the router's own read-only endpoints.
    EXPECT_EQ(page.find("http://"), std::string::npos);
    EXPECT_EQ(page.find("https://"), std::string::npos);
    EXPECT_EQ(page.find("src="), std::string::npos);
    EXPECT_EQ(occurrences(page, "href="), 1u);  // the empty icon, so no /favicon.ico request
    EXPECT_NE(page.find(R"(<link rel="icon" href="data:,">)"), std::string::npos);
    EXPECT_EQ(occurrences(page, "getJson(\"/"), 3u);
    for (const char* endpoint :
         {"getJson(\"/status\")", "getJson(\"/backends\")", "getJson(\"/programs\")"})
      EXPECT_NE(page.find(endpoint), std::string::npos) << endpoint;
  }
  // Only GET.
  EXPECT_EQ(call(port, "POST", "/dashboard", "{}")->status, 405);
  EXPECT_EQ(program_count(port), 1);
}

// GET /status: the policy with its effective parameters (overrides and defaults), the
// router's settings and its counters; the router's own endpoints are left out of `requests`.
TEST(RouterProcess, StatusReportsPolicyParametersAndCounters) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--policy", "cap", "--param", "cap=3"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(call(port, "POST", "/v1/chat/completions",
                   chat_body(fmt::format(R"("job_id":"status:{}")", i)))
                  ->status,
              200);
  ASSERT_EQ(call(port, "POST", "/v1/chat/completions", "{not json")->status, 400);
  ASSERT_EQ(call(port, "GET", "/programs")->status, 200);

  const json::value status = get_json(port, "/status");
  ASSERT_TRUE(status.is_object());
  const auto& policy = status.at("policy").as_object();
  EXPECT_EQ(policy.at("name").as_string(), "cap");
  EXPECT_FALSE(policy.at("summary").as_string().empty());
  const auto& params = policy.at("params").as_array();
  ASSERT_EQ(params.size(), 1u) << json::serialize(status);
  EXPECT_EQ(params[0].at("name").as_string(), "cap");
  EXPECT_EQ(params[0].at("value").to_number<double>(), 3);
  EXPECT_FALSE(params[0].at("meaning").as_string().empty());
  EXPECT_EQ(status.at("requests").to_number<int>(), 3);  // the /programs read is not counted
  EXPECT_EQ(status.at("error_responses").to_number<int>(), 1);
  EXPECT_EQ(status.at("responses_by_status").at("200").to_number<int>(),
            3);  // two chats, /programs
  EXPECT_EQ(status.at("errors").at("bad_request").to_number<int>(), 1);
  EXPECT_EQ(status.at("programs").to_number<int>(), 2);
  EXPECT_EQ(status.at("backend_type").as_string(), "vllm");
  EXPECT_GE(status.at("now_s").to_number<double>(), 0);
  EXPECT_GT(status.at("uptime_real_s").to_number<double>(), 0);

  // A policy without parameters has an empty list.
  auto plain = start_router({engine->url()});
  const json::value plain_status = get_json(plain->port(), "/status");
  ASSERT_TRUE(plain_status.is_object());
  EXPECT_EQ(plain_status.at("policy").at("name").as_string(), "passthrough");
  EXPECT_TRUE(plain_status.at("policy").at("params").as_array().empty());
}

// The engine says its time scale in /version, and a router on another scale warns at start
// (before it announces its port, so the warning is in the file once the port is known).
TEST(RouterProcess, WarnsWhenTheEngineRunsOnAnotherTimeScale) {
  const auto dir = scratch_dir("router", "time-scale");
  auto engine = start_engine();  // time scale 200
  ASSERT_GT(engine->port(), 0);
  EXPECT_EQ(get_json(engine->port(), "/version").at("time_scale").to_number<double>(), 200.0);

  const std::string err = (dir / "stderr").string();
  auto router = start_router_logged({engine->url()}, {"--time-scale", "20"}, err);
  ASSERT_GT(router->port(), 0);
  EXPECT_EQ(router->stop(), 0);
  const std::string warned = read_file(err);
  EXPECT_NE(warned.find("agentsched: warning: the router runs at --time-scale 20 but the engine "
                        "at " +
                        engine->url() + " runs at 200"),
            std::string::npos)
      << warned;

  router = start_router_logged({engine->url()}, {"--time-scale", "200"}, err);
  ASSERT_GT(router->port(), 0);
  EXPECT_EQ(router->stop(), 0);
  EXPECT_EQ(read_file(err).find("warning"), std::string::npos) << read_file(err);
}

// Boost.JSON wrote "now_s":2.7941723483E2 and "total_held_s":0E0.
TEST(RouterProcess, ProgramsJsonWritesPlainDecimals) {
  auto engine = start_engine();
  auto router = start_router({engine->url()});
  ASSERT_GT(router->port(), 0);
  auto reply =
      call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"plain:1")", 3));
  ASSERT_TRUE(reply && reply->status == 200);
  for (const char* target : {"/programs", "/programs/plain:1"}) {
    auto r = call(router->port(), "GET", target);
    ASSERT_TRUE(r && r->status == 200);
    EXPECT_NE(r->body.find("\"total_held_s\":0.0"), std::string::npos) << r->body;
    EXPECT_FALSE(std::regex_search(r->body, std::regex("[0-9][eE][-+]?[0-9]"))) << r->body;
  }
  EXPECT_EQ(router->stop(), 0);
}

TEST(RouterProcess, AdminTokenFromAFileOrTheEnvironment) {
  const auto dir = scratch_dir("router", "token-sources");
  const std::string file = (dir / "token").string();
  std::ofstream(file) << "  file-token-1 \nsecond line is ignored\n";
  auto engine = start_engine();
  const std::string err = (dir / "stderr").string();

  // The file's first line, trimmed; the environment variable is overridden by the option.
  auto router = start_router_logged({engine->url()}, {"--admin-token-file", file}, err,
                                    {"AGENTSCHED_ADMIN_TOKEN=env-token-1"});
  ASSERT_GT(router->port(), 0);
  EXPECT_EQ(
      call(router->port(), "POST", kRelease, R"({"job_id":"x"})", bearer("env-token-1"))->status,
      401);
  EXPECT_EQ(
      call(router->port(), "POST", kRelease, R"({"job_id":"x"})", bearer("file-token-1"))->status,
      200);
  EXPECT_EQ(router->stop(), 0);

  // The environment variable alone.
  router = start_router_logged({engine->url()}, {}, err, {"AGENTSCHED_ADMIN_TOKEN=env-token-1"});
  ASSERT_GT(router->port(), 0);
  EXPECT_EQ(call(router->port(), "POST", kRelease, R"({"job_id":"x"})")->status, 401);
  EXPECT_EQ(
      call(router->port(), "POST", kRelease, R"({"job_id":"x"})", bearer("env-token-1"))->status,
      200);
  EXPECT_EQ(router->stop(), 0);
  const std::string log = read_file(err);
  EXPECT_NE(log.find("admin token required for POST /programs/release"), std::string::npos) << log;
  EXPECT_EQ(log.find("env-token-1"), std::string::npos) << log;
  std::filesystem::remove_all(dir);
}

TEST(RouterProcess, BadAdminTokensFailFastWithoutPrintingThem) {
  const auto dir = scratch_dir("router", "token-errors");
  std::ofstream(dir / "empty") << "\n  \n";
  const std::string router = std::string("timeout 20 ") + AGENTSCHED_BINARY +
                             " router --port 0 --backends http://127.0.0.1:1 ";
  const struct {
    std::string command;
    std::string expected;
  } cases[] = {
      {router + "--admin-token ''", "--admin-token: the admin token is empty"},
      {router + "--admin-token 'secret with-space'", "printable ASCII without spaces"},
      {"AGENTSCHED_ADMIN_TOKEN= " + router,
       "environment variable AGENTSCHED_ADMIN_TOKEN: the "
       "admin token is empty"},
      {router + "--admin-token-file " + (dir / "empty").string(), "the admin token is empty"},
      {router + "--admin-token-file " + (dir / "missing").string(), "cannot read the file"},
      {router + "--admin-token secret-a --admin-token-file " + (dir / "empty").string(),
       "not both"},
      {std::string("timeout 20 ") + AGENTSCHED_BINARY +
           " drive --endpoint http://127.0.0.1:1 -c 1 --out " + (dir / "run").string() +
           " --admin-token ''",
       "--admin-token: the admin token is empty"},
  };
  for (const auto& c : cases) {
    auto [rc, out] = run_shell(c.command);
    EXPECT_EQ(rc, 1) << c.command << "\n" << out;
    EXPECT_NE(out.find(c.expected), std::string::npos) << c.command << "\n" << out;
    EXPECT_EQ(out.find("secret"), std::string::npos) << c.command << "\n" << out;
  }
  std::filesystem::remove_all(dir);
}

// An OpenAI-compatible backend in this process that records the Authorization header of each
// chat call.
class HeaderCapturingBackend {
 public:
  HeaderCapturingBackend() {
    server_ = std::make_unique<http::Server>(
        io_.get_executor(), [this](http::Exchange& ex) { return handle(this, ex); });
    EXPECT_TRUE(server_->listen("127.0.0.1", 0).ok());
    port_ = server_->port();
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~HeaderCapturingBackend() {
    boost::asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> authorizations() {
    std::lock_guard lock(mu_);
    return authorizations_;
  }

 private:
  static boost::asio::awaitable<void> handle(HeaderCapturingBackend* self, http::Exchange& ex) {
    const auto& req = ex.request();
    http::Response r;
    if (req.path() == "/metrics") {
      r.content_type = "text/plain";
      r.body =
          "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.1\n"
          "vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 0\n"
          "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 0\n";
    } else if (req.path() == "/v1/chat/completions") {
      {
        std::lock_guard lock(self->mu_);
        self->authorizations_.emplace_back(req.header("authorization"));
      }
      if (req.body.find(R"("stream":true)") != std::string::npos) {
        co_await ex.begin_stream(200, "text/event-stream");
        co_await ex.write("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n");
        co_await ex.write(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
            "\"total_tokens\":4}}\n\ndata: [DONE]\n\n");
        co_await ex.end_stream();
        co_return;
      }
      r.body = R"({"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],)"
               R"("usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})";
    } else {
      r.body = R"({"object":"list","data":[{"id":"m","object":"model"}]})";
    }
    co_await ex.respond(std::move(r));
  }

  boost::asio::io_context io_{1};
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> authorizations_;
};

TEST(RouterProcess, ClientAuthorizationIsForwardedAndNoSecretIsWrittenAnywhere) {
  const auto dir = scratch_dir("router", "secrets");
  const std::string client_secret = "client-secret-123";
  const std::string admin_token = "adm-secret-456";
  HeaderCapturingBackend backend;
  auto router =
      start_router_logged({backend.url()}, {"--profile-dir", (dir / "profile").string()},
                          (dir / "stderr").string(), {"AGENTSCHED_ADMIN_TOKEN=" + admin_token});
  const int port = router->port();
  ASSERT_GT(port, 0);
  const auto client = bearer(client_secret);
  // Chat calls, plain and streamed, and a proxied path: the client's header goes through.
  auto r = call(port, "POST", "/v1/chat/completions", chat_body(R"("job_id":"sec:1")"), client);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = call(port, "POST", "/v1/chat/completions",
           chat_body(R"("job_id":"sec:1")", 4, R"("stream":true)"), client);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body.find("usage"), std::string::npos) << r->body;         // stripped
  r = call(port, "POST", "/v1/chat/completions", chat_body(""), client);  // anonymous
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(call(port, "GET", "/v1/models", {}, client)->status, 200);
  EXPECT_EQ(backend.authorizations(), std::vector<std::string>(3, "Bearer " + client_secret));
  // The client's secret is not the admin token; the admin token releases.
  EXPECT_EQ(call(port, "POST", kRelease, R"({"job_id":"sec:1"})", client)->status, 401);
  EXPECT_EQ(call(port, "POST", kRelease, R"({"job_id":"sec:1"})", bearer(admin_token))->status,
            200);
  ASSERT_EQ(
      call(port, "POST", "/v1/chat/completions", chat_body(R"("job_id":"sec:2")"), client)->status,
      200);
  // What the router shows about itself.
  std::string shown;
  for (const char* target : {"/metrics", "/programs", "/programs/sec:2", "/backends", "/health"})
    shown += call(port, "GET", target)->body;
  EXPECT_EQ(router->stop(), 0);
  const std::string out = router->all_stdout();
  const std::string err = read_file(dir / "stderr");
  const std::string calls = read_file(dir / "profile" / "calls.csv");
  const std::string programs = read_file(dir / "profile" / "programs.csv");
  EXPECT_NE(out.find("listening on"), std::string::npos) << out;
  EXPECT_NE(err.find("stopped"), std::string::npos) << err;
  EXPECT_NE(calls.find("sec:1"), std::string::npos) << calls;
  EXPECT_NE(programs.find("sec:2"), std::string::npos) << programs;
  for (const std::string& secret : {client_secret, admin_token, std::string("Bearer")}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << " in stdout:\n" << out;
    EXPECT_EQ(err.find(secret), std::string::npos) << secret << " in stderr:\n" << err;
    EXPECT_EQ(calls.find(secret), std::string::npos) << secret << " in calls.csv";
    EXPECT_EQ(programs.find(secret), std::string::npos) << secret << " in programs.csv";
    EXPECT_EQ(shown.find(secret), std::string::npos) << secret << " in the router's endpoints";
  }
  std::filesystem::remove_all(dir);
}

TEST(RouterProcess, DriverSendsTheAdminTokenOnReleases) {
  const auto dir = scratch_dir("router", "drive-token");
  std::ofstream(dir / "token") << "drive-token-789\n";
  auto engine = start_engine({}, 0, 1000);
  auto router = start_router({engine->url()}, {"--admin-token-file", (dir / "token").string()});
  const int port = router->port();
  ASSERT_GT(port, 0);
  const std::string drive = std::string(AGENTSCHED_BINARY) + " drive --endpoint " + router->url() +
                            " -c 2 --max-programs 2 --time-scale 1000 --no-progress --out ";

  // With the token (from the environment, as `agentsched experiment` hands it down): every
  // program is released.
  auto [rc, text] =
      run_shell("AGENTSCHED_ADMIN_TOKEN=drive-token-789 " + drive + (dir / "with").string());
  ASSERT_EQ(rc, 0) << text;
  std::string log = read_file(dir / "with" / "driver.log");
  EXPECT_NE(log.find("ok=2 error=0 total=2"), std::string::npos) << log;
  EXPECT_EQ(log.find("refused"), std::string::npos) << log;
  EXPECT_EQ(program_count(port), 0);
  std::string m = router_metrics(port);
  EXPECT_EQ(metric_value(m, R"(agentsched_router_errors_total{kind="unauthorized"})"), 0) << m;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir / "with")) {
    if (f.is_regular_file()) {
      EXPECT_EQ(read_file(f.path()).find("drive-token-789"), std::string::npos) << f.path();
    }
  }

  // Without it: the tasks still run, the first release is refused, one line says so, and no
  // other release is tried.
  std::tie(rc, text) =
      run_shell("env -u AGENTSCHED_ADMIN_TOKEN " + drive + (dir / "without").string());
  ASSERT_EQ(rc, 0) << text;
  log = read_file(dir / "without" / "driver.log");
  EXPECT_NE(log.find("ok=2 error=0 total=2"), std::string::npos) << log;
  const std::string refusal = "refused POST /programs/release (HTTP 401: missing admin token";
  EXPECT_NE(log.find(refusal), std::string::npos) << log;
  EXPECT_EQ(log.find(refusal), log.rfind(refusal)) << log;
  EXPECT_EQ(program_count(port), 2);
  // (Two releases may have been in flight when the first refusal came back.)
  m = router_metrics(port);
  const double refused = metric_value(m, R"(agentsched_router_errors_total{kind="unauthorized"})");
  EXPECT_GE(refused, 1) << m;
  EXPECT_LE(refused, 2) << m;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace agentsched::serve
