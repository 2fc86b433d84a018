// `agentsched engine` as a real process: announced port, curl, the official openai npm
// client, SIGTERM.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <string>

#include "serve/child_process.h"

namespace agentsched::serve {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::run_shell;

class EngineProcess {
 public:
  explicit EngineProcess(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {AGENTSCHED_BINARY, "engine", "--port", "0",
                                     "--time-scale",    "200"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<ChildProcess>(argv);
    auto line = child_->read_line(30s);
    const std::string prefix = "listening on 127.0.0.1:";
    if (line && line->rfind(prefix, 0) == 0) port_ = std::stoi(line->substr(prefix.size()));
  }
  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  ChildProcess& child() { return *child_; }

 private:
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

TEST(EngineProcess, AnnouncesPortAndStopsCleanlyOnSigterm) {
  EngineProcess e;
  ASSERT_GT(e.port(), 0);
  e.child().signal(SIGTERM);
  EXPECT_EQ(e.child().wait(20s), 0);
}

TEST(EngineProcess, BadConfigurationFailsFast) {
  ChildProcess child({AGENTSCHED_BINARY, "engine", "--port", "0", "--profile", "no-such-gpu"});
  EXPECT_EQ(child.wait(20s), 1);
}

TEST(EngineProcess, CurlConformance) {
  if (!testing::have_command("curl"))
    GTEST_SKIP() << "curl is not installed (scripts/setup.sh installs it)";
  EngineProcess e;
  ASSERT_GT(e.port(), 0);
  auto [rc, models] = run_shell("curl -sS " + e.url("/v1/models"));
  ASSERT_EQ(rc, 0) << models;
  EXPECT_NE(models.find("\"object\":\"list\""), std::string::npos);

  auto [rc2, out] =
      run_shell("curl -sS -H 'Content-Type: application/json' " + e.url("/v1/chat/completions") +
                " -d '{\"messages\":[{\"role\":\"user\",\"content\":\"hello from curl\"}],"
                "\"max_tokens\":7,\"ignore_eos\":true}'");
  ASSERT_EQ(rc2, 0) << out;
  EXPECT_NE(out.find("\"completion_tokens\":7"), std::string::npos) << out;
  EXPECT_NE(out.find("\"prompt_tokens\":4"), std::string::npos) << out;

  auto [rc3, sse] = run_shell(
      "curl -sS -N " + e.url("/v1/chat/completions") +
      " -d '{\"messages\":[{\"role\":\"user\",\"content\":\"stream\"}],\"max_tokens\":5,"
      "\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}'");
  ASSERT_EQ(rc3, 0) << sse;
  EXPECT_EQ(sse.rfind("data: {", 0), 0u) << sse;
  EXPECT_NE(sse.find("\"finish_reason\":\"length\""), std::string::npos) << sse;
  EXPECT_NE(sse.find("\"completion_tokens\":5"), std::string::npos) << sse;
  EXPECT_NE(sse.find("data: [DONE]\n\n"), std::string::npos) << sse;

  auto [rc4, err] = run_shell("curl -sS -o /dev/null -w '%{http_code}' " +
                              e.url("/v1/chat/completions") + " -d '{broken'");
  EXPECT_EQ(err, "400");
  auto [rc5, nf] = run_shell("curl -sS -o /dev/null -w '%{http_code}' " + e.url("/nope"));
  EXPECT_EQ(nf, "404");
  auto [rc6, metrics] = run_shell("curl -sS " + e.url("/metrics"));
  EXPECT_NE(metrics.find("# TYPE vllm:kv_cache_usage_perc gauge\n"), std::string::npos);
  EXPECT_NE(metrics.find("vllm:prefix_cache_queries_total{engine=\"0\",model_name=\"Qwen3-8B\"} "),
            std::string::npos);

  e.child().signal(SIGTERM);
  EXPECT_EQ(e.child().wait(20s), 0);
}

TEST(EngineProcess, OpenAiNpmClientConformance) {
  if (!testing::have_command("node"))
    GTEST_SKIP() << "node is not installed (scripts/setup.sh installs it)";
  const std::string dir = std::string(AGENTSCHED_SOURCE_DIR) + "/tests/node";
  struct stat st {};
  ASSERT_EQ(stat((dir + "/node_modules/openai/package.json").c_str(), &st), 0)
      << "the openai npm package is missing: run scripts/setup.sh (npm ci in tests/node)";
  EngineProcess e;
  ASSERT_GT(e.port(), 0);
  auto [rc, out] = run_shell("node " + dir + "/openai_conformance.mjs " + e.url("/v1"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(" passed, 0 failed"), std::string::npos) << out;
  e.child().signal(SIGTERM);
  EXPECT_EQ(e.child().wait(20s), 0);
}

}  // namespace
}  // namespace agentsched::serve
