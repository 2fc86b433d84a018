// Parsing and pure logic of the live tools: endpoint URLs, the reference's model config, the
// experiment TOML, command templates, retry classification, the sampler's rows and file
// ownership, the driver's message text.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "fixture_files.h"
#include "http/endpoint.h"
#include "http/live_http.h"
#include "live/driver.h"
#include "live/experiment.h"
#include "live/kv_sampler.h"
#include "live/process.h"
#include "serve/support/trace_replay.h"
#include "serve/test_files.h"
#include "workload/conversation.h"

namespace agentsched::serve {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  return testing::scratch_dir("live", name);
}

using testing::read_file;

TEST(LiveEndpoint, ParsesUrls) {
  auto e = parse_endpoint_url("http://127.0.0.1:8000");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 8000);
  EXPECT_EQ(e->chat_completions_target(), "/v1/chat/completions");
  EXPECT_EQ(e->models_target(), "/v1/models");

  auto v1 = parse_endpoint_url("http://gpu-box:9000/v1/");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->base_path, "/v1");
  EXPECT_EQ(v1->chat_completions_target(), "/v1/chat/completions");
  EXPECT_EQ(v1->url(), "http://gpu-box:9000/v1");

  auto bare = parse_endpoint_url("localhost:1234");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 1234);
  auto v6 = parse_endpoint_url("http://[::1]:8080/proxy");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->chat_completions_target(), "/proxy/v1/chat/completions");
  auto default_port = parse_endpoint_url("http://example");
  ASSERT_TRUE(default_port.ok());
  EXPECT_EQ(default_port->port, 80);

  EXPECT_NE(parse_endpoint_url("https://x:1").error().message.find("https"), std::string::npos);
  EXPECT_FALSE(parse_endpoint_url("http://x:0").ok());
  EXPECT_FALSE(parse_endpoint_url("http://x:99999").ok());
  EXPECT_FALSE(parse_endpoint_url("http://x:").ok());
  EXPECT_FALSE(parse_endpoint_url("http://:80").ok());
  EXPECT_FALSE(parse_endpoint_url("ftp://x:1").ok());
}

// Found while writing fuzz/endpoint_url: user info, queries and control characters were
// taken into the host or the base path (a CR LF in the path went into every request line),
// and an unbracketed IPv6 address was split at its last colon.
TEST(LiveEndpoint, RefusesHostsAndPathsThatWouldBeMisread) {
  auto check = [](const std::string& url, const char* needle) {
    auto e = parse_endpoint_url(url);
    ASSERT_FALSE(e.ok()) << url;
    EXPECT_NE(e.error().message.find(needle), std::string::npos) << e.error().message;
    EXPECT_EQ(e.error().message.rfind("endpoint '", 0), 0u) << e.error().message;
  };
  check("http://user@gpu:8000", "user info");
  check("http://gpu:8000/v1?key=1", "'?'");
  check("http://gpu:8000/v1#x", "'#'");
  check("http://gpu:8000/a b", "byte 0x20");
  check("http://gpu:8000/v1\r\nX-Injected: 1", "byte 0x0d");
  check("http://gpu:8000/%zz", "'%'");
  check("http://fe80::1", "in brackets");
  check("http://[gpu]:8000", "not an IPv6 address");
  check("http://g\xc3\xa9:80", "byte 0xc3");
  // Found by fuzz/endpoint_url: inet_pton stopped at the NUL and saw "::".
  static constexpr char kNulInHost[] =
      "http://[::\0\x02"
      "F1]:80";
  check(std::string(kNulInHost, sizeof(kNulInHost) - 1), "not an IPv6 address");

  auto zone = parse_endpoint_url("http://[fe80::1%eth0]:8000/a%2Fb");
  ASSERT_TRUE(zone.ok()) << zone.error().message;
  EXPECT_EQ(zone->host, "fe80::1%eth0");
  EXPECT_EQ(zone->base_path, "/a%2Fb");
  auto back = parse_endpoint_url(zone->url());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->host, zone->host);
  EXPECT_EQ(back->port, 8000);
  EXPECT_EQ(back->base_path, zone->base_path);
}

