// `agentsched router` as a real process in front of real `agentsched engine` processes on
// loopback: curl and the official openai npm client, streaming and not, program identity,
// several backends, release, disconnects, holds, limits, profiles, and a backend killed and
// restarted while programs run.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <atomic>
#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "http/server.h"
#include "serve/router_test_util.h"
#include "serve/test_files.h"

namespace agentsched::serve {
namespace {

using namespace agentsched::testing;
namespace json = boost::json;

bool have(const std::string& tool) {
  return run_shell("command -v " + tool).first == 0;
}

const json::object* find_program(const json::value& programs, std::string_view id) {
  if (!programs.is_object()) return nullptr;
  for (const auto& p : programs.at("programs").as_array())
    if (p.at("id").as_string() == id) return &p.as_object();
  return nullptr;
}

// A copy of the program's entry in /programs, if it is there.
std::optional<json::object> program_of(int router_port, std::string_view id) {
  const json::value programs = get_json(router_port, "/programs");
  const json::object* p = find_program(programs, id);
  return p ? std::optional<json::object>(*p) : std::nullopt;
}

std::string state_of(int router_port, std::string_view id) {
  auto p = program_of(router_port, id);
  return p ? std::string(p->at("state").as_string()) : std::string("absent");
}

std::int64_t program_count(int router_port) {
  auto v = get_json(router_port, "/programs");
  return v.is_object() ? v.at("count").to_number<std::int64_t>() : -1;
}

std::string router_metrics(int port) {
  auto r = call(port, "GET", "/metrics");
  return r ? "\n" + r->body : std::string();
}

using testing::read_file;

// A fresh temporary directory for one test.
std::filesystem::path temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("router-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(RouterProcess, CurlStreamingAndNotWithUsageRead) {
  if (!have("curl")) GTEST_SKIP() << "curl is not installed (scripts/setup.sh installs it)";
  auto engine = start_engine();
  ASSERT_GT(engine->port(), 0);
  auto router = start_router({engine->url()});
  ASSERT_GT(router->port(), 0);
  const std::string url = router->url() + "/v1/chat/completions";

  auto [rc, out] =
      run_shell("curl -sS -i " + url + " -d '" + chat_body(R"("job_id":"curl:1")", 7) + "'");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  EXPECT_NE(out.find("\"completion_tokens\":7"), std::string::npos) << out;
  EXPECT_NE(out.find("x-agentsched-backend: 0"), std::string::npos) << out;

  // Streaming without include_usage: the router asks the engine for usage and strips the
  // usage chunk from what the client sees; the program's context still counts it.
  auto [rc2, sse] = run_shell("curl -sS -N " + url + " -d '" +
                              chat_body(R"("job_id":"curl:1")", 5, R"("stream":true)") + "'");
  ASSERT_EQ(rc2, 0) << sse;
  EXPECT_EQ(sse.rfind("data: {", 0), 0u) << sse;
  EXPECT_NE(sse.find("\"finish_reason\":\"length\""), std::string::npos) << sse;
  EXPECT_EQ(sse.find("\"usage\""), std::string::npos) << sse;
  EXPECT_NE(sse.find("data: [DONE]\n\n"), std::string::npos) << sse;

  auto programs = get_json(router->port(), "/programs");
  const json::object* p = find_program(programs, "curl:1");
  ASSERT_TRUE(p) << programs;
  EXPECT_EQ(p->at("steps").to_number<int>(), 2);
  // 24 bytes of message text = 6 prompt tokens, plus 5 completion tokens (second call).
  EXPECT_EQ(p->at("context_tokens").to_number<int>(), 11);
  EXPECT_EQ(p->at("profile").at("completion_tokens").to_number<int>(), 12);

  // Streaming with include_usage: the usage chunk reaches the client.
  auto [rc3, sse2] =
      run_shell("curl -sS -N " + url + " -d '" +
                chat_body(R"("job_id":"curl:1")", 3,
                          R"("stream":true,"stream_options":{"include_usage":true})") +
                "'");
  ASSERT_EQ(rc3, 0) << sse2;
  EXPECT_NE(sse2.find("\"completion_tokens\":3"), std::string::npos) << sse2;

  auto [rc4, models] = run_shell("curl -sS " + router->url() + "/v1/models");
  EXPECT_NE(models.find("\"object\":\"list\""), std::string::npos) << models;
  auto [rc5, health] = run_shell("curl -sS " + router->url() + "/health");
  EXPECT_NE(health.find("\"status\":\"ok\""), std::string::npos) << health;
  auto [rc6, bad] = run_shell("curl -sS -i " + url + " -d '{broken'");
  EXPECT_NE(bad.find("HTTP/1.1 400"), std::string::npos) << bad;
  EXPECT_NE(bad.find("\"error\":{\"message\":"), std::string::npos) << bad;

  EXPECT_EQ(router->stop(), 0);
  EXPECT_EQ(engine->stop(), 0);
}

TEST(RouterProcess, ProgramIdentityFromEverySource) {
  auto engine = start_engine();
  auto router = start_router({engine->url()});
  ASSERT_GT(router->port(), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("job_id":"id:top")", "id:top"},
      {R"("program_id":"id:program")", "id:program"},
      {R"("extra_body":{"job_id":"id:extra"})", "id:extra"},
      {R"("extra_body":{"program_id":"id:extra-program"})", "id:extra-program"},
      {R"("vllm_xargs":{"agentic_context":{"program_id":"id:xargs"}})", "id:xargs"},
  };
  for (const auto& [member, id] : cases) {
    auto r = call(router->port(), "POST", "/v1/chat/completions", chat_body(member));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200) << r->body;
  }
  auto r = call(router->port(), "POST", "/v1/chat/completions", chat_body(""),
                {{"x-session-id", "id:header"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // No identity: a single-call program, gone once it returns.
  r = call(router->port(), "POST", "/v1/chat/completions", chat_body(""));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // is_last_step is read (and the call still goes through).
  r = call(router->port(), "POST", "/v1/chat/completions",
           chat_body(R"("job_id":"id:top","is_last_step":true)"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  auto programs = get_json(router->port(), "/programs");
  EXPECT_EQ(programs.at("count").to_number<int>(), 6) << programs;
  for (const auto& [member, id] : cases) EXPECT_TRUE(find_program(programs, id)) << id;
  EXPECT_TRUE(find_program(programs, "id:header"));
  EXPECT_EQ(find_program(programs, "id:top")->at("steps").to_number<int>(), 2);

  auto detail = get_json(router->port(), "/programs/id%3Atop");
  ASSERT_TRUE(detail.is_object()) << detail;
  EXPECT_EQ(detail.at("recent_calls").as_array().size(), 2u);
  EXPECT_TRUE(detail.at("recent_calls").at(0).at("since_previous_s").is_null());
  EXPECT_GE(detail.at("recent_calls").at(1).at("since_previous_s").to_number<double>(), 0);
  EXPECT_GT(detail.at("recent_calls").at(1).at("backend_s").to_number<double>(), 0);
  EXPECT_EQ(call(router->port(), "GET", "/programs/nope")->status, 404);
}

TEST(RouterProcess, SeveralBackendsStickyPlacementAndRelease) {
  auto e0 = start_engine();
  auto e1 = start_engine();
  auto router = start_router({e0->url(), e1->url()});
  ASSERT_GT(router->port(), 0);
  std::map<std::string, std::string> backend_of;
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 6; ++i) {
      const std::string id = "sticky:" + std::to_string(i);
      auto r = call(router->port(), "POST", "/v1/chat/completions",
                    chat_body(R"("job_id":")" + id + "\""));
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      const std::string b(r->header("x-agentsched-backend"));
      if (round == 0)
        backend_of[id] = b;
      else
        EXPECT_EQ(backend_of[id], b) << id << " moved";
    }
  int on0 = 0;
  for (const auto& [id, b] : backend_of) on0 += b == "0";
  EXPECT_EQ(on0, 3) << "least-loaded placement spreads new programs";

  auto rel = call(router->port(), "POST", "/programs/release", R"({"job_id":"sticky:0"})");
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->body, R"({"released":true,"job_id":"sticky:0"})");
  rel = call(router->port(), "POST", "/programs/release", R"({"program_id":"sticky:1"})");
  EXPECT_EQ(rel->body, R"({"released":true,"job_id":"sticky:1"})");
  rel = call(router->port(), "POST", "/programs/release", R"({"job_id":"never-seen"})");
  EXPECT_EQ(rel->body, R"({"released":false,"job_id":"never-seen"})");
  EXPECT_EQ(call(router->port(), "POST", "/programs/release", R"({"x":1})")->status, 400);
  EXPECT_EQ(call(router->port(), "GET", "/programs/release")->status, 405);
  EXPECT_EQ(program_count(router->port()), 4);

  auto backends = get_json(router->port(), "/backends");
  ASSERT_TRUE(backends.is_object());
  EXPECT_EQ(backends.at("backends").as_array().size(), 2u);
  EXPECT_TRUE(wait_until([&] {
    auto b = get_json(router->port(), "/backends");
    return b.is_object() &&
           b.at("backends").at(1).at("kv_capacity_tokens").to_number<std::int64_t>() > 0;
  })) << "capacity from cache_config_info";
}

TEST(RouterProcess, ClientDisconnectFreesInFlightCallAndEngineRequest) {
  // A slow engine (real time): the call is still running when its client hangs up.
  auto engine = start_engine({}, 0, 1);
  auto router = start_router({engine->url()});
  ASSERT_GT(router->port(), 0);
  {
    RawSocket s(router->port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all(post_request(chat_body(R"("job_id":"gone:1")", 2000))));
    ASSERT_TRUE(wait_until([&] { return state_of(router->port(), "gone:1") == "in_flight"; }));
  }
  EXPECT_TRUE(wait_until([&] { return state_of(router->port(), "gone:1") == "idle"; }));
  const std::string m = router_metrics(router->port());
  EXPECT_EQ(metric_value(m, R"(agentsched_router_errors_total{kind="client_disconnect"})"), 1) << m;
  EXPECT_EQ(
      metric_value(m, R"(agentsched_router_responses_total{code="499",route="chat_completions"})"),
      1)
      << m;
  // The engine saw its connection close and aborted the request.
  EXPECT_TRUE(wait_until([&] {
    auto r = call(engine->port(), "GET", "/metrics");
    return r && metric_value("\n" + r->body,
                             R"(vllm:num_requests_running{engine="0",model_name="Qwen3-8B"})") == 0;
  }));
}

TEST(RouterProcess, ReleaseDuringACallLetsItFinishAndFreesItsSlot) {
  auto engine = start_engine({}, 0, 1);
  auto router = start_router({engine->url()});
  ASSERT_GT(router->port(), 0);
  RawSocket s(router->port());
  ASSERT_TRUE(s.send_all(post_request(chat_body(R"("job_id":"busy")", 60))));
  ASSERT_TRUE(wait_until([&] { return state_of(router->port(), "busy") == "in_flight"; }));
  auto rel = call(router->port(), "POST", "/programs/release", R"({"job_id":"busy"})");
  EXPECT_EQ(rel->body, R"({"released":true,"job_id":"busy"})");
  const std::string answer = s.read_until("\"total_tokens\"");
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  EXPECT_TRUE(wait_until([&] {
    auto b = get_json(router->port(), "/backends");
    return b.is_object() && b.at("backends").at(0).at("in_flight").to_number<int>() == 0 &&
           b.at("backends").at(0).at("programs").to_number<int>() == 0;
  }));
  EXPECT_EQ(program_count(router->port()), 0);
}

TEST(RouterProcess, HeldCallsWaitReleaseAndDisconnect) {
  // admit with no KV room (high_water below an idle engine's usage): a new program's first call is
  // held once the backend has been polled.
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--policy", "admit", "--param", "high_water=0.0001",
                                               "--param", "max_wait_s=1000"});
  ASSERT_GT(router->port(), 0);
  ASSERT_TRUE(wait_until([&] {
    auto b = get_json(router->port(), "/backends");
    return b.is_object() && b.at("backends").at(0).at("polled_at_s").to_number<double>() >= 0;
  }));
  // A held call whose client hangs up releases its program.
  {
    RawSocket s(router->port());
    ASSERT_TRUE(s.send_all(post_request(chat_body(R"("job_id":"held:gone")"))));
    ASSERT_TRUE(wait_until([&] { return state_of(router->port(), "held:gone") == "held"; }));
    EXPECT_EQ(metric_value(router_metrics(router->port()), "agentsched_router_held_requests"), 1);
  }
  EXPECT_TRUE(wait_until([&] { return program_count(router->port()) == 0; }));
  EXPECT_EQ(metric_value(router_metrics(router->port()), "agentsched_router_held_requests"), 0);

