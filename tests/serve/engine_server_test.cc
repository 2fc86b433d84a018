// The engine emulator in-process on loopback, driven by the http client: OpenAI surface,
// vLLM metrics, prefix reuse, disconnects, KV pressure, continuum pins, shutdown.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "emulator/engine_server.h"
#include "fixture_files.h"
#include "http/client.h"
#include "http/prometheus.h"
#include "http/sse.h"
#include "http/vllm_metrics.h"
#include "serve/live_engine.h"

namespace agentsched::serve {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string chat_body(const std::string& content, int max_tokens, bool stream = false,
                      const std::string& extra = "") {
  json::object o{{"messages", json::array{json::object{{"role", "user"}, {"content", content}}}},
                 {"max_tokens", max_tokens},
                 {"ignore_eos", true},
                 {"stream", stream}};
  if (stream) o["stream_options"] = json::object{{"include_usage", true}};
  std::string s = json::serialize(o);
  if (!extra.empty()) s.insert(s.size() - 1, "," + extra);
  return s;
}

struct StreamResult {
  int status = 0;
  std::vector<std::string> events;
  std::string error;
  std::string text;
  std::int64_t usage_completion = -1;
  std::string finish_reason;
};

// `n` streaming requests at once on separate connections.
std::vector<StreamResult> stream_chats(std::uint16_t port, const std::vector<std::string>& bodies) {
  asio::io_context io;
  std::vector<StreamResult> results(bodies.size());
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          StreamResult& res = results[i];
          http::HttpClient client(io.get_executor());
          if (auto st = co_await client.connect("127.0.0.1", port); !st) {
            res.error = st.error().message;
            co_return;
          }
          http::SseParser parser([&](std::string_view d) { res.events.emplace_back(d); });
          auto r = co_await client.stream("POST", "/v1/chat/completions", bodies[i], {},
                                          [&](std::string_view d) { parser.feed(d); });
          if (!r) {
            res.error = r.error().message;
            co_return;
          }
          res.status = r->status;
        },
        asio::detached);
  }
  io.run_for(120s);
  for (auto& res : results) {
    for (const auto& e : res.events) {
      if (e == "[DONE]") continue;
      auto v = json::parse(e).as_object();
      if (!v.contains("choices")) continue;  // an error event
      if (auto* u = v.if_contains("usage"); u && u->is_object())
        res.usage_completion = u->as_object().at("completion_tokens").as_int64();
      for (auto& c : v.at("choices").as_array()) {
        auto& choice = c.as_object();
        if (auto* d = choice.at("delta").as_object().if_contains("content"))
          res.text += std::string(d->as_string());
        if (!choice.at("finish_reason").is_null())
          res.finish_reason = std::string(choice.at("finish_reason").as_string());
      }
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------

TEST(EngineServer, HealthModelsAndRouting) {
  EngineServerOptions o = fast();
  o.model = "nvidia/Nemotron-Orchestrator-8B";
  LiveEngine e(o);
  auto h = e.get("/health");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, "");
  auto m = e.get("/v1/models");
  ASSERT_TRUE(m.ok());
  auto models = json::parse(m->body).as_object();
  EXPECT_EQ(models.at("object").as_string(), "list");
  EXPECT_EQ(models.at("data").as_array().at(0).at("id").as_string(),
            "nvidia/Nemotron-Orchestrator-8B");
  EXPECT_EQ(models.at("data").as_array().at(0).at("max_model_len").as_int64(), 40960);
  auto nf = e.get("/v2/whatever");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->body, R"({"detail":"Not Found"})");
  auto wrong = e.get("/v1/chat/completions");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
}

TEST(EngineServer, NonStreamingCompletion) {
  LiveEngine e;
  auto r = e.chat(chat_body(std::string(400, 'q'), 20));
  EXPECT_EQ(r.at("object").as_string(), "chat.completion");
  EXPECT_EQ(std::string(r.at("id").as_string()).rfind("chatcmpl-", 0), 0u);
  const auto& choice = r.at("choices").as_array().at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "length");
  EXPECT_EQ(choice.at("message").at("content").as_string().size(), 80u);
  const auto& usage = r.at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), 100);
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), 20);
  EXPECT_EQ(usage.at("total_tokens").as_int64(), 120);
}