TEST(LiveModelConfig, ReadsTheReferenceFormat) {
  auto c = parse_model_config(R"({
    "Qwen/Qwen3-32B-FP8": [{"ip_addr": "10.0.0.5", "port": 8001}, {"ip_addr": "10.0.0.6", "port": "8001"}],
    "gpt-oss-20b-served": [{"ip_addr": "http://10.0.0.7", "port": 8002}],
    "oss_expert_mapping": {"openai/gpt-oss-20b": "gpt-oss-20b-served"}
  })",
                              "test.json");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->models.size(), 2u);
  EXPECT_EQ(c->models.at("Qwen/Qwen3-32B-FP8").size(), 2u);
  EXPECT_EQ(c->models.at("Qwen/Qwen3-32B-FP8")[1].port, 8001);
  EXPECT_EQ(c->models.at("gpt-oss-20b-served")[0].host, "10.0.0.7");
  EXPECT_EQ(c->served_model("Qwen/Qwen3-32B-FP8"), "Qwen/Qwen3-32B-FP8");
  EXPECT_EQ(c->served_model("openai/gpt-oss-20b"), "gpt-oss-20b-served");
  EXPECT_EQ(c->served_model("gpt-5"), "");  // stays a simulated wait
}

TEST(LiveModelConfig, RejectsBadInputNamingIt) {
  auto check = [](const char* text, const char* needle) {
    auto c = parse_model_config(text, "cfg.json");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message.find(needle), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("cfg.json"), std::string::npos) << c.error().message;
  };
  check("{not json", "invalid JSON");
  check("[]", "object");
  check(R"({"m": {"ip_addr": "a", "port": 1}})", "'m'");
  check(R"({"m": [{"port": 1}]})", "m[0]: ip_addr");
  check(R"({"m": [{"ip_addr": "a", "port": true}]})", "port");
  check(R"({"m": [{"ip_addr": "a", "port": 70000}]})", "invalid port");
  check(R"({"m": []})", "empty");
  check(R"({"m": [{"ip_addr": "a", "port": 1}], "oss_expert_mapping": {"x": "y"}})",
        "does not list");
  check(R"({"oss_expert_mapping": {"x": 3}})", "oss_expert_mapping.x");
}

// Found while writing fuzz/model_config: ip_addr and port were joined as text and parsed as
// one URL, so a port in ip_addr became part of the host and a path in either was taken as the
// endpoint's base path (port "8001/x" silently became port 8001 with path /x).
TEST(LiveModelConfig, KeepsHostAndPortApart) {
  auto check = [](const char* text, const char* needle) {
    auto c = parse_model_config(text, "cfg.json");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message.find(needle), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().message.rfind("cfg.json: m[0]", 0), 0u) << c.error().message;
  };
  check(R"({"m": [{"ip_addr": "10.0.0.5:9000", "port": 8001}]})", "without a port");
  check(R"({"m": [{"ip_addr": "10.0.0.5/v1", "port": 8001}]})", "no path");
  check(R"({"m": [{"ip_addr": "https://10.0.0.5", "port": 8001}]})", "no other scheme");
  check(R"({"m": [{"ip_addr": "[::1]:9000", "port": 8001}]})", "without a port");
  check(R"({"m": [{"ip_addr": "10.0.0.5", "port": "8001/x"}]})", "invalid port '8001/x'");
  check(R"({"m": [{"ip_addr": "10.0.0.5", "port": 8001.5}]})", "expected an integer");

  auto v6 = parse_model_config(
      R"({"m": [{"ip_addr": "::1", "port": 8001}, {"ip_addr": "[::1]", "port": "8002"}]})",
      "cfg.json");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->models.at("m")[0].host, "::1");
  EXPECT_EQ(v6->models.at("m")[0].url(), "http://[::1]:8001");
  EXPECT_EQ(v6->models.at("m")[1].port, 8002);
}