  // Releasing a program lets its held call through as a single call.
  RawSocket s(router->port());
  ASSERT_TRUE(s.send_all(post_request(chat_body(R"("job_id":"held:released")"))));
  ASSERT_TRUE(wait_until([&] { return state_of(router->port(), "held:released") == "held"; }));
  auto rel = call(router->port(), "POST", "/programs/release", R"({"job_id":"held:released"})");
  EXPECT_EQ(rel->body, R"({"released":true,"job_id":"held:released"})");
  const std::string answer = s.read_until("\"total_tokens\"");
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
}

TEST(RouterProcess, CapHoldsANewProgramUntilAnActiveOneIsReleased) {
  // The `cap` policy live: with cap=1, a second program waits in the router until the first
  // one ends, whatever the engine's load.
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--policy", "cap", "--param", "cap=1"});
  ASSERT_GT(router->port(), 0);
  auto first =
      call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"cap:a")"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  RawSocket s(router->port());
  ASSERT_TRUE(s.send_all(post_request(chat_body(R"("job_id":"cap:b")"))));
  ASSERT_TRUE(wait_until([&] { return state_of(router->port(), "cap:b") == "held"; }));
  // The active program's next call passes although b is waiting.
  auto again =
      call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"cap:a")"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(state_of(router->port(), "cap:b"), "held");
  auto rel = call(router->port(), "POST", "/programs/release", R"({"job_id":"cap:a"})");
  EXPECT_EQ(rel->body, R"({"released":true,"job_id":"cap:a"})");
  const std::string answer = s.read_until("\"total_tokens\"");
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
}