TEST(EngineServer, OutputLengthWithoutIgnoreEosIsDrawnAndCapped) {
  LiveEngine e;
  std::set<std::int64_t> lengths;
  for (int i = 0; i < 12; ++i) {
    auto r = e.chat(R"({"messages":[{"role":"user","content":"hi )" + std::to_string(i) +
                    R"("}],"max_tokens":400})");
    const auto n = r.at("usage").at("completion_tokens").as_int64();
    const auto reason = r.at("choices").at(0).at("finish_reason").as_string();
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 400);
    EXPECT_EQ(reason, n == 400 ? "length" : "stop");
    lengths.insert(n);
  }
  EXPECT_GT(lengths.size(), 3u);  // drawn from the profile, not constant
}

TEST(EngineServer, StreamingChunksUsageAndDone) {
  LiveEngine e;
  auto results = stream_chats(e.port(), {chat_body("stream this please", 25, true)});
  const auto& r = results.at(0);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.status, 200);
  ASSERT_GE(r.events.size(), 4u);
  EXPECT_EQ(r.events.back(), "[DONE]");
  auto first = json::parse(r.events.front()).as_object();
  EXPECT_EQ(first.at("object").as_string(), "chat.completion.chunk");
  EXPECT_EQ(first.at("choices").at(0).at("delta").at("role").as_string(), "assistant");
  EXPECT_EQ(r.text.size(), 100u);
  EXPECT_EQ(r.usage_completion, 25);
  EXPECT_EQ(r.finish_reason, "length");
  // The usage chunk has no choices, as in vLLM.
  auto usage_chunk = json::parse(r.events[r.events.size() - 2]).as_object();
  EXPECT_TRUE(usage_chunk.at("choices").as_array().empty());
  // Without include_usage there is no usage chunk.
  auto plain = stream_chats(
      e.port(), {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":3,"stream":true})"});
  EXPECT_EQ(plain.at(0).usage_completion, -1);
  EXPECT_EQ(plain.at(0).events.back(), "[DONE]");
}

TEST(EngineServer, ErrorsAsVllmGivesThem) {
  LiveEngine e;
  auto check_error = [&](const std::string& body, int status, const std::string& text) {
    auto r = e.post("/v1/chat/completions", body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, status) << body;
    auto o = json::parse(r->body).as_object();
    EXPECT_EQ(o.at("object").as_string(), "error");
    EXPECT_EQ(o.at("code").as_int64(), status);
    const std::string message(o.at("message").as_string());
    EXPECT_NE(message.find(text), std::string::npos) << message;
    EXPECT_EQ(o.at("error").at("message").as_string(), message);  // OpenAI SDK shape too
  };
  check_error("{oops", 400, "Invalid JSON");
  check_error(R"({"model":"Qwen3-8B"})", 400, "messages");
  check_error(chat_body(std::string(4 * 41000, 'x'), 10), 400, "maximum context length");
  check_error(R"({"messages":[{"role":"user","content":")" + std::string(4 * 40000, 'x') +
                  R"("}],"max_tokens":2000})",
              400, "(40000 in the messages, 2000 in the completion)");
  check_error(R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})", 404,
              "The model `gpt-9` does not exist.");
  // Nothing was admitted by any of them.
  EXPECT_EQ(e.metric("vllm:prefix_cache_queries_total"), 0);
}

TEST(EngineServer, ExtendedPromptHitsPrefixCache) {
  LiveEngine e;
  const std::string history(4000, 'h');  // 1000 tokens, 62 full blocks
  auto a = e.chat(chat_body(history, 8, false, R"("job_id":"t:1")"));
  const std::string answer(a.at("choices").at(0).at("message").at("content").as_string());
  const double hits_before = e.metric("vllm:prefix_cache_hits_total");
  json::object second{
      {"messages", json::array{json::object{{"role", "user"}, {"content", history}},
                               json::object{{"role", "assistant"}, {"content", answer}},
                               json::object{{"role", "user"}, {"content", "next question"}}}},
      {"max_tokens", 4},
      {"job_id", "t:1"}};
  auto b = e.chat(json::serialize(second));
  const auto cached = b.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64();
  EXPECT_EQ(cached, 62 * 16);
  EXPECT_EQ(e.metric("vllm:prefix_cache_hits_total") - hits_before, 62 * 16);
  EXPECT_EQ(e.metric("vllm:gpu_prefix_cache_hits_total"), e.metric("vllm:prefix_cache_hits_total"));
  // A different prompt of the same length shares nothing.
  auto c = e.chat(chat_body(std::string(4000, 'z'), 4));
  EXPECT_EQ(c.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64(), 0);
}

