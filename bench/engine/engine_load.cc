// Load generator for `agentsched engine` (or any OpenAI-compatible server): C concurrent
// streaming chat completions on loopback, each on its own keep-alive connection, until N
// requests are done. Reports errors, wall time, throughput and real-time latencies, and
// the engine's peak running/waiting/KV usage from /metrics polled during the run.
// Exit code 1 when any request failed.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <vector>

#include "http/client.h"
#include "http/fd_limit.h"
#include "http/prometheus.h"
#include "http/sse.h"
#include "http/vllm_metrics.h"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace agentsched;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int concurrency = 2000;
  int requests = 0;  // 0 = concurrency
  int prompt_bytes = 2000;
  int max_tokens = 64;
  double poll_s = 0.25;
  double limit_s = 600;
};

struct Stats {
  int ok = 0;
  std::map<std::string, int> errors;
  std::vector<double> ttft_s, e2e_s;
  std::int64_t tokens = 0;
  int in_flight = 0, peak_in_flight = 0;
  BackendMetrics peak;
  int next = 0;
  int done = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::string make_body(const Options& o, int i) {
  // Distinct prompts (no accidental prefix sharing across programs) of the requested size.
  std::string content = fmt::format("request {} ", i);
  while (static_cast<int>(content.size()) < o.prompt_bytes) content += "lorem ipsum dolor ";
  content.resize(static_cast<std::size_t>(o.prompt_bytes));
  json::object body{{"messages", json::array{json::object{{"role", "user"}, {"content", content}}}},
                    {"max_tokens", o.max_tokens},
                    {"ignore_eos", true},
                    {"stream", true},
                    {"stream_options", json::object{{"include_usage", true}}},
                    {"job_id", fmt::format("bench:{}", i)}};
  return json::serialize(body);
}

asio::awaitable<void> worker(const Options& o, Stats& s) {
  auto ex = co_await asio::this_coro::executor;
  http::HttpClient client(ex);
  while (s.next < o.requests) {
    const int i = s.next++;
    const std::string body = make_body(o, i);
    ++s.in_flight;
    s.peak_in_flight = std::max(s.peak_in_flight, s.in_flight);
    const auto start = Clock::now();
    double ttft = -1;
    std::int64_t usage_tokens = -1;
    bool done_event = false;
    std::string error;
    if (!client.is_open()) {
      if (auto st = co_await client.connect(o.host, o.port); !st) error = "connect";
    }
    if (error.empty()) {
      http::SseParser parser([&](std::string_view data) {
        if (data == "[DONE]") {
          done_event = true;
          return;
        }
        boost::system::error_code ec;
        auto v = json::parse(data, ec);
        if (ec || !v.is_object()) {
          error = "bad event";
          return;
        }
        const auto& o2 = v.as_object();
        if (const auto* u = o2.if_contains("usage"); u && u->is_object())
          usage_tokens = u->as_object().at("completion_tokens").to_number<std::int64_t>();
        if (ttft < 0 && o2.contains("choices") && !o2.at("choices").as_array().empty()) {
          const auto& delta = o2.at("choices").as_array()[0].as_object().at("delta").as_object();
          if (const auto* c = delta.if_contains("content");
              c && c->is_string() && !c->as_string().empty())
            ttft = std::chrono::duration<double>(Clock::now() - start).count();
        }
      });
      auto r = co_await client.stream("POST", "/v1/chat/completions", body, {},
                                      [&](std::string_view d) { parser.feed(d); });
      if (!r)
        error = "transport";
      else if (r->status != 200)
        error = fmt::format("status {}", r->status);
      else if (!done_event)
        error = "no [DONE]";
      else if (usage_tokens != o.max_tokens)
        error = "wrong token count";
    }
    --s.in_flight;
    ++s.done;
    if (error.empty()) {
      ++s.ok;
      s.tokens += usage_tokens;
      s.ttft_s.push_back(ttft);
      s.e2e_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    } else {
      ++s.errors[error];
      client.close();
    }
  }
}

asio::awaitable<void> poll_metrics(const Options& o, Stats& s) {
  auto ex = co_await asio::this_coro::executor;
  http::HttpClient client(ex);
  asio::steady_timer timer(ex);
  while (s.done < o.requests) {
    if (!client.is_open()) (void)co_await client.connect(o.host, o.port);
    auto r = co_await client.request("GET", "/metrics");
    if (r && r->status == 200) {
      if (auto m = http::backend_metrics_from_vllm(http::parse_prometheus_text(r->body))) {
        s.peak.num_running = std::max(s.peak.num_running, m->num_running);
        s.peak.num_waiting = std::max(s.peak.num_waiting, m->num_waiting);
        s.peak.kv_usage = std::max(s.peak.kv_usage, m->kv_usage);
        s.peak.num_preemptions = m->num_preemptions;
      }
    }
    timer.expires_after(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.poll_s)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Streaming load against an OpenAI-compatible endpoint (agentsched engine)"};
  app.add_option("--host", o.host)->capture_default_str();
  app.add_option("--port", o.port)->required();
  app.add_option("--concurrency", o.concurrency, "Requests in flight at once")
      ->capture_default_str();
  app.add_option("--requests", o.requests, "Total requests (default: the concurrency)");
  app.add_option("--prompt-bytes", o.prompt_bytes, "Prompt size (4 bytes per emulated token)")
      ->capture_default_str();
  app.add_option("--max-tokens", o.max_tokens, "Output tokens per request (exact, ignore_eos)")
      ->capture_default_str();
  app.add_option("--limit", o.limit_s, "Give up after this many real seconds")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.requests <= 0) o.requests = o.concurrency;

  const auto fds = http::raise_fd_limit();
  if (fds < static_cast<std::uint64_t>(o.concurrency) + 64)
    fmt::print(stderr, "warning: fd limit {} is below the concurrency\n", fds);
  asio::io_context io(1);
  Stats s;
  const auto start = Clock::now();
  for (int i = 0; i < o.concurrency; ++i) asio::co_spawn(io, worker(o, s), asio::detached);
  asio::co_spawn(io, poll_metrics(o, s), asio::detached);
  io.run_for(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.limit_s)));
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  const int unfinished = o.requests - s.done;
  if (unfinished > 0) s.errors["unfinished at --limit"] += unfinished;
  int errors = 0;
  for (const auto& [k, n] : s.errors) errors += n;
  fmt::print("requests      {} ok, {} errors (concurrency {}, prompt {} B, {} output tokens)\n",
             s.ok, errors, o.concurrency, o.prompt_bytes, o.max_tokens);
  for (const auto& [k, n] : s.errors) fmt::print("  error       {}: {}\n", k, n);
  fmt::print("wall          {:.2f} s real; {:.1f} requests/s, {:.0f} streamed tokens/s\n", wall,
             s.ok / wall, static_cast<double>(s.tokens) / wall);
  fmt::print(
      "peak          {} client streams open; engine running {}, waiting {}, KV usage {:.3f}, "
      "preemptions {}\n",
      s.peak_in_flight, s.peak.num_running, s.peak.num_waiting, s.peak.kv_usage,
      s.peak.num_preemptions);
  fmt::print("ttft real s   p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n",
             percentile(s.ttft_s, 0.5), percentile(s.ttft_s, 0.9), percentile(s.ttft_s, 0.99),
             percentile(s.ttft_s, 1.0));
  fmt::print("e2e real s    p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n",
             percentile(s.e2e_s, 0.5), percentile(s.e2e_s, 0.9), percentile(s.e2e_s, 0.99),
             percentile(s.e2e_s, 1.0));
  return errors == 0 ? 0 : 1;
}
