#pragma once
// `agentsched router`: the program-aware, OpenAI-compatible gateway in front of one or more
// vLLM or SGLang engines. It runs the simulator's Gateway object (program table + policy)
// on the router clock (scaled steady time, core/clock.h) and is its GatewayDriver: a call
// arrives -> Gateway::submit -> the policy forwards it now or holds it -> forward(call, backend)
// starts the upstream request -> the response is relayed to the client chunk by chunk as it
// arrives, its usage read on the way -> Gateway::complete. Backends' /metrics are polled into
// Gateway::update_metrics; Gateway::next_timer() drives a ClockTimer; Gateway::release runs
// on POST /programs/release, on a held call whose client hangs up, and on idle TTL.
//
// Everything runs on one io_context thread: the Gateway is single-threaded by design, and
// the proxy path is written to need no more (no per-request JSON parse of the body, no copy
// of it, keep-alive upstream connections). docs/router.md has the details; router_impl.h
// lists the parts (listener and connections, upstream, relay, admin API, metrics, health,
// housekeeping, the gateway glue) and where each lives.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "gateway/policies.h"

namespace boost::asio {
class io_context;
}

namespace agentsched {
class Clock;
}

namespace agentsched::serve {

enum class BackendType { kVllm, kSglang };

struct RouterOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;          // 0 picks a free port; the bound one is announced
  std::vector<std::string> backends;  // http://HOST:PORT base URLs
  BackendType backend_type = BackendType::kVllm;
  std::string policy = "passthrough";
  PolicyParams policy_params;
  double metrics_interval_s = 0.5;  // /metrics polling period, router clock
  double time_scale = 1.0;          // emulated seconds per real second (ScaledClock)
  // The router clock, which the policy reads and its timer waits on; null: an owned
  // ScaledClock of time_scale. Tests bring a VirtualClock (core/clock.h) and advance it on the
  // io_context's thread.
  const Clock* clock = nullptr;
  double program_ttl_s = 3600;           // release programs idle this long (router clock); 0: never
  std::string profile_dir;               // calls.csv + programs.csv; "" = none
  std::size_t profile_calls_kept = 256;  // call records kept in memory per live program
  // When set, state-changing management endpoints (POST /programs/release) need
  // `Authorization: Bearer <admin_token>` (401 otherwise); "" leaves them open. Read-only
  // endpoints and proxied calls never need it (http/admin_token.h).
  std::string admin_token;

  // Limits. Times in real seconds.
  std::size_t max_body_bytes = 32u << 20;
  std::size_t max_header_bytes = 64u << 10;
  double header_timeout_s = 10;  // a request head must arrive within this
  double body_timeout_s = 60;    // the whole request within this
  double idle_timeout_s = 300;   // keep-alive client connections idle longer are closed
  std::size_t max_connections = 16384;
  double connect_timeout_s = 3;   // to a backend; exceeded = backend down
  double poll_timeout_s = 2;      // of a /metrics poll; exceeded = backend down
  double upstream_timeout_s = 0;  // whole backend response; 0 = none (LLM calls can be long)
  double shutdown_timeout_s = 10;
};

Result<BackendType> parse_backend_type(std::string_view name);

class Router {
 public:
  // Validates the options, builds the policy and resolves the backends; throws
  // std::runtime_error naming the bad option.
  Router(boost::asio::io_context& io, RouterOptions options);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Binds, listens, starts accepting and polling.
  Status start();
  std::uint16_t port() const;
  // Stops accepting; held calls are answered 503; calls in flight get shutdown_timeout_s to
  // finish; profiles of live programs are written; then every socket and timer is closed (so
  // io_context::run() returns) and `on_done` runs.
  void shutdown(std::function<void()> on_done = {});

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The `agentsched router` process: raises the descriptor limit, serves until SIGTERM or
// SIGINT, shuts down gracefully. Prints `listening on HOST:PORT` on stdout once bound.
int run_router(const RouterOptions& options);

}  // namespace agentsched::serve
