#pragma once
// Inside `agentsched router` (router.h): the state its parts share and the parts' entry
// points. Each part lives in its own file:
//
//   router.cc          options, setup, start, the Router handle and the process (run_router)
//   connections.cc     the HTTP/1 server side: the router's hooks into the shared server engine
//                      (http/server_core.h), routing, local responses
//   upstream_calls.cc  upstream attempts on pooled connections (http/upstream.h), retries
//   relay_io.cc        relaying a backend's response (streaming SSE and unary) to the client
//   gateway_glue.cc    the program-aware part: Gateway submit/forward/complete/release
//   health_check.cc    /metrics polling and the backends' up/down state (backend_health.h)
//   housekeeping.cc    timeouts, idle programs, profile flush, graceful shutdown
//
// and the logic without sockets in admin_api, metrics, relay, responses and backend_health,
// which have unit tests of their own. Everything runs on one io_context thread.
#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "gateway/gateway.h"
#include "gateway/health_aware.h"
#include "http/byte_buffer.h"
#include "http/client.h"
#include "http/clock_timer.h"
#include "http/http1_parse.h"
#include "http/json_scan.h"
#include "http/listener.h"
#include "http/server_core.h"
#include "http/sse.h"
#include "http/upstream.h"
#include "record/router_profile.h"
#include "router/admin_api.h"
#include "router/backend_health.h"
#include "router/metrics.h"
#include "router/relay.h"
#include "router/router.h"

namespace agentsched::serve {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;
using http::BufferPool;
using http::ByteBuffer;

inline SteadyTime steady_now() {
  return std::chrono::steady_clock::now();
}

inline double seconds_between(SteadyTime a, SteadyTime b) {
  return std::chrono::duration<double>(b - a).count();
}

inline std::chrono::steady_clock::duration real_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::max(0.0, seconds)));
}

struct Call;
using CallPtr = std::shared_ptr<Call>;

struct Backend {
  BackendStatus status;
  std::string host_header;
  tcp::endpoint endpoint;
  http::UpstreamPool pool;
};

// A client connection of the shared server engine; its `exchange` is the Call in progress.
using ConnPtr = http::ServerConnPtr;

enum class CallKind { kLocal, kPlain, kGateway };
enum class Phase { kNew, kHeld, kForwarded, kUpstream, kDone };

struct Call : std::enable_shared_from_this<Call> {
  ConnPtr client;
  ByteBuffer request;  // head + body as the client sent them
  http::MessageHead head;
  std::string owned_body;  // a de-chunked body
  std::string_view body;
  bool keep_alive = true;
  std::string out;                // a local response
  const char* route = "invalid";  // for metrics: chat_completions, completions, models, ...
  CallKind kind = CallKind::kLocal;
  Phase phase = Phase::kNew;
  bool finished = false;  // outcome recorded (gateway told, profile written)
  int status = 0;         // sent to the client

  // Gateway calls.
  RequestId id = 0;
  std::string program_id;
  bool anonymous = false;
  bool is_last_step = false;
  bool stream = false;
  std::optional<http::BodyEdit> edit;  // include_usage added for the policy
  bool in_submit = false;
  bool forwarded_now = false;  // forward() came inside submit()
  std::int64_t call_index = 0;
  Seconds gap_s = -1;
  bool forwarded = false;
  Seconds held_since = 0;  // router clock, while Phase::kHeld
  Seconds held_s = 0;      // summed over holds (a retry may be held again)

  // Upstream attempt.
  BackendIndex backend = 0;
  int attempts = 0;  // backends tried (a stale keep-alive connection does not count)
  bool stale_retry_used = false;
  bool retried = false;
  bool force_fresh = false;
  std::uint64_t gen = 0;  // bumped per attempt: handlers of an old attempt see a new gen
  std::unique_ptr<http::UpstreamConnection> up;
  SteadyTime connect_started{};
  bool connecting = false;

  // Response relay.
  http::MessageHead rhead;
  ResponsePlan plan;
  BodyReader body_reader;
  bool head_sent = false;  // some response byte went to the client
  bool got_response_byte = false;
  http::UsageScanner usage;
  http::UsageEventFilter sse_filter;  // usage stripping only
  std::string sse_out;
  std::string whead;  // response head for the client
  std::vector<std::string_view> pieces;
  std::vector<asio::const_buffer> wbufs;
  char chunk_size[24];

  // Times: router clock for profiles, real time for the router's own latency.
  Seconds arrived = 0, forwarded_at = 0, sent_at = 0, first_byte_at = 0, last_byte_at = 0;
  SteadyTime t_arrive{}, t_submitted{}, t_forward{}, t_up_start{}, t_up_end{};
  bool was_held = false;