TEST(RouterProcess, BoundedWaitIsDrivenByThePolicyTimer) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--policy", "admit", "--param", "high_water=0.0001",
                                               "--param", "max_wait_s=0.3"});
  ASSERT_GT(router->port(), 0);
  ASSERT_TRUE(wait_until([&] {
    auto b = get_json(router->port(), "/backends");
    return b.is_object() && b.at("backends").at(0).at("polled_at_s").to_number<double>() >= 0;
  }));
  auto r = call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"w:1")"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto detail = get_json(router->port(), "/programs/w:1");
  ASSERT_TRUE(detail.is_object());
  EXPECT_GE(detail.at("recent_calls").at(0).at("held_s").to_number<double>(), 0.29) << detail;
  const std::string m = router_metrics(router->port());
  EXPECT_EQ(metric_value(m, "agentsched_router_hold_seconds_count"), 1) << m;
}

TEST(RouterProcess, BackendKilledAndRestartedWhileProgramsRun) {
  auto e0 = start_engine();
  auto e1 = start_engine();
  ASSERT_GT(e0->port(), 0);
  ASSERT_GT(e1->port(), 0);
  const int e0_port = e0->port();
  auto router = start_router({e0->url(), e1->url()});
  ASSERT_GT(router->port(), 0);

  // Eight programs call in a loop (non-streaming, so a failed attempt can always be retried).
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::string> failures;
  std::mutex mu;
  std::vector<std::thread> programs;
  for (int i = 0; i < 8; ++i)
    programs.emplace_back([&, i] {
      const std::string body = chat_body(R"("job_id":"run:)" + std::to_string(i) + "\"", 8);
      while (!stop) {
        auto r = call(router->port(), "POST", "/v1/chat/completions", body);
        if (r && r->status == 200) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard lock(mu);
          failures.push_back(r ? r->body : r.error().message);
        }
      }
    });
  ASSERT_TRUE(wait_until([&] { return ok > 40; }));
  e0->signal(SIGKILL);
  e0->wait(10s);
  ASSERT_TRUE(wait_until([&] {
    auto b = get_json(router->port(), "/backends");
    return b.is_object() && !b.at("backends").at(0).at("up").as_bool();
  }));
  const int ok_at_kill = ok;
  ASSERT_TRUE(wait_until([&] { return ok > ok_at_kill + 40; }));
  // Every program now lives on the surviving backend.
  auto programs_json = get_json(router->port(), "/programs");
  for (const auto& p : programs_json.at("programs").as_array())
    EXPECT_EQ(p.at("backend").to_number<int>(), 1) << p;

  auto e0b = start_engine({}, e0_port);
  ASSERT_EQ(e0b->port(), e0_port);
  ASSERT_TRUE(wait_until([&] {
    auto b = get_json(router->port(), "/backends");
    return b.is_object() && b.at("backends").at(0).at("up").as_bool();
  }));
  // New programs are placed on the restarted backend again.
  auto r = call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"after")"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-agentsched-backend"), "0");
  stop = true;
  for (auto& t : programs) t.join();
  // Every client connection is closed again (the one asking excepted).
  EXPECT_TRUE(wait_until([&] {
    return metric_value(router_metrics(router->port()), "agentsched_router_connections") == 1;
  }));
  EXPECT_EQ(failed, 0) << (failures.empty() ? "" : failures.front());
  const std::string m = router_metrics(router->port());
  EXPECT_EQ(metric_value(m, R"(agentsched_router_backend_up{backend=")" + e0->url() + "\"}"), 1)
      << m;
  EXPECT_EQ(router->stop(), 0);
}