TEST(LiveExperimentConfig, ReadsEveryKey) {
  auto c = parse_experiment_config(R"(
mode = "live"
systems = ["baseline", "continuum"]
concurrency = [32, 64]
out = "runs/live"
workload = "tau2"
seed = 7
max_programs = 30
arrivals = "0.05:600,0.1:600"
profile = "h100-qwen3-8b"
threshold = 65.0
force = true
plots = false
time_scale = 20
host = "127.0.0.1"
base_port = 18000
backends = 2
[params]
"thunderreact.budget" = 0
pause_target = 0.9
[engine]
command = "vllm serve Qwen/Qwen3-8B --port {port} --scheduling-policy {policy}"
ready_timeout_s = 900
stop_grace_s = 5
[router]
command = "my-router --port {port} {backend_args}"
[sampler]
interval_s = 2.5
[driver]
model_config = "models.json"
max_attempts = 3
request_timeout_s = 1200
extra_args = "--user-model gpt-4o"
)",
                                   "exp.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->mode, "live");
  EXPECT_EQ(c->systems, (std::vector<std::string>{"baseline", "continuum"}));
  EXPECT_EQ(c->concurrency, (std::vector<int>{32, 64}));
  EXPECT_EQ(c->out, fs::path("runs/live"));
  EXPECT_EQ(c->seed, 7u);
  EXPECT_EQ(c->max_programs, 30);
  EXPECT_EQ(c->arrivals, "0.05:600,0.1:600");
  EXPECT_EQ(c->profile, "h100-qwen3-8b");
  EXPECT_DOUBLE_EQ(c->threshold, 65.0);
  EXPECT_TRUE(c->force);
  EXPECT_FALSE(c->plots);
  EXPECT_DOUBLE_EQ(c->time_scale, 20.0);  // an integer is accepted for a float
  EXPECT_EQ(c->base_port, 18000);
  EXPECT_EQ(c->backends, 2);
  EXPECT_EQ(c->gateway_params.at("thunderreact.budget"), 0.0);
  EXPECT_EQ(c->gateway_params.at("pause_target"), 0.9);
  EXPECT_FALSE(c->engine_command_is_emulator);
  EXPECT_DOUBLE_EQ(c->ready_timeout_s, 900);
  EXPECT_DOUBLE_EQ(c->stop_grace_s, 5);
  EXPECT_EQ(c->router_command, "my-router --port {port} {backend_args}");
  EXPECT_DOUBLE_EQ(c->sample_interval_s, 2.5);
  EXPECT_EQ(c->model_config, "models.json");
  EXPECT_EQ(c->max_attempts, 3);
  EXPECT_DOUBLE_EQ(c->request_timeout_s, 1200);
  EXPECT_EQ(c->extra_driver_args, "--user-model gpt-4o");

  auto defaults = parse_experiment_config("", "empty.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->mode, "sim");
  EXPECT_TRUE(defaults->engine_command_is_emulator);
  EXPECT_EQ(defaults->max_attempts, 5);
}

TEST(LiveExperimentConfig, RejectsTyposAndBadValues) {
  auto check = [](const char* text, const char* needle) {
    auto c = parse_experiment_config(text, "exp.toml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message.find(needle), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().message.rfind("exp.toml", 0), 0u) << c.error().message;
  };
  check("concurency = [32]", "unknown key 'concurency'");
  check("[engine]\ncmd = \"x\"", "unknown key 'engine.cmd'");
  check("mode = \"real\"", "'mode'");
  check("systems = \"baseline\"", "'systems' must be an array");
  check("concurrency = [0]", "positive integers");
  check("concurrency = [\"32\"]", "positive integers");
  check("time_scale = \"fast\"", "'time_scale' must be a number");
  check("time_scale = 0", "'time_scale' must be positive");
  check("seed = -1", "non-negative integer");
  check("base_port = 70000", "base_port");
  check("engine = 3", "'engine' must be a table");
  check("[params]\nbudget = \"all\"", "'params.budget' must be a number");
  check("[driver]\nmax_attempts = 0", "max_attempts");
  check("mode = ", "exp.toml:1");
}

// Integers past the field's range used to wrap (base_port = 2^32 + 8000 ran on port 8000) and
// NaN or infinite numbers were taken as given ([params] accepted what --param refuses).
TEST(LiveExperimentConfig, RefusesWrappingIntegersAndNonFiniteNumbers) {
  auto check = [](const char* text, const char* needle) {
    auto c = parse_experiment_config(text, "exp.toml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message.find(needle), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().message.rfind("exp.toml", 0), 0u) << c.error().message;
  };
  check("base_port = 4294975296", "'base_port' must be a non-negative integer (at most 65535)");
  check("max_programs = 4294967297", "'max_programs'");
  check("backends = 4294967297", "'backends'");
  check("time_scale = inf", "'time_scale' must be a finite number");
  check("threshold = nan", "'threshold' must be a finite number");
  check("[params]\nbudget = nan", "'params.budget' must be a finite number");
  check("[engine]\nready_timeout_s = -1.0", "'engine.ready_timeout_s' must be positive");
  check("[engine]\nstop_grace_s = -1.0", "'engine.stop_grace_s'");
  check("[driver]\nrequest_timeout_s = -1.0", "'driver.request_timeout_s'");
  auto top = parse_experiment_config("base_port = 65535", "exp.toml");
  ASSERT_TRUE(top.ok()) << top.error().message;
  EXPECT_EQ(top->base_port, 65535);
}

// std::stod threw out of read_sim_run on a number it could not read.
TEST(LiveReplay, ReadSimRunReportsBadNumbersInsteadOfThrowing) {
  const fs::path dir = temp_dir("simrun");
  {
    std::ofstream log(dir / "driver.log");
    log << "[2026-01-05 10:00:00] Global evaluation complete: ok=1 error=0 total=1 "
           "elapsed_s=. tasks_per_min=1.00\n";
  }
  Result<RunSeries> r = make_error("not run");
  EXPECT_NO_THROW(r = read_sim_run(dir));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("driver.log:1: bad elapsed_s '.'"), std::string::npos)
      << r.error().message;
  fs::remove_all(dir);
}

TEST(LiveExperiment, ExpandsTemplates) {
  const std::map<std::string, std::string> values = {{"port", "8000"}, {"policy", "fcfs"}};
  auto s = expand_template("vllm serve m --port {port} --scheduling-policy {policy} {{x}}", values);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(*s, "vllm serve m --port 8000 --scheduling-policy fcfs {x}");
  auto bad = expand_template("x --gpu {gpu}", values);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("{gpu}"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("known: policy, port"), std::string::npos);
  EXPECT_FALSE(expand_template("x {port", values).ok());
}

TEST(LiveExperiment, SplitsCommandLines) {
  auto w = split_command_line(R"(--a 'b c' "d \"e\"" f\ g  )");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"--a", "b c", "d \"e\"", "f g"}));
  EXPECT_FALSE(split_command_line("'open").ok());
  EXPECT_TRUE(split_command_line("")->empty());
}