TEST(EngineServer, HostTierLoadsAnEvictedPrefixAndCountsIt) {
  // 300 blocks (4,800 tokens). X (~3,000 tokens) finishes and stays cached; Y (another
  // ~3,000) takes the 111 never-used blocks and then X's, last block first, which go to the
  // 1 GiB host tier. X extended hits its leading blocks on the GPU and loads the rest.
  EngineServerOptions o = fast();
  o.num_gpu_blocks_override = 300;
  o.host_kv_gib = 1;
  LiveEngine e(o);
  const std::string x(12000, 'x');
  e.chat(chat_body(x, 4));
  e.chat(chat_body(std::string(12000, 'y'), 4));
  EXPECT_GT(e.metric("agentsched_host_kv_stores_total"), 0);
  EXPECT_EQ(e.metric("agentsched_host_kv_loads_total"), 0);
  auto again = e.chat(chat_body(x + " and one more question", 4));
  EXPECT_EQ(e.metric("agentsched_host_kv_loads_total"), 1);
  const double loaded = e.metric("vllm:external_prefix_cache_hits_total");
  EXPECT_EQ(loaded, 16 * e.metric("agentsched_host_kv_load_blocks_total"));
  EXPECT_GT(loaded, 0);
  EXPECT_GT(e.metric("agentsched_host_kv_load_seconds_total"), 0);
  // The response counts loaded tokens as cached, as vLLM's num_cached_tokens does.
  const auto cached = again.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64();
  EXPECT_EQ(static_cast<double>(cached), loaded + e.metric("vllm:prefix_cache_hits_total"));
  EXPECT_EQ(e.metric("agentsched_host_kv_blocks"), std::floor(1024.0 / 2.25));
  // The tier's size in cache_config_info, where a gateway reads it.
  auto m = http::backend_metrics_from_vllm(e.metrics_text());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->num_host_blocks, static_cast<std::int64_t>(std::floor(1024.0 / 2.25)));
  EXPECT_EQ(m->num_gpu_blocks, 300);
}

TEST(EngineServer, MetricsMatchTheVllmFixtureFormat) {
  LiveEngine e;
  e.chat(chat_body("warm up the histograms", 5));
  auto r = e.get("/metrics");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto ours = http::parse_prometheus_text(r->body);
  EXPECT_TRUE(ours.bad_lines.empty());

  const std::string fixture_text = test_fixtures::read("metrics/vllm-0.9.2.txt");
  ASSERT_FALSE(fixture_text.empty());
  const auto fixture = http::parse_prometheus_text(fixture_text);

  // The names docs/design.md promises are there.
  for (const char* name :
       {"vllm:kv_cache_usage_perc", "vllm:num_requests_running", "vllm:num_requests_waiting",
        "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total",
        "vllm:num_preemptions_total", "vllm:cache_config_info", "vllm:gpu_cache_usage_perc"})
    EXPECT_FALSE(http::find_samples(ours, name).empty()) << name;
  // Every family here is one the fixture (real vLLM output) declares, with the same type;
  // the fixture lists only some of the `_created` gauges prometheus_client adds.
  int shared = 0;
  for (const auto& [name, type] : ours.types) {
    if (name.size() > 8 && name.compare(name.size() - 8, 8, "_created") == 0) {
      EXPECT_EQ(type, "gauge") << name;
      continue;
    }
    auto it = fixture.types.find(name);
    if (it == fixture.types.end()) {
      ADD_FAILURE() << "family not in the vLLM fixture: " << name;
      continue;
    }
    EXPECT_EQ(type, it->second) << name;
    ++shared;
  }
  EXPECT_EQ(shared, 25);
  // Same HELP texts where the fixture has them.
  for (const auto& [name, help] : ours.help) {
    if (auto it = fixture.help.find(name); it != fixture.help.end()) {
      EXPECT_EQ(help, it->second) << name;
    }
  }
  // Label style: engine and model_name on every sample; cache_config_info carries the same
  // label names as the fixture's.
  for (const auto& s : ours.samples) {
    if (s.name == "vllm:cache_config_info") continue;
    EXPECT_TRUE(s.label("engine") && s.label("model_name")) << s.name;
  }
  auto label_names = [](const http::PrometheusSample& s) {
    std::set<std::string> names;
    for (const auto& [k, v] : s.labels) names.insert(k);
    return names;
  };
  EXPECT_EQ(label_names(*http::find_samples(ours, "vllm:cache_config_info").at(0)),
            label_names(*http::find_samples(fixture, "vllm:cache_config_info").at(0)));
  // Same histogram buckets as the fixture's full listings.
  for (const char* h :
       {"vllm:time_to_first_token_seconds_bucket", "vllm:iteration_tokens_total_bucket"}) {
    std::vector<std::string> a, b;
    for (const auto* s : http::find_samples(ours, h)) a.emplace_back(*s->label("le"));
    for (const auto* s : http::find_samples(fixture, h)) {
      if (s->label("model_name") != "nvidia/Nemotron-Orchestrator-8B") continue;
      b.emplace_back(*s->label("le"));
    }
    EXPECT_EQ(a, b) << h;
  }
  // And the mapping back to BackendMetrics sees the engine's capacity.
  auto m = http::backend_metrics_from_vllm(ours);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->block_size, 16);
  EXPECT_GT(m->num_gpu_blocks, 5000);
  EXPECT_NEAR(m->kv_usage, 1.0 / static_cast<double>(m->num_gpu_blocks), 1e-12);  // null block
  EXPECT_EQ(e.metric("vllm:request_success_total", "length"), 1);
}