TEST(RouterProcess, LimitsAnswerWithOpenAiErrors) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--max-body-bytes", "1000", "--header-timeout",
                                               "0.3", "--max-connections", "3"});
  ASSERT_GT(router->port(), 0);
  auto r = call(router->port(), "POST", "/v1/chat/completions",
                chat_body("", 4, R"("pad":")" + std::string(2000, 'x') + "\""));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("\"error\":{\"message\":\"request body of"), std::string::npos) << r->body;

  RawSocket slow(router->port());
  ASSERT_TRUE(slow.send_all("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"));
  const std::string answer = slow.read_until("\r\n\r\n", 5s);
  EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;

  EXPECT_EQ(call(router->port(), "DELETE", "/v1/chat/completions")->status, 405);
  slow.close();
  // Only the connection asking for the gauge is left open.
  ASSERT_TRUE(wait_until([&] {
    return metric_value(router_metrics(router->port()), "agentsched_router_connections") == 1;
  }));
  RawSocket a(router->port()), b(router->port()), c(router->port()), d(router->port());
  const std::string refused = d.read_until("}}", 5s);
  EXPECT_NE(refused.find("HTTP/1.1 503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("connection limit"), std::string::npos) << refused;
}

TEST(RouterProcess, IdleProgramsReleasedAfterTtl) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--program-ttl", "0.2"});
  ASSERT_GT(router->port(), 0);
  ASSERT_EQ(
      call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"ttl")"))->status,
      200);
  EXPECT_EQ(program_count(router->port()), 1);
  EXPECT_TRUE(wait_until([&] { return program_count(router->port()) == 0; }, 5s));
  EXPECT_EQ(metric_value(router_metrics(router->port()),
                         "agentsched_router_programs_released_by_ttl_total"),
            1);
}