TEST(LiveExperiment, FinishedCellsAndClearing) {
  const fs::path dir = temp_dir("cell");
  EXPECT_FALSE(cell_finished(dir));
  fs::create_directories(dir / "outputs");
  std::ofstream(dir / "driver.log") << "[2026-01-05 10:00:00] Scheduling mode: global\n";
  std::ofstream(dir / "outputs/metrics_global.json") << "{}\n";
  EXPECT_FALSE(cell_finished(dir));  // no closing line: an interrupted run
  std::ofstream(dir / "driver.log", std::ios::app)
      << "[2026-01-05 11:00:00] Global evaluation complete: ok=1 error=0 total=1 elapsed_s=1.0 "
         "tasks_per_min=60.00\n";
  EXPECT_TRUE(cell_finished(dir));
  std::ofstream(dir / "keep.txt") << "not a run file\n";
  ASSERT_TRUE(clear_cell(dir).ok());
  EXPECT_FALSE(fs::exists(dir / "driver.log"));
  EXPECT_FALSE(fs::exists(dir / "outputs"));
  EXPECT_TRUE(fs::exists(dir / "keep.txt"));
  fs::remove_all(dir);
}

TEST(LiveHttp, ClassifiesFailures) {
  // No reply at all: retry.
  Result<http::ClientResponse> refused = make_error("connect 127.0.0.1:1: Connection refused");
  EXPECT_TRUE(classify_failure(refused).transient);
  auto reply = [](int status, std::string body) {
    http::ClientResponse r;
    r.status = status;
    r.body = std::move(body);
    return Result<http::ClientResponse>(std::move(r));
  };
  for (int status : {408, 429, 500, 502, 503, 504})
    EXPECT_TRUE(classify_failure(reply(status, "{}")).transient) << status;
  // The reference's endless retry: a context-length error can never succeed.
  const auto ctx = classify_failure(
      reply(400, R"({"object":"error","message":"This model's maximum context length is 40960 )"
                 R"(tokens. However, you requested 50000 tokens","type":"BadRequestError"})"));
  EXPECT_FALSE(ctx.transient);
  EXPECT_NE(ctx.reason.find("context length exceeded"), std::string::npos) << ctx.reason;
  EXPECT_NE(ctx.reason.find("40960"), std::string::npos) << ctx.reason;
  EXPECT_FALSE(classify_failure(reply(404, R"({"detail":"Not Found"})")).transient);
  EXPECT_EQ(classify_failure(reply(404, R"({"detail":"Not Found"})")).reason,
            "HTTP 404: Not Found");
  EXPECT_EQ(error_message_of(R"({"error":{"message":"bad\nthing"}})"), "bad thing");
  EXPECT_EQ(error_message_of("plain text"), "plain text");
  EXPECT_EQ(one_line(std::string(400, 'x'), 10), "xxxxxxxxxx...");
}