TEST(EngineServer, ClientDisconnectAbortsAndFreesBlocks) {
  EngineServerOptions o;
  o.time_scale = 20;  // slow enough that the request is mid-decode when the client leaves
  LiveEngine e(o);
  const auto idle = e.metrics();
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), e.port()});
  const std::string body = chat_body(std::string(2000, 'd'), 30000, true);
  const std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::write(sock, asio::buffer(req));
  // Read until the role chunk and a first token chunk have arrived.
  std::string got;
  char buf[4096];
  auto events = [&] {
    std::size_t n = 0;
    for (auto at = got.find("data: "); at != std::string::npos; at = got.find("data: ", at + 1))
      ++n;
    return n;
  };
  while (events() < 2) got.append(buf, sock.read_some(asio::buffer(buf)));
  EXPECT_EQ(e.metrics().num_running, 1);
  EXPECT_GT(e.metrics().kv_usage, idle.kv_usage);
  sock.close();
  EXPECT_TRUE(e.wait_back_to_idle(idle));
  EXPECT_EQ(e.metric("vllm:request_success_total", "abort"), 1);
}

// One long request A decoding, a short one B arriving; with `busy`, the engine's event loop
// is kept busy for 200 ms real (4 emulated s) just as B is sent, so B's bytes and an overdue
// step timer are ready together. Returns the summed end-to-end latency (emulated s).
double e2e_with_a_late_arrival(bool busy) {
  EngineServerOptions o;
  o.time_scale = 20;
  LiveEngine e(o);
  std::thread a([&] {
    auto r = e.post("/v1/chat/completions", chat_body(std::string(2000, 'a'), 1000));
    EXPECT_TRUE(r.ok() && r->status == 200);
  });
  EXPECT_TRUE(e.wait_metrics([](const BackendMetrics& m) { return m.num_running == 1; }));
  if (busy) {
    std::promise<void> loop_blocked;
    e.post_to_loop([&] {
      loop_blocked.set_value();
      std::this_thread::sleep_for(200ms);  // the load itself, not a wait for an effect
    });
    loop_blocked.get_future().wait();
  }
  std::thread b([&] {
    auto r = e.post("/v1/chat/completions", chat_body(std::string(2000, 'b'), 20));
    EXPECT_TRUE(r.ok() && r->status == 200);
  });
  a.join();
  b.join();
  return e.metric("vllm:e2e_request_latency_seconds_sum");
}

TEST(EngineServer, ALateEventLoopDoesNotStretchTheEmulatedTimeline) {
  // Steps whose planned end passed while the loop was busy complete at their planned ends
  // before the late arrival is taken in, so A's emulated latency does not grow by the 4 s
  // the loop lost (it did before the engine caught up on overdue steps first).
  const double calm = e2e_with_a_late_arrival(false);
  const double busy = e2e_with_a_late_arrival(true);
  std::printf("summed e2e latency: calm loop %.3f s, busy loop %.3f s (emulated)\n", calm, busy);
  EXPECT_LT(std::abs(busy - calm), 1.0) << "calm " << calm << " s, busy " << busy << " s";
}