TEST(RouterProcess, TimeScaleRunsTheRouterClockFaster) {
  auto engine = start_engine();
  // 40 emulated seconds of TTL pass in one real second at scale 40.
  auto router = start_router({engine->url()}, {"--time-scale", "40", "--program-ttl", "40"});
  ASSERT_GT(router->port(), 0);
  ASSERT_EQ(
      call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"fast")"))->status,
      200);
  const double t0 = get_json(router->port(), "/programs").at("now_s").to_number<double>();
  const auto r0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_until([&] { return program_count(router->port()) == 0; }, 5s));
  const double real = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
  const double emulated =
      get_json(router->port(), "/programs").at("now_s").to_number<double>() - t0;
  EXPECT_GT(emulated, 40 * real * 0.9) << "emulated " << emulated << " s in " << real << " s";
  EXPECT_LT(real, 3.0);
}

TEST(RouterProcess, ProfileCsvFiles) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("router-profile-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--profile-dir", dir.string()});
  ASSERT_GT(router->port(), 0);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(
        call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"csv,1")", 5))
            ->status,
        200);
  ASSERT_EQ(call(router->port(), "POST", "/v1/chat/completions", chat_body(R"("job_id":"csv2")", 2))
                ->status,
            200);
  EXPECT_EQ(call(router->port(), "POST", "/programs/release", R"({"job_id":"csv,1"})")->status,
            200);
  EXPECT_EQ(router->stop(), 0);
  const auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string calls = read(dir / "calls.csv");
  const std::string programs = read(dir / "programs.csv");
  EXPECT_EQ(calls.rfind("program_id,call,backend,status,", 0), 0u) << calls;
  EXPECT_NE(calls.find("\n\"csv,1\",3,0,200,0,0,"), std::string::npos) << calls;
  EXPECT_NE(calls.find(",6,5,11\n"), std::string::npos) << calls;
  EXPECT_EQ(std::count(calls.begin(), calls.end(), '\n'), 5) << calls;
  EXPECT_NE(programs.find("\n\"csv,1\",3,0,"), std::string::npos) << programs;
  EXPECT_NE(programs.find(",released\n"), std::string::npos) << programs;
  EXPECT_NE(programs.find("\ncsv2,1,0,"), std::string::npos) << programs;
  EXPECT_NE(programs.find(",shutdown\n"), std::string::npos) << programs;
  std::filesystem::remove_all(dir);
}