TEST(LiveDriver, RetryBackoffIsCappedAndDoubling) {
  RetryPolicy p;
  p.initial_backoff_s = 1;
  p.max_backoff_s = 5;
  EXPECT_DOUBLE_EQ(p.backoff_before(1), 0);
  EXPECT_DOUBLE_EQ(p.backoff_before(2), 1);
  EXPECT_DOUBLE_EQ(p.backoff_before(3), 2);
  EXPECT_DOUBLE_EQ(p.backoff_before(4), 4);
  EXPECT_DOUBLE_EQ(p.backoff_before(5), 5);
  EXPECT_DOUBLE_EQ(p.backoff_before(50), 5);
}

TEST(LiveDriver, SelectedMessagesAreWhatRenderHashes) {
  Conversation c(7, 5000, 23000);
  for (int i = 0; i < 60; ++i) {
    c.append(300 + 37 * (i % 11));
    const auto kept = c.selected_messages();
    const RenderedPrompt r = c.render(16);
    std::int64_t tokens = 0;
    for (std::size_t k : kept) tokens += c.message_tokens(k);
    EXPECT_EQ(tokens, r.tokens) << i;
    EXPECT_EQ(kept.front(), 0u);
    EXPECT_EQ(kept.back(), c.num_messages() - 1);  // the newest message is always kept
    EXPECT_EQ(r.cut, kept.size() < c.num_messages()) << i;
    if (r.cut) {
      EXPECT_EQ(kept[1], 1u);  // head and first message survive a cut
    }
  }
}

TEST(ScaledClock, EmulatedTimeRunsScaledFromTheOrigin) {
  ScaledClock now_origin(20);
  EXPECT_GE(now_origin.now(), 0);
  EXPECT_LT(now_origin.now(), 20.0);  // less than a real second has passed
  // An origin 10 real seconds ago reads 200 emulated seconds at scale 20.
  ScaledClock shared(20, now_origin.real_unix_now() - 10);
  EXPECT_NEAR(shared.now(), 200, 20);
  EXPECT_NEAR(shared.unix_now(), shared.origin_unix() + shared.now(), 1e-3);
  // Timers: emulated t maps back to real time at 1/scale.
  const auto d = shared.real_duration(20);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(d).count(), 1000);
  EXPECT_THROW(ScaledClock(0), std::invalid_argument);
}

TEST(LiveSampler, RowsFromVllmAndOlderAndSglangMetrics) {
  const std::string vllm = test_fixtures::read("metrics/vllm-0.9.2.txt");
  ASSERT_FALSE(vllm.empty());
  const auto rows = kv_rows_from_metrics(vllm);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].metric, R"(vllm:kv_cache_usage_perc{engine="0";model_name="zai-org/GLM-4.5"})");
  EXPECT_NEAR(rows[0].value, 9.75010481363281e-06, 1e-18);
  for (const auto& r : rows) EXPECT_EQ(r.metric.find(','), std::string::npos) << r.metric;

  const auto old = kv_rows_from_metrics(
      "# TYPE vllm:gpu_cache_usage_perc gauge\n"
      "vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.25\n");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].metric, R"(vllm:gpu_cache_usage_perc{model_name="m"})");
  const auto sglang = kv_rows_from_metrics(test_fixtures::read("metrics/sglang.txt"));
  ASSERT_FALSE(sglang.empty());
  EXPECT_EQ(sglang[0].metric.rfind("sglang:token_usage", 0), 0u);
  EXPECT_TRUE(kv_rows_from_metrics("garbage\n").empty());
}