  // Intrusive list of calls in progress (for timeouts).
  Call* prev = nullptr;
  Call* next = nullptr;
  bool linked = false;

  // Closes the upstream connection of this attempt (how an engine learns to abort) and makes
  // the attempt's pending handlers stale.
  void drop_upstream() {
    if (up) {
      up->close();
      up.reset();
    }
    ++gen;
  }
};

struct Router::Impl : GatewayDriver, AdminHost, std::enable_shared_from_this<Router::Impl> {
  Impl(asio::io_context& io_, RouterOptions o);

  asio::io_context& io;
  RouterOptions opt;
  std::unique_ptr<Clock> own_clock;  // unless the options bring a clock
  const Clock* clock = nullptr;      // the router clock: policy times, holds, TTLs
  std::vector<Backend> backends;
  std::unique_ptr<Gateway> gw;
  HealthAwarePlacement* placement = nullptr;
  http::Listener listener;
  std::shared_ptr<http::ServerCore> server;  // the client connections
  std::optional<ClockTimer> policy_timer;    // the policy's next deadline, on the router clock
  asio::steady_timer tick_timer;
  std::optional<Seconds> policy_timer_at;
  std::uint64_t policy_timer_gen = 0;
  std::unordered_map<RequestId, CallPtr> calls;  // gateway calls submitted, not yet ended
  Call list_head;                                // sentinel of the calls in progress
  RequestId next_id = 1;
  ProfileStore profiles_;
  http::HeadLimits limits;  // of request and response heads
  bool stopping = false;
  bool stopped = false;
  std::function<void()> on_done;
  std::shared_ptr<asio::steady_timer> shutdown_grace;
  SteadyTime started_real = steady_now();  // for the real seconds in /status
  RouterStats stats;

  void count_response(const Call& call, int status) { stats.count_response(call.route, status); }

  // router.cc: setup
  void init();
  Status start();
  std::uint16_t port() const;

  // connections.cc: the HTTP/1 server side
  void link(Call* c);
  void unlink(Call* c);
  void make_server();
  void on_request(http::ServerRequest request);
  void end_exchange(const CallPtr& call, bool write_ok);
  void respond(const CallPtr& call, int status, std::string body,
               std::string_view content_type = "application/json",
               std::string_view extra_headers = {});
  void respond_after_finish(const CallPtr& call, std::string body);
  void route(const CallPtr& call);

  // upstream_calls.cc
  void plain_call(const CallPtr& call);
  void start_attempt(const CallPtr& call);
  void send_request(const CallPtr& call);
  void read_response_head(const CallPtr& call);
  void attempt_failed(const CallPtr& call, const std::string& why, bool backend_fault);
  void fail_call(const CallPtr& call, int status, const std::string& message);

  // relay_io.cc
  void begin_relay(const CallPtr& call);
  void relay_body(const CallPtr& call, bool eof);
  void read_upstream_body(const CallPtr& call);
  void relay_done(const CallPtr& call);
  void relay_failed(const CallPtr& call, const std::string& why, bool backend_fault = true);
  void abort_call(const CallPtr& call, std::string_view why);

  // gateway_glue.cc
  void gateway_call(const CallPtr& call);
  void submit(const CallPtr& call);
  void forward(const CallRequest& req, BackendIndex backend) override;
  void finish_call(const CallPtr& call, int status, bool ok);
  void finish_record(const CallPtr& call, int status, bool ok);
  bool release_program(const std::string& id, std::string_view reason);
  void reschedule_policy_timer();

  // health_check.cc
  void mark_down(BackendIndex b, const std::string& why);
  // After backends[b].status changed (or not) to down: pooled connections closed; on a
  // change, logged and the gateway told.
  void went_down(BackendIndex b, bool changed);
  void log_up(BackendIndex b);
  asio::awaitable<Result<BackendMetrics>> fetch_metrics(http::HttpClient& client, BackendIndex b);
  static asio::awaitable<void> poll_loop(std::shared_ptr<Impl> self, BackendIndex b);

  // housekeeping.cc
  void tick();
  void housekeeping();
  void shutdown(std::function<void()> done);
  void maybe_finish_shutdown();

  // AdminHost (admin_api.h), in connections.cc
  Gateway& gateway() override { return *gw; }
  const ProfileStore& profiles() const override { return profiles_; }
  std::vector<BackendStatus> backend_statuses() const override;
  std::string_view backend_type() const override {
    return opt.backend_type == BackendType::kSglang ? "sglang" : "vllm";
  }
  std::string metrics_text() override;
  std::string status_text() override;
  ErrorCounters& errors() override { return stats.errors; }
  bool release_program(const std::string& id) override { return release_program(id, "released"); }
  Seconds now() const override { return clock->now(); }
};

}  // namespace agentsched::serve