TEST(RouterProcess, BadConfigurationFailsFast) {
  ChildProcess no_backend(
      {AGENTSCHED_BINARY, "router", "--port", "0", "--backends", "https://x:1"});
  EXPECT_EQ(no_backend.wait(20s), 1);
  ChildProcess bad_policy({AGENTSCHED_BINARY, "router", "--port", "0", "--backends",
                           "http://127.0.0.1:1", "--policy", "nope"});
  EXPECT_EQ(bad_policy.wait(20s), 1);
  ChildProcess bad_param({AGENTSCHED_BINARY, "router", "--port", "0", "--backends",
                          "http://127.0.0.1:1", "--policy", "thunderreact", "--param", "x=1"});
  EXPECT_EQ(bad_param.wait(20s), 1);
  // Backend URLs follow the live tools' URL rules: nothing is silently misread.
  for (const std::string bad : {"http://user@127.0.0.1:1", "http://fe80::1", "http://[::1]junk",
                                "http://127.0.0.1:1/x", "127.0.0.1:70000"}) {
    ChildProcess p(
        {"/bin/sh", "-c",
         std::string(AGENTSCHED_BINARY) + " router --port 0 --backends '" + bad + "' 2>&1"});
    const auto line = p.read_line(20s);
    EXPECT_EQ(p.wait(20s), 1) << bad;
    ASSERT_TRUE(line) << bad;
    EXPECT_NE(line->find("--backends: "), std::string::npos) << *line;
  }
}

TEST(RouterProcess, OpenAiNpmClient) {
  if (!have("node")) GTEST_SKIP() << "node is not installed (scripts/setup.sh installs it)";
  const std::string dir = std::string(AGENTSCHED_SOURCE_DIR) + "/tests/node";
  struct stat st {};
  ASSERT_EQ(stat((dir + "/node_modules/openai/package.json").c_str(), &st), 0)
      << "the openai npm package is missing: run scripts/setup.sh (npm ci in tests/node)";
  auto e0 = start_engine();
  auto e1 = start_engine();
  auto router = start_router({e0->url(), e1->url()});
  ASSERT_GT(router->port(), 0);
  auto [rc, out] = run_shell("node " + dir + "/router_openai.mjs " + router->url());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(" passed, 0 failed"), std::string::npos) << out;
  EXPECT_EQ(router->stop(), 0);
}

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
  const auto dir = temp_dir("time-scale");
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
  const auto dir = temp_dir("token-sources");
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
  const auto dir = temp_dir("token-errors");
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
  const auto dir = temp_dir("secrets");
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
  const auto dir = temp_dir("drive-token");
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

// ------------------------------------------------------------------ limits

// Connections that send a request head one byte at a time, all from one thread: a byte on
// every connection still waiting, then up to `gap` for answers. Each stops when the router
// answers or closes it, or when the whole head has gone out.
class SlowLoris {
 public:
  SlowLoris(int port, int connections, std::string head) : head_(std::move(head)) {
    for (int i = 0; i < connections; ++i) conns_.push_back(std::make_unique<Conn>(port));
    for (const auto& c : conns_) waiting_ += c->stopped ? 0 : 1;
  }
  // Runs until every connection stopped or `limit` passed.
  void run(std::chrono::milliseconds gap, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (waiting() > 0 && std::chrono::steady_clock::now() < deadline) {
      for (auto& c : conns_) {
        if (c->stopped) continue;
        if (c->sent == head_.size() || !c->send_byte(head_[c->sent])) {
          stop(*c);
          continue;
        }
        ++c->sent;
        ++bytes_sent_;
      }
      std::vector<pollfd> fds;
      std::vector<Conn*> polled;
      for (auto& c : conns_)
        if (!c->stopped) {
          fds.push_back({c->fd, POLLIN, 0});
          polled.push_back(c.get());
        }
      if (fds.empty() || poll(fds.data(), fds.size(), static_cast<int>(gap.count())) <= 0) continue;
      for (std::size_t i = 0; i < fds.size(); ++i)
        if (fds[i].revents != 0) {
          polled[i]->read_answer();
          stop(*polled[i]);
        }
    }
  }
  int waiting() const { return waiting_; }
  int answered() const { return static_cast<int>(conns_.size()) - waiting_; }
  std::size_t bytes_sent() const { return bytes_sent_; }
  // After run() returned.
  const std::string& answer(std::size_t i) const { return conns_[i]->answer; }
  std::size_t sent(std::size_t i) const { return conns_[i]->sent; }
  std::size_t size() const { return conns_.size(); }

