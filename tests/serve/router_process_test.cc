// `agentsched router` as a real process in front of real `agentsched engine` processes on
// loopback: curl and the official openai npm client, streaming and not, program identity,
// several backends, release, disconnects, holds, limits, profiles, and a backend killed and
// restarted while programs run. Its admin surface is in router_admin_process_test.cc, its
// connection limits in router_limits_process_test.cc.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "serve/router_test_util.h"
#include "serve/test_files.h"

namespace agentsched::serve {
namespace {

using namespace agentsched::testing;
namespace json = boost::json;

TEST(RouterProcess, CurlStreamingAndNotWithUsageRead) {
  if (!have_command("curl")) GTEST_SKIP() << "curl is not installed (scripts/setup.sh installs it)";
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
  if (!have_command("node")) GTEST_SKIP() << "node is not installed (scripts/setup.sh installs it)";
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

}  // namespace
}  // namespace agentsched::serve