TEST(LiveSampler, OwnsItsFileAndRefusesAnotherRunsSamples) {
  const fs::path dir = temp_dir("sampler");
  const fs::path csv = dir / "kv.csv";
  auto fd = open_sample_file(csv, false);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  EXPECT_TRUE(sample_file_in_use(csv));
  // A second sampler can never share the file, not even forced.
  auto second = open_sample_file(csv, true);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("another sampler"), std::string::npos);
  ASSERT_EQ(
      ::write(*fd, "2026-01-05T10:00:00+00:00,1767607200,8000,vllm:kv_cache_usage_perc,0.5\n", 72),
      72);
  ::close(*fd);
  EXPECT_FALSE(sample_file_in_use(csv));
  // The file now holds a finished run's samples: refused unless forced.
  auto again = open_sample_file(csv, false);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already holds KV samples"), std::string::npos);
  auto forced = open_sample_file(csv, true);
  ASSERT_TRUE(forced.ok());
  ::close(*forced);
  EXPECT_EQ(read_file(csv), "ts_iso,ts_unix,port,metric,value\n");
  // A header-only file (a sampler that never sampled) is taken over without --force.
  auto reuse = open_sample_file(csv, false);
  ASSERT_TRUE(reuse.ok());
  ::close(*reuse);
  EXPECT_FALSE(sample_file_in_use(dir / "missing.csv"));
  fs::remove_all(dir);
}

TEST(LiveSampler, ParsesPortLists) {
  auto p = parse_port_list("8000,8001");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<std::uint16_t>{8000, 8001}));
  EXPECT_FALSE(parse_port_list("").ok());
  EXPECT_FALSE(parse_port_list("8000,").ok());
  EXPECT_FALSE(parse_port_list("80x").ok());
  EXPECT_FALSE(parse_port_list("0").ok());
}

TEST(LiveProcess, PortsAndChildren) {
  auto port = pick_free_port("127.0.0.1");
  ASSERT_TRUE(port.ok()) << port.error().message;
  EXPECT_TRUE(port_is_free("127.0.0.1", *port));
  const fs::path dir = temp_dir("child");
  auto child = Child::start(
      {"echo", {"/bin/sh", "-c", "echo hello from child; exit 3"}, false, dir / "echo.log"});
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ((*child)->wait_for(30), 3);
  EXPECT_EQ((*child)->log_tail(), "hello from child\n");
  // A template runs through the shell.
  auto shell = Child::start({"t", {"echo $((6 * 7))"}, true, dir / "t.log"});
  ASSERT_TRUE(shell.ok());
  EXPECT_EQ((*shell)->wait_for(30), 0);
  EXPECT_EQ((*shell)->log_tail(), "42\n");
  // A child that ignores SIGTERM is killed after the grace period (once its trap is set).
  auto stubborn = Child::start(
      {"stubborn", {"trap '' TERM; echo ready; while :; do sleep 1; done"}, true, dir / "s.log"});
  ASSERT_TRUE(stubborn.ok());
  for (int i = 0; i < 1500 && (*stubborn)->log_tail() != "ready\n"; ++i)
    (*stubborn)->wait_for(0.02);
  ASSERT_EQ((*stubborn)->log_tail(), "ready\n");
  const auto stopped = (*stubborn)->stop(0.3);
  EXPECT_TRUE(stopped.forced);
  EXPECT_EQ(stopped.status, 128 + SIGKILL);
  auto missing = Child::start({"missing", {"/no/such/binary"}, false, dir / "m.log"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ((*missing)->wait_for(30), 127);
  EXPECT_NE((*missing)->log_tail().find("exec failed"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsched::serve