 private:
  struct Conn {
    explicit Conn(int port) : fd(::socket(AF_INET, SOCK_STREAM, 0)) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) stopped = true;
    }
    ~Conn() { ::close(fd); }
    bool send_byte(char c) { return ::send(fd, &c, 1, MSG_NOSIGNAL) == 1; }
    // What the router sent (its answer head at least), up to EOF or 2 s.
    void read_answer() {
      const auto deadline = std::chrono::steady_clock::now() + 2s;
      while (answer.find("\r\n\r\n") == std::string::npos &&
             std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
      }
    }
    int fd;
    std::size_t sent = 0;
    bool stopped = false;
    std::string answer;
  };
  void stop(Conn& c) {
    c.stopped = true;
    --waiting_;
  }
  std::string head_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::atomic<int> waiting_{0};
  std::atomic<std::size_t> bytes_sent_{0};
};

// A request head far longer than a slow-loris client can send before any header timeout.
std::string long_head() {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'p') +
         "\r\nContent-Length: 2\r\n\r\n{}";
}

TEST(RouterProcess, SlowLorisIsCutOffWhileOtherClientsAreServed) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--header-timeout", "0.5"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  SlowLoris loris(port, 1, long_head());
  std::thread slow([&] { loris.run(20ms, 60s); });
  // While it trickles in, another connection is served as usual.
  ASSERT_TRUE(wait_until([&] { return loris.bytes_sent() >= 3; }));
  auto r = call(port, "POST", "/v1/chat/completions", chat_body(R"("job_id":"normal")"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(call(port, "GET", "/health")->status, 200);
  slow.join();
  // The slow client got a 408 in OpenAI's shape before its head was complete.
  EXPECT_NE(loris.answer(0).find("HTTP/1.1 408"), std::string::npos) << loris.answer(0);
  EXPECT_LT(loris.sent(0), long_head().size());
  EXPECT_GE(metric_value(router_metrics(port), R"(agentsched_router_errors_total{kind="timeout"})"),
            1);
  RawSocket s(port);
  ASSERT_TRUE(s.send_all(long_head().substr(0, 60)));
  const std::string got = s.read_until("}}");
  EXPECT_NE(got.find("HTTP/1.1 408"), std::string::npos) << got;
  EXPECT_NE(got.find(R"({"error":{"message":"the request did not arrive in time")"),
            std::string::npos)
      << got;
}

TEST(RouterProcess, HundredSlowLorisConnectionsDoNotStopService) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--header-timeout", "5"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  SlowLoris loris(port, 100, long_head());
  std::thread slow([&] { loris.run(20ms, 120s); });
  // Once the router holds all of them (and the connection asking), normal calls go through.
  ASSERT_TRUE(wait_until(
      [&] { return metric_value(router_metrics(port), "agentsched_router_connections") >= 101; },
      30s));
  int served_while_all_waiting = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = call(port, "POST", "/v1/chat/completions",
                  chat_body(R"("job_id":"busy:)" + std::to_string(i) + "\""));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    if (loris.answered() == 0) ++served_while_all_waiting;
  }
  EXPECT_GT(served_while_all_waiting, 0) << "the slow clients were cut before any call ended";
  slow.join();
  // Then every slow client is cut off with a 408 (none sent its whole head).
  for (std::size_t i = 0; i < loris.size(); ++i) {
    EXPECT_NE(loris.answer(i).find("HTTP/1.1 408"), std::string::npos) << i << loris.answer(i);
    EXPECT_LT(loris.sent(i), long_head().size()) << i;
  }
  EXPECT_TRUE(wait_until(
      [&] { return metric_value(router_metrics(port), "agentsched_router_connections") == 1; }));
  EXPECT_EQ(call(port, "GET", "/health")->status, 200);
}