TEST(EngineServer, ConcurrentStreamsUnderKvPressure) {
  EngineServerOptions o = fast();
  o.num_gpu_blocks_override = 96;  // 1,536 tokens for 24 requests of ~300: queueing, preemption
  o.time_scale = 500;
  LiveEngine e(o);
  std::vector<std::string> bodies;
  for (int i = 0; i < 24; ++i)
    bodies.push_back(chat_body(std::to_string(i) + std::string(1000, 'k'), 60, true));
  auto results = stream_chats(e.port(), bodies);
  for (const auto& r : results) {
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.events.back(), "[DONE]");
    EXPECT_EQ(r.usage_completion, 60);
    EXPECT_EQ(r.text.size(), 240u);
  }
  const auto m = e.metrics();
  EXPECT_EQ(m.num_running, 0);
  EXPECT_EQ(m.num_waiting, 0);
  EXPECT_EQ(m.num_gpu_blocks, 96);
  EXPECT_EQ(e.metric("vllm:request_success_total", "length"), 24);
  EXPECT_EQ(e.metric("vllm:generation_tokens_total"), 24 * 60);
}

TEST(EngineServer, ContinuumPinsKvBetweenCallsOfAProgram) {
  EngineServerOptions o;
  o.policy = "continuum";
  o.time_scale = 1;  // the 2 s pin TTL in real time: ample margin to observe it
  LiveEngine e(o);
  const auto idle = e.metrics();
  e.chat(chat_body(std::string(640, 'p'), 2, false,
                   R"("job_id":"tau2:retail:1:x","extra_body":{"next_tool":"get_order"})"));
  // Finished, yet its blocks stay allocated: pinned for the program's next call.
  EXPECT_GT(e.metrics().kv_usage, idle.kv_usage);
  EXPECT_TRUE(e.wait_metrics([&](const BackendMetrics& m) { return m.kv_usage == idle.kv_usage; }));
  // The last step of a program is never pinned.
  e.chat(chat_body(std::string(640, 'p'), 2, false,
                   R"("job_id":"tau2:retail:2:x","is_last_step":true,"next_tool":"t")"));
  EXPECT_EQ(e.metrics().kv_usage, idle.kv_usage);
}

TEST(EngineServer, FcfsFreesKvWhenRequestsFinish) {
  LiveEngine e;
  const auto idle = e.metrics();
  e.chat(chat_body(std::string(640, 'p'), 2, false, R"("job_id":"a","next_tool":"get_order")"));
  EXPECT_EQ(e.metrics().kv_usage, idle.kv_usage);
}

TEST(EngineServer, GracefulShutdownFinishesInFlightRequests) {
  EngineServerOptions o;
  o.time_scale = 20;
  LiveEngine e(o);
  std::vector<StreamResult> results;
  std::thread client(
      [&] { results = stream_chats(e.port(), {chat_body("finish me", 1000, true)}); });
  ASSERT_TRUE(e.wait_metrics([](const BackendMetrics& m) { return m.num_running == 1; }));
  e.shutdown_async();
  client.join();
  ASSERT_TRUE(e.join_for(10s));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].events.back(), "[DONE]");
  EXPECT_EQ(results[0].usage_completion, 1000);
  EXPECT_FALSE(http::fetch("127.0.0.1", e.port(), "GET", "/health", {}, {}, 5).ok());
}

TEST(EngineServer, ShutdownTimeoutAbortsWhatIsLeft) {
  EngineServerOptions o;
  o.time_scale = 1;
  o.shutdown_timeout_s = 0.05;
  LiveEngine e(o);
  std::vector<StreamResult> results;
  std::thread client(
      [&] { results = stream_chats(e.port(), {chat_body("never finishes", 30000, true)}); });
  ASSERT_TRUE(e.wait_metrics([](const BackendMetrics& m) { return m.num_running == 1; }));
  e.shutdown_async();
  client.join();
  ASSERT_TRUE(e.join_for(10s));
  ASSERT_FALSE(results[0].events.empty());
  const std::string& last = results[0].events.back();
  EXPECT_NE(last.find("shut down"), std::string::npos) << last;
}

}  // namespace
}  // namespace agentsched::serve
