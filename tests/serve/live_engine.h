#pragma once
// An engine emulator in-process on its own io_context thread, for tests.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "emulator/engine_server.h"
#include "http/client.h"
#include "http/prometheus.h"
#include "http/vllm_metrics.h"

namespace agentsched::serve {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

// Tests run the emulated GPU 200 times faster than real time unless they need otherwise.
inline EngineServerOptions fast() {
  EngineServerOptions o;
  o.time_scale = 200;
  return o;
}

// One emulator on its own io_context thread.
class LiveEngine {
 public:
  explicit LiveEngine(EngineServerOptions o = fast()) {
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<EngineServer>(io_, o);
    auto st = server_->start();
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
    port_ = server_->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LiveEngine() { stop(); }

  // Graceful shutdown; returns once io_context::run() has returned.
  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] { server_->shutdown(); });
    thread_.join();
  }
  void shutdown_async() {
    asio::post(io_, [this] { server_->shutdown(); });
  }
  bool join_for(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!io_.stopped() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);  // waiting on another thread's run() to return
    if (!io_.stopped()) return false;
    thread_.join();
    return true;
  }

  std::uint16_t port() const { return port_; }
  // Runs `f` on the engine's event loop (e.g. to keep it busy, as a loaded machine would).
  void post_to_loop(std::function<void()> f) { asio::post(io_, std::move(f)); }

  Result<http::ClientResponse> get(std::string_view target) {
    return http::fetch("127.0.0.1", port_, "GET", target, {}, {}, 30);
  }
  Result<http::ClientResponse> post(std::string_view target, std::string_view body) {
    return http::fetch("127.0.0.1", port_, "POST", target, body, {}, 60);
  }
  json::object chat(const std::string& body) {
    auto r = post("/v1/chat/completions", body);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body).as_object();
  }
  http::PrometheusText metrics_text() {
    auto r = get("/metrics");
    EXPECT_TRUE(r.ok() && r->status == 200);
    return http::parse_prometheus_text(r.ok() ? r->body : "");
  }
  BackendMetrics metrics() {
    auto m = http::backend_metrics_from_vllm(metrics_text());
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : BackendMetrics{};
  }
  double metric(std::string_view name, std::string_view reason = "") {
    const auto t = metrics_text();
    for (const auto* s : http::find_samples(t, name))
      if (reason.empty() || s->label("finished_reason") == reason) return s->value;
    ADD_FAILURE() << "no metric " << name;
    return -1;
  }
  // Polls /metrics until `pred` holds (bounded): for effects that follow a client's action
  // on the server's own time (an abort after a hang-up, a pin's TTL).
  template <class Pred>
  bool wait_metrics(Pred pred, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(metrics())) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  // Waits (bounded) until nothing runs or waits and the KV usage is back to `idle`'s: an
  // aborted or finished request has given back all its blocks.
  bool wait_back_to_idle(const BackendMetrics& idle, std::chrono::milliseconds limit = 10s) {
    return wait_metrics(
        [&](const BackendMetrics& m) {
          return m.num_running == 0 && m.num_waiting == 0 && m.kv_usage == idle.kv_usage;
        },
        limit);
  }

 private:
  asio::io_context io_;
  std::unique_ptr<EngineServer> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace agentsched::serve