TEST(RouterProcess, IdleKeepAliveConnectionsAreClosed) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--idle-timeout", "0.5"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  RawSocket idle(port);
  ASSERT_TRUE(idle.send_all("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string first = idle.read_until("\"backends\":1}");
  EXPECT_NE(first.find("HTTP/1.1 200"), std::string::npos) << first;
  EXPECT_EQ(first.find("connection: close"), std::string::npos) << first;  // kept alive
  // The router closes it once idle (read_until returns at EOF with nothing more).
  EXPECT_EQ(idle.read_until("never", 30s), "");
  EXPECT_TRUE(wait_until(
      [&] { return metric_value(router_metrics(port), "agentsched_router_connections") == 1; }));
}

TEST(RouterProcess, ConnectionLimitAnswers503AndServesAgainOnceOneCloses) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--max-connections", "2"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  const std::string health = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  // Two connections the router has accepted (each answered once, kept alive).
  auto a = std::make_unique<RawSocket>(port);
  RawSocket b(port);
  for (RawSocket* s : {a.get(), &b}) {
    ASSERT_TRUE(s->send_all(health));
    const std::string got = s->read_until("\"backends\":1}");
    ASSERT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  }
  RawSocket c(port);
  const std::string refused = c.read_until("}}");
  EXPECT_NE(refused.find("HTTP/1.1 503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("connection: close"), std::string::npos) << refused;
  const auto body = refused.substr(refused.find("\r\n\r\n") + 4);
  const json::value error = json::parse(body);
  EXPECT_EQ(error.at("error").at("type").as_string(), "service_unavailable") << body;
  EXPECT_NE(std::string(error.at("error").at("message").as_string()).find("connection limit (2)"),
            std::string::npos)
      << body;
  // Once one closes, a new connection is served again (after the router noticed).
  a.reset();
  EXPECT_TRUE(wait_until([&] {
    RawSocket d(port);
    return d.send_all(health) && d.read_until("}", 5s).find("HTTP/1.1 200") != std::string::npos;
  }));
  // The one kept open is still served too.
  ASSERT_TRUE(b.send_all(health));
  EXPECT_NE(b.read_until("\"backends\":1}").find("HTTP/1.1 200"), std::string::npos);
}

TEST(RouterProcess, OversizedHeadAndBodyAnswer431And413) {
  auto engine = start_engine();
  auto router =
      start_router({engine->url()}, {"--max-header-bytes", "2048", "--max-body-bytes", "1000"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  const auto expect_error = [&](const std::string& request, const std::string& status) {
    RawSocket s(port);
    ASSERT_TRUE(s.send_all(request));
    const std::string got = s.read_until("}}");
    EXPECT_EQ(got.rfind("HTTP/1.1 " + status, 0), 0u) << got;
    EXPECT_NE(got.find("connection: close"), std::string::npos) << got;
    const auto at = got.find("\r\n\r\n");
    ASSERT_NE(at, std::string::npos) << got;
    const json::value body = json::parse(got.substr(at + 4));
    EXPECT_EQ(body.at("error").at("type").as_string(), "invalid_request_error") << got;
    EXPECT_EQ(body.at("error").at("code").to_number<int>(), std::stoi(status)) << got;
  };
  // A head over the limit, complete or not yet.
  expect_error("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b') + "\r\n\r\n",
               "431");
  expect_error("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b'), "431");
  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200; ++i) many += "X:" + std::to_string(i % 10) + "\r\n";
  expect_error(many + "\r\n", "431");
  // A body over the limit, announced or chunked.
  expect_error(post_request(chat_body("", 4, R"("pad":")" + std::string(2000, 'x') + "\"")), "413");
  expect_error(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "400\r\n" +
          std::string(0x400, ' ') + "\r\n",
      "413");
  // The router still serves.
  EXPECT_EQ(call(port, "POST", "/v1/chat/completions", chat_body(""))->status, 200);
  const std::string m = router_metrics(port);
  EXPECT_EQ(metric_value(m, R"(agentsched_router_errors_total{kind="too_large"})"), 2) << m;
}

}  // namespace
}  // namespace agentsched::serve
