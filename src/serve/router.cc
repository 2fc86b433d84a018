#include "serve/router.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "analysis/report_json.h"
#include "core/clock.h"
#include "gateway/gateway.h"
#include "http/client.h"
#include "http/fd_limit.h"
#include "http/http1_parse.h"
#include "http/json_scan.h"
#include "http/prometheus.h"
#include "http/sglang_metrics.h"
#include "http/sse.h"
#include "http/vllm_metrics.h"
#include "serve/admin_token.h"
#include "serve/byte_buffer.h"
#include "serve/dashboard_page.h"
#include "serve/endpoint.h"
#include "serve/live_http.h"
#include "serve/router_profile.h"

namespace agentsched::serve {

namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

SteadyTime steady_now() {
  return std::chrono::steady_clock::now();
}

double seconds_between(SteadyTime a, SteadyTime b) {
  return std::chrono::duration<double>(b - a).count();
}

std::chrono::steady_clock::duration real_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::max(0.0, seconds)));
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

// OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
std::string error_body(int status, std::string_view message) {
  std::string_view type = status >= 500 ? "server_error" : "invalid_request_error";
  if (status == 401) type = "authentication_error";
  if (status == 503) type = "service_unavailable";
  if (status == 504) type = "timeout";
  return fmt::format(R"({{"error":{{"message":{},"type":"{}","param":null,"code":{}}}}})",
                     json::serialize(json::string(message)), type, status);
}

// Hop-by-hop fields (RFC 7230 6.1) and the framing the router sets itself.
bool is_hop_by_hop(std::string_view name) {
  using http::iequals;
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "te") || iequals(name, "trailer") ||
         iequals(name, "transfer-encoding") || iequals(name, "upgrade") ||
         iequals(name, "content-length") || iequals(name, "expect") || iequals(name, "host");
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A backend is a server: http://HOST[:PORT], optionally with the OpenAI base path "/v1"
// (which names the same server). The URL rules (brackets for IPv6, no user info, port range)
// are the live tools' own, so `--backends` reads a URL exactly as `drive --endpoint` does.
Result<HttpEndpoint> parse_backend_url(std::string_view url) {
  auto parsed = parse_endpoint_url(url);
  if (!parsed) return make_error(fmt::format("--backends: {}", parsed.error().message));
  if (!parsed->base_path.empty() && parsed->base_path != "/v1")
    return make_error(fmt::format(
        "--backends: endpoint '{}': a backend is a server, http://HOST:PORT (or .../v1)", url));
  return parsed;
}

// Placement that never picks a backend known to be down while another is up: the registered
// policy chooses, and only a down choice is replaced (by the up backend with the fewest
// programs, then calls in flight). Everything else is the policy's own.
class HealthAwarePlacement final : public GatewayPolicy {
 public:
  HealthAwarePlacement(std::unique_ptr<GatewayPolicy> inner,
                       std::function<bool(BackendIndex)> is_up)
      : inner_(std::move(inner)), is_up_(std::move(is_up)) {}

  std::string_view name() const override { return inner_->name(); }
  void on_request(Gateway& gw, ProgramState& p, CallRequest call) override {
    inner_->on_request(gw, p, std::move(call));
  }
  void on_response(Gateway& gw, ProgramState& p, const CallResult& r) override {
    inner_->on_response(gw, p, r);
  }
  void on_metrics(Gateway& gw, BackendIndex b) override {
    inner_->on_metrics(gw, b);
    if (!is_up_(b)) move_held_programs(gw, b);
  }
  void on_release(Gateway& gw, ProgramState& p) override { inner_->on_release(gw, p); }
  std::optional<Seconds> next_timer(const Gateway& gw) const override {
    return inner_->next_timer(gw);
  }
  void on_timer(Gateway& gw) override { inner_->on_timer(gw); }
  BackendIndex choose_backend(Gateway& gw, const ProgramState& p) override {
    const BackendIndex chosen = inner_->choose_backend(gw, p);
    if (is_up_(chosen)) return chosen;
    return healthy_fallback(gw, std::nullopt).value_or(chosen);
  }

  // The up backend with the fewest programs, then calls in flight, other than `excluded`.
  std::optional<BackendIndex> healthy_fallback(const Gateway& gw,
                                               std::optional<BackendIndex> excluded) const {
    std::optional<BackendIndex> best;
    const auto& views = gw.backends();
    for (BackendIndex b = 0; b < views.size(); ++b) {
      if (!is_up_(b) || b == excluded) continue;
      if (!best || views[b].programs < views[*best].programs ||
          (views[b].programs == views[*best].programs &&
           views[b].in_flight < views[*best].in_flight))
        best = b;
    }
    return best;
  }
  GatewayPolicy& inner() { return *inner_; }

 private:
  // Programs with calls held on a backend that went down wait for that backend's policy
  // rounds (a resume), which never come while its polls fail: they move to up backends,
  // whose rounds decide for them from then on (as a program moves before its next call).
  void move_held_programs(Gateway& gw, BackendIndex down) {
    std::vector<std::string> held;
    for (const auto& [id, p] : gw.programs())
      if (p.backend == down && !p.held.empty() && !p.in_flight) held.push_back(id);
    for (const auto& id : held) {
      const auto to = healthy_fallback(gw, down);
      if (!to) return;
      if (ProgramState* p = gw.find(id)) gw.place(*p, *to);
    }
  }

  std::unique_ptr<GatewayPolicy> inner_;
  std::function<bool(BackendIndex)> is_up_;
};

const std::vector<double> kLatencyBuckets = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                                             0.0005,  0.001,    0.0025,  0.005,  0.01,
                                             0.025,   0.05,     0.1,     0.25,   1.0};
const std::vector<double> kDurationBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                              2.5,   5,     10,   30,   60,  120,  300, 600};
const std::vector<double> kHoldBuckets = {0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

}  // namespace

Result<BackendType> parse_backend_type(std::string_view name) {
  if (name == "vllm") return BackendType::kVllm;
  if (name == "sglang") return BackendType::kSglang;
  return make_error(fmt::format("unknown backend type '{}' (known: vllm, sglang)", name));
}

namespace {

struct Call;
using CallPtr = std::shared_ptr<Call>;

// One keep-alive connection to a backend.
struct Upstream {
  Upstream(asio::any_io_executor ex, BackendIndex b) : socket(ex), backend(b), in(16 * 1024) {}
  tcp::socket socket;
  BackendIndex backend;
  ByteBuffer in;
  std::string head;     // the request head being sent
  bool reused = false;  // taken from the idle pool (may have been closed by the backend)
};

struct Backend {
  std::string url;
  std::string host_header;
  tcp::endpoint endpoint;
  bool up = true;  // optimistic until a poll or a request says otherwise
  std::string last_error;
  double changed_at = 0;  // router clock
  std::vector<std::unique_ptr<Upstream>> idle;
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::uint64_t polls = 0;
  std::uint64_t poll_failures = 0;
  bool polled_ok = false;
};

struct ClientConn {
  explicit ClientConn(tcp::socket s, ByteBuffer buffer)
      : socket(std::move(s)), in(std::move(buffer)) {}
  tcp::socket socket;
  ByteBuffer in;
  http::MessageHead head;  // scratch: views are only valid until `in` moves
  bool reading = false;
  bool closed = false;
  bool busy = false;           // a request is being handled
  bool pending = false;        // bytes of an unfinished request are buffered
  bool continue_sent = false;  // "100 Continue" sent for the current request
  SteadyTime request_started{};
  SteadyTime last_active{};
  std::shared_ptr<Call> call;
  std::string out;  // local responses
  // A chunked request body, decoded as it arrives.
  http::ChunkedDecoder dechunk;
  std::string chunked_body;
  std::size_t dechunk_pos = 0;  // request bytes already fed to `dechunk`
  std::size_t want = 0;         // bytes still missing from the current request, when known
  // After an error answer to a request not read to its end: our side is shut, the rest of
  // what the client sends is read and dropped until it closes (or a deadline), so that the
  // answer is not destroyed by a reset.
  bool draining = false;
  SteadyTime drain_started{};
};
using ConnPtr = std::shared_ptr<ClientConn>;

enum class CallKind { kLocal, kPlain, kGateway };
enum class Phase { kNew, kHeld, kForwarded, kUpstream, kDone };
enum class Framing { kNone, kLength, kChunked, kUntilClose };

struct Call : std::enable_shared_from_this<Call> {
  ConnPtr client;
  ByteBuffer request;  // head + body as the client sent them
  http::MessageHead head;
  std::string owned_body;  // a de-chunked body
  std::string_view body;
  bool keep_alive = true;
  bool linger = false;            // the request was not read to its end (see ClientConn::draining)
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
  std::unique_ptr<Upstream> up;
  SteadyTime connect_started{};
  bool connecting = false;

  // Response relay.
  http::MessageHead rhead;
  Framing framing = Framing::kNone;
  std::uint64_t body_left = 0;
  http::ChunkedDecoder dechunk;
  bool client_chunked = false;
  bool head_sent = false;  // some response byte went to the client
  bool upstream_reusable = false;
  bool strip_usage = false;
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
};

struct ErrorCounters {
  std::uint64_t bad_request = 0, too_large = 0, timeout = 0, client_disconnect = 0,
                upstream_connect = 0, upstream_io = 0, retried = 0, no_backend = 0,
                connection_limit = 0, unauthorized = 0;
};

}  // namespace

struct Router::Impl : GatewayDriver, std::enable_shared_from_this<Router::Impl> {
  Impl(asio::io_context& io_, RouterOptions o)
      : io(io_),
        opt(std::move(o)),
        acceptor(io_),
        policy_timer(io_),
        tick_timer(io_),
        profiles(opt.profile_calls_kept),
        proxy_overhead(kLatencyBuckets),
        request_duration(kDurationBuckets),
        hold_time(kHoldBuckets) {}

  asio::io_context& io;
  RouterOptions opt;
  std::unique_ptr<Clock> clock;
  std::vector<Backend> backends;
  std::unique_ptr<Gateway> gw;
  HealthAwarePlacement* placement = nullptr;
  tcp::acceptor acceptor;
  asio::steady_timer policy_timer;
  asio::steady_timer tick_timer;
  std::optional<Seconds> policy_timer_at;
  std::uint64_t policy_timer_gen = 0;
  std::unordered_set<ConnPtr> conns;
  std::unordered_map<RequestId, CallPtr> calls;  // gateway calls submitted, not yet ended
  Call list_head;                                // sentinel of the calls in progress
  RequestId next_id = 1;
  BufferPool pool;
  ProfileStore profiles;
  http::HeadLimits limits;
  bool stopping = false;
  bool stopped = false;
  std::function<void()> on_done;
  double created_unix = 0;
  SteadyTime started_real = steady_now();  // for the real seconds in /status

  // Counters for /metrics.
  std::map<std::string, std::uint64_t> requests_by_route;
  std::map<std::pair<std::string, int>, std::uint64_t> responses;  // (route, status)
  void count_response(const Call& call, int status) { ++responses[{call.route, status}]; }
  ErrorCounters errors;
  http::PrometheusHistogram proxy_overhead;
  http::PrometheusHistogram request_duration;
  http::PrometheusHistogram hold_time;
  std::uint64_t released_by_ttl = 0;

  // ---------------------------------------------------------------- setup
  void init() {
    if (opt.backends.empty()) throw std::runtime_error("--backends needs at least one URL");
    if (!(opt.time_scale > 0) || !std::isfinite(opt.time_scale))
      throw std::runtime_error("--time-scale must be a positive number");
    if (!(opt.metrics_interval_s > 0) || !std::isfinite(opt.metrics_interval_s))
      throw std::runtime_error("--metrics-interval must be a positive number of seconds");
    if (opt.program_ttl_s < 0) throw std::runtime_error("--program-ttl must be >= 0");
    if (!opt.admin_token.empty())
      if (auto st = validate_admin_token(opt.admin_token, "admin token"); !st)
        throw std::runtime_error(st.error().message);
    if (opt.time_scale == 1.0)
      clock = std::make_unique<SteadyClock>();
    else
      clock = std::make_unique<ScaledClock>(opt.time_scale);
    limits.max_head_bytes = opt.max_header_bytes;
    tcp::resolver resolver(io);
    for (const std::string& url : opt.backends) {
      auto parsed = parse_backend_url(url);
      if (!parsed) throw std::runtime_error(parsed.error().message);
      error_code ec;
      auto results = resolver.resolve(parsed->host, std::to_string(parsed->port), ec);
      if (ec || results.empty())
        throw std::runtime_error(
            fmt::format("backend '{}': cannot resolve {}: {}", url, parsed->host, ec.message()));
      Backend b;
      b.url = url;
      b.endpoint = *results.begin();
      b.host_header = parsed->host.find(':') != std::string::npos
                          ? fmt::format("[{}]:{}", parsed->host, parsed->port)
                          : fmt::format("{}:{}", parsed->host, parsed->port);
      backends.push_back(std::move(b));
    }
    auto policy = make_gateway_policy(opt.policy, opt.policy_params);
    if (!policy) throw std::runtime_error(policy.error().message);
    auto wrapped = std::make_unique<HealthAwarePlacement>(
        std::move(policy.value()), [this](BackendIndex b) { return backends[b].up; });
    placement = wrapped.get();
    gw = std::make_unique<Gateway>(std::move(wrapped), *clock, *this, backends.size());
    if (!opt.profile_dir.empty())
      if (auto st = profiles.open(opt.profile_dir); !st)
        throw std::runtime_error(st.error().message);
    list_head.prev = list_head.next = &list_head;
    created_unix =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  Status start() {
    error_code ec;
    const auto address = asio::ip::make_address(opt.host, ec);
    if (ec)
      return make_error(fmt::format("invalid listen address '{}': {}", opt.host, ec.message()));
    const tcp::endpoint endpoint(address, opt.port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      error_code ignored;
      acceptor.close(ignored);
      return make_error(
          fmt::format("cannot listen on {}:{}: {}", opt.host, opt.port, ec.message()));
    }
    accept();
    for (BackendIndex b = 0; b < backends.size(); ++b)
      asio::co_spawn(io, poll_loop(shared_from_this(), b), asio::detached);
    tick();
    return Ok{};
  }

  std::uint16_t port() const {
    error_code ec;
    const auto ep = acceptor.local_endpoint(ec);
    return ec ? 0 : ep.port();
  }

  // ---------------------------------------------------------------- intrusive call list
  void link(Call* c) {
    c->next = &list_head;
    c->prev = list_head.prev;
    list_head.prev->next = c;
    list_head.prev = c;
    c->linked = true;
  }
  void unlink(Call* c) {
    if (!c->linked) return;
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->linked = false;
    c->prev = c->next = nullptr;
  }

  // ---------------------------------------------------------------- accepting
  void accept() {
    acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (stopping || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or a transient error: back off briefly instead of spinning.
      auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
      timer->async_wait([self = shared_from_this(), timer](error_code) { self->accept(); });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (conns.size() >= opt.max_connections) {
      ++errors.connection_limit;
      const std::string body = error_body(
          503, fmt::format("the router is at its connection limit ({})", opt.max_connections));
      const std::string response = fmt::format(
          "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
          "content-length: {}\r\nconnection: close\r\n\r\n{}",
          body.size(), body);
      socket.non_blocking(true, ignored);
      socket.send(asio::buffer(response), 0, ignored);
      socket.close(ignored);
      accept();
      return;
    }
    auto conn = std::make_shared<ClientConn>(std::move(socket), pool.take());
    conn->last_active = steady_now();
    conns.insert(conn);
    read_client(conn);
    accept();
  }

  // ---------------------------------------------------------------- client side
  void read_client(const ConnPtr& c) {
    if (c->reading || c->closed) return;
    // While a request is in progress the read only watches for a hang-up (and keeps a
    // pipelined request); stop when too much is buffered.
    if (c->busy && c->in.size() > opt.max_header_bytes) return;
    c->in.reserve_writable(std::max<std::size_t>(16 * 1024, c->want));
    c->reading = true;
    c->socket.async_read_some(asio::buffer(c->in.write_ptr(), c->in.writable()),
                              [this, c](error_code ec, std::size_t n) {
                                c->reading = false;
                                on_client_read(c, ec, n);
                              });
  }

  void on_client_read(const ConnPtr& c, error_code ec, std::size_t n) {
    if (c->closed) return;
    if (ec) {
      client_gone(c);
      return;
    }
    if (c->draining) {
      c->in.clear();
      read_client(c);
      return;
    }
    c->in.commit(n);
    c->last_active = steady_now();
    if (!c->busy) process_client_input(c);
    read_client(c);
  }

  void process_client_input(const ConnPtr& c) {
    while (!c->busy && !c->closed && !stopping) {
      // Empty lines before a request line are ignored (RFC 7230 3.5).
      while (!c->pending && !c->in.empty() &&
             (c->in.data().front() == '\r' || c->in.data().front() == '\n'))
        c->in.consume(1);
      if (c->in.empty()) return;
      if (!c->pending) {
        c->pending = true;
        c->request_started = steady_now();
      }
      std::string_view err;
      const auto r = http::parse_request_head(c->in.data(), c->head, err, limits);
      if (r == http::ParseResult::kIncomplete) return;
      if (r == http::ParseResult::kError) {
        ++errors.bad_request;
        const int status =
            err == "request head too large" || err == "too many header fields" ? 431 : 400;
        fail_connection(c, status, fmt::format("invalid HTTP request: {}", err));
        return;
      }
      const std::size_t head_size = c->head.head_size;
      std::size_t total = 0;
      if (c->head.chunked) {
        if (c->dechunk_pos < head_size) c->dechunk_pos = head_size;
        std::vector<std::string_view> pieces;
        http::ChunkedDecoder::Status st;
        c->dechunk_pos += c->dechunk.feed(c->in.data().substr(c->dechunk_pos), pieces, st);
        for (auto p : pieces) c->chunked_body.append(p);
        if (st == http::ChunkedDecoder::Status::kError) {
          ++errors.bad_request;
          fail_connection(c, 400, "invalid chunked request body");
          return;
        }
        if (c->chunked_body.size() > opt.max_body_bytes) {
          ++errors.too_large;
          fail_connection(c, 413,
                          fmt::format("request body larger than {} bytes", opt.max_body_bytes));
          return;
        }
        if (st != http::ChunkedDecoder::Status::kDone) {
          send_continue(c);
          return;
        }
        total = c->dechunk_pos;
      } else {
        const std::uint64_t length = c->head.content_length.value_or(0);
        if (length > opt.max_body_bytes) {
          ++errors.too_large;
          fail_connection(c, 413,
                          fmt::format("request body of {} bytes is larger than the limit of {}",
                                      length, opt.max_body_bytes));
          return;
        }
        total = head_size + static_cast<std::size_t>(length);
        if (c->in.size() < total) {
          send_continue(c);
          c->want = total - c->in.size();  // the next read can take all of it
          return;
        }
      }
      dispatch(c, total);
    }
  }

  void send_continue(const ConnPtr& c) {
    if (!c->head.expect_continue || c->continue_sent) return;
    c->continue_sent = true;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    error_code ignored;
    asio::write(c->socket, asio::buffer(kContinue), ignored);
  }

  // A request that cannot be read further: answer it and close the connection.
  void fail_connection(const ConnPtr& c, int status, std::string message) {
    auto call = std::make_shared<Call>();
    call->client = c;
    call->keep_alive = false;
    call->linger = true;
    c->busy = true;
    c->call = call;
    call->t_arrive = steady_now();
    respond(call, status, error_body(status, message));
  }

  void dispatch(const ConnPtr& c, std::size_t total) {
    auto call = std::make_shared<Call>();
    call->client = c;
    call->request = pool.take();
    if (c->reading) {
      // A read into c->in is outstanding (a pipelined request): copy instead of taking the
      // buffer from under it.
      call->request.append(c->in.data().substr(0, total));
      c->in.consume(total);
    } else {
      call->request.swap(c->in);
      if (call->request.size() > total) {
        c->in.append(call->request.data().substr(total));
        call->request.truncate(total);
      }
    }
    c->want = 0;
    std::string_view err;
    http::parse_request_head(call->request.data(), call->head, err, limits);
    if (call->head.chunked) {
      call->owned_body = std::move(c->chunked_body);
      call->body = call->owned_body;
    } else {
      call->body = call->request.data().substr(call->head.head_size);
    }
    c->chunked_body.clear();
    c->dechunk.reset();
    c->dechunk_pos = 0;
    c->pending = false;
    c->continue_sent = false;
    call->keep_alive = call->head.keep_alive && !stopping;
    c->busy = true;
    c->call = call;
    call->t_arrive = steady_now();
    call->arrived = clock->now();
    route(call);
  }

  // The response is written (or failed): the connection takes its next request or closes.
  void end_exchange(const CallPtr& call, bool write_ok) {
    if (call->request.capacity()) pool.give(std::move(call->request));
    ConnPtr c = std::move(call->client);
    if (!c || c->closed) return;
    c->call.reset();
    if (write_ok && call->linger && !stopping) {
      c->draining = true;
      c->drain_started = steady_now();
      error_code ignored;
      c->socket.shutdown(tcp::socket::shutdown_send, ignored);
      c->in.clear();
      read_client(c);
      return;
    }
    c->busy = false;
    if (!write_ok || !call->keep_alive || stopping) {
      close_client(c);
      return;
    }
    c->last_active = steady_now();
    process_client_input(c);
    read_client(c);
  }

  void close_client(const ConnPtr& c) {
    if (c->closed) return;
    c->closed = true;
    error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_both, ignored);
    c->socket.close(ignored);
    conns.erase(c);
    if (c->in.capacity()) pool.give(std::move(c->in));
    if (stopping) maybe_finish_shutdown();
  }

  // The client hung up (or its socket failed).
  void client_gone(const ConnPtr& c) {
    CallPtr call = c->call;
    close_client(c);
    if (call && !call->finished) abort_call(call, "client disconnected");
  }

  // A complete local response.
  void respond(const CallPtr& call, int status, std::string body,
               std::string_view content_type = "application/json",
               std::string_view extra_headers = {}) {
    call->status = status;
    count_response(*call, status);
    const ConnPtr& c = call->client;
    if (!c || c->closed) {
      end_exchange(call, false);
      return;
    }
    c->out.clear();
    fmt::format_to(std::back_inserter(c->out),
                   "HTTP/1.1 {} {}\r\nserver: agentsched-router\r\ncontent-type: {}\r\n"
                   "content-length: {}\r\n{}{}\r\n",
                   status, reason_phrase(status), content_type, body.size(), extra_headers,
                   call->keep_alive ? "" : "connection: close\r\n");
    c->out += body;
    asio::async_write(c->socket, asio::buffer(c->out),
                      [this, call](error_code ec, std::size_t) { end_exchange(call, !ec); });
  }

  // ---------------------------------------------------------------- routing
  void route(const CallPtr& call) {
    const std::string_view target = call->head.target;
    const std::string_view path = target.substr(0, target.find('?'));
    const std::string_view method = call->head.method;
    if (path == "/v1/chat/completions" || path == "/v1/completions") {
      call->route = path == "/v1/completions" ? "completions" : "chat_completions";
      ++requests_by_route[call->route];
      if (method != "POST") return respond(call, 405, error_body(405, "use POST"));
      gateway_call(call);
      return;
    }
    if (path == "/health" || path == "/programs" || path == "/backends" || path == "/metrics" ||
        path == "/status" || path == "/dashboard" || path == "/programs/release" ||
        path.starts_with("/programs/")) {
      call->route = "router";
      ++requests_by_route[call->route];
      const bool post = path == "/programs/release";
      if (method != (post ? "POST" : "GET"))
        return respond(call, 405, error_body(405, fmt::format("use {}", post ? "POST" : "GET")));
      // State-changing endpoints need the admin token when one is set; reading stays open.
      if (post && !admin_authorized(*call)) return respond_unauthorized(call);
      if (path == "/health") return respond_health(call);
      if (path == "/programs") return respond(call, 200, programs_json(nullptr));
      if (path == "/backends") return respond(call, 200, backends_json());
      if (path == "/metrics")
        return respond(call, 200, metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
      if (path == "/status") return respond(call, 200, status_json());
      // Static: nothing of the request or of the options is written into the page.
      if (path == "/dashboard")
        return respond(call, 200, std::string(dashboard_page()), "text/html; charset=utf-8",
                       dashboard_headers());
      if (post) return release_request(call);
      const std::string id = url_decode(path.substr(std::string_view("/programs/").size()));
      return respond_program(call, id);
    }
    // Anything else (GET /v1/models, /tokenize, /version, ...) goes to a backend as is.
    call->route = path == "/v1/models" ? "models" : "other";
    ++requests_by_route[call->route];
    plain_call(call);
  }

  // No token configured, or `Authorization: Bearer <token>` (compared in constant time).
  bool admin_authorized(const Call& call) const {
    return opt.admin_token.empty() ||
           bearer_matches(call.head.field("authorization"), opt.admin_token);
  }

  // 401 in OpenAI's shape, with the RFC 6750 challenge. Neither the header received nor the
  // token is written anywhere (answer, log or metrics).
  void respond_unauthorized(const CallPtr& call) {
    ++errors.unauthorized;
    const bool presented = call->head.field("authorization").has_value();
    respond(call, 401,
            error_body(401, presented ? "invalid admin token for this management endpoint"
                                      : "this management endpoint needs the router's admin "
                                        "token: send 'Authorization: Bearer <token>'"),
            "application/json",
            presented ? "www-authenticate: Bearer realm=\"agentsched-router\", "
                        "error=\"invalid_token\"\r\n"
                      : "www-authenticate: Bearer realm=\"agentsched-router\"\r\n");
  }

  // ---------------------------------------------------------------- gateway calls
  void gateway_call(const CallPtr& call) {
    const std::string_view session = call->head.field("x-session-id").value_or("");
    auto scan = http::scan_chat_request(call->body, session);
    if (!scan) {
      ++errors.bad_request;
      return respond(call, 400, error_body(400, scan.error().message));
    }
    call->kind = CallKind::kGateway;
    call->program_id = std::move(scan->program_id);
    call->anonymous = call->program_id.empty();
    call->is_last_step = scan->is_last_step;
    call->stream = scan->stream;
    call->edit = http::include_usage_edit(call->body, *scan);
    link(call.get());
    profiles.on_arrival(call->program_id, !call->anonymous, call->arrived, call->call_index,
                        call->gap_s);
    // A sticky program whose backend is down moves before its call (not while a call of it
    // is still on the old backend, whose accounting would then go wrong).
    if (!call->anonymous)
      if (ProgramState* p = gw->find(call->program_id);
          p && p->backend && !backends[*p->backend].up && !p->in_flight)
        if (auto b = placement->healthy_fallback(*gw, std::nullopt)) gw->place(*p, *b);
    submit(call);
  }

  void submit(const CallPtr& call) {
    call->id = next_id++;
    calls.emplace(call->id, call);
    CallRequest req;
    req.id = call->id;
    req.program_id = call->anonymous ? std::string() : call->program_id;
    req.is_last_step = call->is_last_step;
    req.prompt_tokens_estimate = static_cast<std::int64_t>(call->body.size() / 4);
    call->phase = Phase::kHeld;
    call->held_since = clock->now();
    call->in_submit = true;
    call->forwarded_now = false;
    gw->submit(std::move(req));
    call->in_submit = false;
    call->t_submitted = steady_now();
    reschedule_policy_timer();
    if (call->finished) return;
    if (call->forwarded_now) {
      start_attempt(call);
    } else {
      call->was_held = true;
    }
  }

  // GatewayDriver: the policy forwards a call (now, or later from a poll, timer or resume).
  void forward(const CallRequest& req, BackendIndex backend) override {
    auto it = calls.find(req.id);
    if (it == calls.end()) {
      // Its client is gone: give the in-flight slot back once the policy has returned.
      asio::post(io, [self = shared_from_this(), id = req.id] {
        self->gw->complete(CallResult{.id = id, .ok = false});
        self->reschedule_policy_timer();
      });
      return;
    }
    const CallPtr& call = it->second;
    if (call->anonymous) call->program_id = req.program_id;  // "anonymous:N"
    call->backend = backend;
    call->phase = Phase::kForwarded;
    call->forwarded = true;
    call->forwarded_at = clock->now();
    call->held_s += call->forwarded_at - call->held_since;
    call->t_forward = steady_now();
    if (call->in_submit) {
      call->forwarded_now = true;
    } else {
      hold_time.observe(call->forwarded_at - call->held_since);
      asio::post(io, [this, call] { start_attempt(call); });
    }
  }

  // ---------------------------------------------------------------- plain calls
  void plain_call(const CallPtr& call) {
    call->kind = CallKind::kPlain;
    link(call.get());
    auto b = placement->healthy_fallback(*gw, std::nullopt);
    call->backend = b.value_or(0);
    call->phase = Phase::kForwarded;
    call->forwarded = true;
    call->t_forward = call->t_submitted = steady_now();
    start_attempt(call);
  }

  // ---------------------------------------------------------------- upstream
  void start_attempt(const CallPtr& call) {
    if (call->finished) return;
    Backend& be = backends[call->backend];
    // A program sent to a backend known to be down while another is up (a held call resumed
    // after its backend died): skip straight to the retry.
    if (!be.up && call->attempts == 0 && placement->healthy_fallback(*gw, call->backend)) {
      attempt_failed(call, fmt::format("backend {} is down", call->backend), false);
      return;
    }
    ++call->gen;
    call->phase = Phase::kUpstream;
    call->got_response_byte = false;
    call->sent_at = clock->now();
    call->t_up_start = steady_now();
    std::unique_ptr<Upstream> up;
    if (!call->force_fresh && !be.idle.empty()) {
      up = std::move(be.idle.back());
      be.idle.pop_back();
      up->reused = true;
    } else {
      up = std::make_unique<Upstream>(io.get_executor(), call->backend);
    }
    call->force_fresh = false;
    ++be.requests;
    call->up = std::move(up);
    if (call->up->reused) {
      send_request(call);
      return;
    }
    call->connecting = true;
    call->connect_started = steady_now();
    call->up->socket.async_connect(be.endpoint, [this, call, gen = call->gen](error_code ec) {
      if (call->finished || call->gen != gen) return;
      call->connecting = false;
      if (ec) {
        ++errors.upstream_connect;
        attempt_failed(call,
                       fmt::format("connect to {}: {}", backends[call->backend].url, ec.message()),
                       true);
        return;
      }
      error_code ignored;
      call->up->socket.set_option(tcp::no_delay(true), ignored);
      send_request(call);
    });
  }

  void send_request(const CallPtr& call) {
    Upstream& up = *call->up;
    const Backend& be = backends[call->backend];
    std::size_t body_size = call->body.size();
    if (call->edit) body_size += call->edit->text.size() - (call->edit->end - call->edit->begin);
    std::string& h = up.head;
    h.clear();
    h.append(call->head.method).append(" ").append(call->head.target).append(" HTTP/1.1\r\nhost: ");
    h.append(be.host_header).append("\r\n");
    for (const auto& f : call->head.headers) {
      if (is_hop_by_hop(f.name)) continue;
      h.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    if (body_size > 0 || call->head.method == "POST" || call->head.method == "PUT")
      fmt::format_to(std::back_inserter(h), "content-length: {}\r\n", body_size);
    h.append("\r\n");
    std::array<asio::const_buffer, 4> bufs;
    if (call->edit) {
      const auto& e = *call->edit;
      bufs = {asio::buffer(h), asio::buffer(call->body.substr(0, e.begin)), asio::buffer(e.text),
              asio::buffer(call->body.substr(e.end))};
    } else {
      bufs = {asio::buffer(h), asio::buffer(call->body), asio::const_buffer(),
              asio::const_buffer()};
    }
    asio::async_write(up.socket, bufs, [this, call, gen = call->gen](error_code ec, std::size_t) {
      if (call->finished || call->gen != gen) return;
      if (ec) {
        ++errors.upstream_io;
        attempt_failed(call,
                       fmt::format("send to {}: {}", backends[call->backend].url, ec.message()),
                       !call->up->reused);
        return;
      }
      read_response_head(call);
    });
  }

  void read_response_head(const CallPtr& call) {
    Upstream& up = *call->up;
    up.in.reserve_writable(8 * 1024);
    up.socket.async_read_some(
        asio::buffer(up.in.write_ptr(), up.in.writable()),
        [this, call, gen = call->gen](error_code ec, std::size_t n) {
          if (call->finished || call->gen != gen) return;
          Upstream& up = *call->up;
          if (ec) {
            ++errors.upstream_io;
            // Nothing came back: a fresh connection means the backend is in trouble; a reused
            // one may just have been closed by the backend while idle.
            attempt_failed(call,
                           fmt::format("no response from {}: {}", backends[call->backend].url,
                                       ec == asio::error::eof ? "connection closed" : ec.message()),
                           !up.reused || call->got_response_byte);
            return;
          }
          if (!call->got_response_byte) {
            call->got_response_byte = true;
            call->first_byte_at = clock->now();
          }
          up.in.commit(n);
          std::string_view err;
          for (;;) {
            const auto r = http::parse_response_head(up.in.data(), call->rhead, err, limits);
            if (r == http::ParseResult::kIncomplete) {
              read_response_head(call);
              return;
            }
            if (r == http::ParseResult::kError) {
              ++errors.upstream_io;
              attempt_failed(
                  call, fmt::format("bad response from {}: {}", backends[call->backend].url, err),
                  true);
              return;
            }
            if (call->rhead.status >= 100 && call->rhead.status < 200) {
              up.in.consume(call->rhead.head_size);  // interim response: wait for the real one
              continue;
            }
            break;
          }
          begin_relay(call);
        });
  }

  // An attempt failed before any byte went to the client.
  void attempt_failed(const CallPtr& call, const std::string& why, bool backend_fault) {
    if (call->finished) return;
    const bool reused = call->up && call->up->reused;
    if (call->up) {
      error_code ignored;
      call->up->socket.close(ignored);
      call->up.reset();
    }
    ++call->gen;
    call->connecting = false;
    if (call->head_sent) {
      relay_failed(call, why);
      return;
    }
    if (reused && !call->stale_retry_used) {
      // A keep-alive connection the backend had closed: once more on a fresh connection.
      call->stale_retry_used = true;
      call->force_fresh = true;
      start_attempt(call);
      return;
    }
    const BackendIndex failed = call->backend;
    if (backend_fault) mark_down(failed, why);
    ++backends[failed].failures;
    ++call->attempts;
    const auto other = placement->healthy_fallback(*gw, failed);
    const bool can_retry = !call->retried && other.has_value();
    if (call->kind == CallKind::kPlain) {
      if (can_retry) {
        ++errors.retried;
        call->retried = true;
        call->backend = *other;
        start_attempt(call);
        return;
      }
      fail_call(call, other || backends[failed].up ? 502 : 503, why);
      return;
    }
    // Gateway call: the failed attempt is a failed call for the policy; the retry is a new
    // call of the same program on another backend (the policy may hold it like any other).
    calls.erase(call->id);
    gw->complete(CallResult{.id = call->id, .ok = false});
    // A single call's program ends with the attempt (a retry makes a new one).
    if (call->anonymous) gw->release(call->program_id);
    if (can_retry) {
      ++errors.retried;
      call->retried = true;
      if (ProgramState* p = gw->find(call->program_id); p && !call->anonymous && !p->in_flight)
        gw->place(*p, *other);
      submit(call);
      return;
    }
    reschedule_policy_timer();
    fail_call(call, other || backends[failed].up ? 502 : 503,
              fmt::format("backend failed: {}", why));
  }

  // Ends a call with an error response (no byte of a backend response went out).
  void fail_call(const CallPtr& call, int status, const std::string& message) {
    if (call->kind == CallKind::kGateway && status == 503) ++errors.no_backend;
    finish_call(call, status, false);
    respond(call, status, error_body(status, message));
  }

  void begin_relay(const CallPtr& call) {
    Upstream& up = *call->up;
    const http::MessageHead& rh = call->rhead;
    call->status = rh.status;
    const bool no_body = call->head.method == "HEAD" || rh.status == 204 || rh.status == 304;
    if (no_body)
      call->framing = Framing::kNone;
    else if (rh.chunked)
      call->framing = Framing::kChunked;
    else if (rh.content_length)
      call->framing = Framing::kLength;
    else
      call->framing = Framing::kUntilClose;
    call->body_left = rh.content_length.value_or(0);
    call->dechunk.reset();
    call->upstream_reusable = rh.keep_alive && call->framing != Framing::kUntilClose;
    const auto type = rh.field("content-type");
    call->strip_usage = call->edit && type && type->substr(0, 17) == "text/event-stream";
    call->client_chunked = call->framing == Framing::kChunked ||
                           call->framing == Framing::kUntilClose ||
                           (call->strip_usage && call->framing != Framing::kNone);
    std::string& h = call->whead;
    h.clear();
    fmt::format_to(std::back_inserter(h), "HTTP/1.1 {} {}\r\n", rh.status, rh.reason);
    for (const auto& f : rh.headers) {
      if (is_hop_by_hop(f.name)) continue;
      h.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    if (call->client_chunked)
      h.append("transfer-encoding: chunked\r\n");
    else if (rh.content_length)
      fmt::format_to(std::back_inserter(h), "content-length: {}\r\n", *rh.content_length);
    fmt::format_to(std::back_inserter(h), "x-agentsched-backend: {}\r\n", call->backend);
    if (!call->keep_alive) h.append("connection: close\r\n");
    h.append("\r\n");
    up.in.consume(rh.head_size);
    relay_body(call, false);
  }

  // Relays the response body bytes buffered in call->up->in; `eof`: the backend closed.
  void relay_body(const CallPtr& call, bool eof) {
    Upstream& up = *call->up;
    const std::string_view avail = up.in.data();
    auto& pieces = call->pieces;
    pieces.clear();
    std::size_t consumed = 0;
    bool end = false;
    switch (call->framing) {
      case Framing::kNone:
        end = true;
        break;
      case Framing::kLength: {
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(call->body_left, avail.size()));
        if (take) pieces.push_back(avail.substr(0, take));
        call->body_left -= take;
        consumed = take;
        end = call->body_left == 0;
        break;
      }
      case Framing::kChunked: {
        http::ChunkedDecoder::Status st;
        consumed = call->dechunk.feed(avail, pieces, st);
        if (st == http::ChunkedDecoder::Status::kError) {
          ++errors.upstream_io;
          relay_failed(call, "invalid chunked encoding from backend");
          return;
        }
        end = st == http::ChunkedDecoder::Status::kDone;
        break;
      }
      case Framing::kUntilClose:
        if (!avail.empty()) pieces.push_back(avail);
        consumed = avail.size();
        end = eof;
        break;
    }
    if (eof && !end) {
      ++errors.upstream_io;
      relay_failed(call, "backend closed the connection mid-response");
      return;
    }
    if (end) {
      call->last_byte_at = clock->now();
      call->t_up_end = steady_now();
    }
    for (auto p : pieces) call->usage.feed(p);
    if (call->strip_usage) {
      // Whole SSE events pass through; the usage-only chunk (which the client did not ask
      // for) is dropped.
      for (auto p : pieces) call->sse_filter.feed(p, call->sse_out);
      if (end) call->sse_filter.finish(call->sse_out);
      pieces.clear();
      if (!call->sse_out.empty()) pieces.push_back(call->sse_out);
    }
    // One gather write: [head] [chunk size] pieces [CRLF] [last chunk].
    auto& bufs = call->wbufs;
    bufs.clear();
    if (!call->head_sent) bufs.push_back(asio::buffer(call->whead));
    std::size_t payload = 0;
    for (auto p : pieces) payload += p.size();
    if (payload > 0) {
      if (call->client_chunked) {
        const auto r =
            fmt::format_to_n(call->chunk_size, sizeof call->chunk_size - 1, "{:x}\r\n", payload);
        bufs.push_back(asio::buffer(call->chunk_size, r.size));
      }
      for (auto p : pieces) bufs.push_back(asio::buffer(p));
      if (call->client_chunked) bufs.push_back(asio::buffer("\r\n", 2));
    }
    if (end && call->client_chunked) bufs.push_back(asio::buffer("0\r\n\r\n", 5));
    if (bufs.empty()) {
      up.in.consume(consumed);
      read_upstream_body(call);
      return;
    }
    ConnPtr client = call->client;
    if (!client || client->closed) {
      abort_call(call, "client disconnected");
      return;
    }
    asio::async_write(client->socket, bufs,
                      [this, call, gen = call->gen, consumed, end](error_code ec, std::size_t) {
                        if (call->finished || call->gen != gen) return;
                        if (ec) {
                          abort_call(call, "client disconnected");
                          return;
                        }
                        call->head_sent = true;
                        call->sse_out.clear();
                        call->up->in.consume(consumed);
                        if (end)
                          relay_done(call);
                        else
                          read_upstream_body(call);
                      });
  }

  void read_upstream_body(const CallPtr& call) {
    Upstream& up = *call->up;
    up.in.reserve_writable(16 * 1024);
    up.socket.async_read_some(asio::buffer(up.in.write_ptr(), up.in.writable()),
                              [this, call, gen = call->gen](error_code ec, std::size_t n) {
                                if (call->finished || call->gen != gen) return;
                                if (ec == asio::error::eof) {
                                  call->upstream_reusable = false;
                                  relay_body(call, true);
                                  return;
                                }
                                if (ec) {
                                  ++errors.upstream_io;
                                  relay_failed(
                                      call, fmt::format("reading from backend: {}", ec.message()));
                                  return;
                                }
                                call->up->in.commit(n);
                                relay_body(call, false);
                              });
  }

  // The whole response went to the client.
  void relay_done(const CallPtr& call) {
    Backend& be = backends[call->backend];
    std::unique_ptr<Upstream> up = std::move(call->up);
    if (call->upstream_reusable && up->in.empty() && !stopping && be.idle.size() < 1024) {
      up->reused = false;
      be.idle.push_back(std::move(up));
    } else {
      error_code ignored;
      up->socket.close(ignored);
    }
    if (!be.up && call->status < 500) mark_up(call->backend);
    count_response(*call, call->status);
    finish_call(call, call->status, call->status >= 200 && call->status < 300);
    end_exchange(call, true);
  }

  // The backend failed after part of its response went to the client: the client sees a
  // truncated response (the connection is closed), the policy a failed call.
  void relay_failed(const CallPtr& call, const std::string& why, bool backend_fault = true) {
    if (call->up) {
      error_code ignored;
      call->up->socket.close(ignored);
      call->up.reset();
    }
    ++call->gen;
    if (backend_fault) mark_down(call->backend, why);
    ++backends[call->backend].failures;
    count_response(*call, call->status);
    // The client saw a truncated response: the profile records it as a backend failure.
    finish_call(call, 502, false);
    if (call->client) close_client(call->client);
    end_exchange(call, false);
  }

  // The client went away (or the router gave up on the call): free everything at once.
  void abort_call(const CallPtr& call, std::string_view why) {
    if (call->finished) return;
    ++errors.client_disconnect;
    count_response(*call, 499);
    if (call->up) {
      // Closing the connection is how the engine learns to abort the request.
      error_code ignored;
      call->up->socket.close(ignored);
      call->up.reset();
    }
    ++call->gen;
    const bool held = call->kind == CallKind::kGateway && call->phase == Phase::kHeld;
    if (held) {
      // Design rule: a held call whose client hangs up releases its program (the agent is
      // gone); other held calls of that program go through as single calls.
      calls.erase(call->id);
      call->finished = true;  // keep release_program from answering this call
      finish_record(call, 499, false);
      release_program(call->program_id, "disconnect");
    } else {
      finish_call(call, 499, false);
    }
    if (call->client) close_client(call->client);
    end_exchange(call, false);
  }

  // ---------------------------------------------------------------- call outcome
  // Records the outcome once: the policy learns it, the profile and metrics take it.
  void finish_call(const CallPtr& call, int status, bool ok) {
    if (call->finished) return;
    call->finished = true;
    if (call->kind == CallKind::kGateway && calls.erase(call->id)) {
      CallResult r;
      r.id = call->id;
      r.ok = ok;
      const auto& u = call->usage;
      if (ok) {
        if (u.prompt_tokens || u.completion_tokens || u.total_tokens) {
          r.completion_tokens = u.completion_tokens.value_or(0);
          r.prompt_tokens = u.prompt_tokens.value_or(
              std::max<std::int64_t>(0, u.total_tokens.value_or(0) - r.completion_tokens));
        } else {
          r.prompt_tokens = static_cast<std::int64_t>(call->body.size() / 4);  // no usage seen
        }
      }
      gw->complete(r);
      if (call->anonymous) gw->release(call->program_id);
      reschedule_policy_timer();
    }
    finish_record(call, status, ok);
  }

  void finish_record(const CallPtr& call, int status, bool ok) {
    unlink(call.get());
    const bool still_held = call->phase == Phase::kHeld;
    call->phase = Phase::kDone;
    if (call->kind == CallKind::kLocal) return;
    const SteadyTime t_done = steady_now();
    const double total = seconds_between(call->t_arrive, t_done);
    request_duration.observe(total);
    if (call->t_up_end > call->t_up_start && call->t_up_start > SteadyTime{}) {
      const double held = call->was_held ? seconds_between(call->t_submitted, call->t_forward) : 0;
      const double upstream = seconds_between(call->t_up_start, call->t_up_end);
      proxy_overhead.observe(std::max(0.0, total - held - upstream));
    }
    if (call->kind != CallKind::kGateway) return;
    CallRecord r;
    r.index = call->call_index;
    r.backend = call->t_up_start > SteadyTime{} ? static_cast<std::int32_t>(call->backend) : -1;
    r.status = status;
    r.stream = call->stream;
    r.retried = call->retried;
    r.arrived = call->arrived;
    r.held_s = call->held_s + (still_held ? clock->now() - call->held_since : 0);
    if (call->got_response_byte) r.ttfb_s = call->first_byte_at - call->sent_at;
    if (call->last_byte_at > 0) r.backend_s = call->last_byte_at - call->sent_at;
    r.gap_s = call->gap_s;
    if (ok) {
      r.prompt_tokens = call->usage.prompt_tokens.value_or(0);
      r.completion_tokens = call->usage.completion_tokens.value_or(0);
    }
    profiles.on_call_end(call->anonymous ? std::string_view(call->program_id) : call->program_id, r,
                         clock->now());
  }

  // ---------------------------------------------------------------- programs
  // Ends a program in the gateway; its held calls go through as single calls.
  bool release_program(const std::string& id, std::string_view reason) {
    ProgramState* p = gw->find(id);
    if (!p) return false;
    std::vector<RequestId> held;
    for (const auto& c : p->held) held.push_back(c.id);
    if (p->in_flight) {
      // Gateway::release forgets calls in flight without giving back the backend's in-flight
      // count: end them for the gateway first. They still finish for their clients.
      std::vector<RequestId> flying;
      for (const auto& [rid, call] : calls)
        if (call->program_id == id && call->phase != Phase::kHeld) flying.push_back(rid);
      for (RequestId rid : flying) {
        calls.erase(rid);
        gw->complete(CallResult{.id = rid, .ok = false});
      }
      p = gw->find(id);
      if (!p) return true;
    }
    profiles.on_release(id, p->first_seen, p->last_activity, reason);
    gw->release(id);
    for (RequestId rid : held) {
      auto it = calls.find(rid);
      if (it == calls.end()) continue;
      CallPtr call = it->second;
      calls.erase(it);
      if (call->finished) continue;
      call->anonymous = true;
      call->program_id.clear();
      submit(call);
    }
    reschedule_policy_timer();
    return true;
  }

  void release_request(const CallPtr& call) {
    error_code ec;
    json::value v = json::parse(call->body, ec);
    std::string id;
    if (!ec && v.is_object()) {
      const json::object& o = v.as_object();
      for (const char* key : {"job_id", "program_id"})
        if (const json::value* f = o.if_contains(key)) {
          if (const auto* s = f->if_string()) id = std::string(*s);
          if (const auto* i = f->if_int64()) id = std::to_string(*i);
          if (!id.empty()) break;
        }
    }
    if (id.empty()) {
      ++errors.bad_request;
      return respond(
          call, 400,
          error_body(400, R"(expected a JSON body {"job_id": "..."} or {"program_id": "..."})"));
    }
    const bool released = release_program(id, "released");
    respond(call, 200,
            fmt::format(R"({{"released":{},"job_id":{}}})", released ? "true" : "false",
                        json::serialize(json::string(id))));
  }

  static std::string_view program_state(const ProgramState& p) {
    if (p.in_flight) return "in_flight";
    if (!p.held.empty()) return "held";
    if (p.paused) return "paused";
    return "idle";
  }

  json::object program_json(const ProgramState& p, bool with_calls) const {
    json::object o;
    o["id"] = p.id;
    if (p.backend)
      o["backend"] = *p.backend;
    else
      o["backend"] = nullptr;
    o["state"] = program_state(p);
    o["steps"] = p.steps;
    o["calls"] = p.calls;
    o["context_tokens"] = p.context_tokens;
    o["paused"] = p.paused;
    o["pause_requested"] = p.pause_requested;
    o["held_calls"] = p.held.size();
    o["total_held_s"] = p.total_held_s;
    o["first_seen_s"] = p.first_seen;
    o["last_activity_s"] = p.last_activity;
    if (const ProgramProfile* prof = profiles.find(p.id)) {
      json::object s;
      s["calls"] = prof->calls;
      s["errors"] = prof->errors;
      s["held_s"] = prof->held_s;
      s["backend_ttfb_s"] = prof->ttfb_s;
      s["backend_s"] = prof->backend_s;
      s["between_calls_s"] = prof->gap_s;
      s["prompt_tokens"] = prof->prompt_tokens;
      s["completion_tokens"] = prof->completion_tokens;
      o["profile"] = std::move(s);
      if (with_calls) {
        json::array calls_out;
        for (const CallRecord& r : prof->recent()) {
          json::object c;
          c["call"] = r.index;
          c["backend"] = r.backend;
          c["status"] = r.status;
          c["stream"] = r.stream;
          c["retried"] = r.retried;
          c["arrived_s"] = r.arrived;
          c["held_s"] = r.held_s;
          c["backend_ttfb_s"] = r.ttfb_s;
          c["backend_s"] = r.backend_s;
          if (r.gap_s >= 0)
            c["since_previous_s"] = r.gap_s;
          else
            c["since_previous_s"] = nullptr;
          c["prompt_tokens"] = r.prompt_tokens;
          c["completion_tokens"] = r.completion_tokens;
          calls_out.push_back(std::move(c));
        }
        o["recent_calls"] = std::move(calls_out);
      }
    }
    return o;
  }

  std::string programs_json(const ProgramState*) const {
    json::object out;
    out["policy"] = gw->policy().name();
    out["now_s"] = clock->now();
    out["count"] = gw->programs().size();
    out["held_calls"] = gw->held_calls();
    json::array list;
    for (const auto& [id, p] : gw->programs()) list.push_back(program_json(p, false));
    out["programs"] = std::move(list);
    return analysis::compact_json(out);
  }

  void respond_program(const CallPtr& call, const std::string& id) {
    const ProgramState* p = gw->find(id);
    if (!p)
      return respond(call, 404, error_body(404, fmt::format("no program '{}' in the router", id)));
    respond(call, 200, analysis::compact_json(program_json(*p, true)));
  }

  void respond_health(const CallPtr& call) {
    std::size_t up = 0;
    for (const auto& b : backends) up += b.up ? 1 : 0;
    respond(call, up ? 200 : 503,
            fmt::format(R"({{"status":"{}","backends_up":{},"backends":{}}})",
                        up ? "ok" : "no backend available", up, backends.size()));
  }

  std::string backends_json() const {
    json::array list;
    for (BackendIndex i = 0; i < backends.size(); ++i) {
      const Backend& b = backends[i];
      const BackendView& v = gw->backends()[i];
      json::object o;
      o["index"] = i;
      o["url"] = b.url;
      o["up"] = b.up;
      o["last_error"] = b.last_error;
      o["changed_at_s"] = b.changed_at;
      o["polled_at_s"] = v.polled_at;
      o["kv_usage"] = v.metrics.kv_usage;
      o["num_running"] = v.metrics.num_running;
      o["num_waiting"] = v.metrics.num_waiting;
      o["kv_capacity_tokens"] = v.metrics.kv_capacity_tokens();
      o["programs"] = v.programs;
      o["in_flight"] = v.in_flight;
      o["requests"] = b.requests;
      o["failures"] = b.failures;
      o["polls"] = b.polls;
      o["poll_failures"] = b.poll_failures;
      o["idle_connections"] = b.idle.size();
      list.push_back(std::move(o));
    }
    json::object out;
    out["backend_type"] = opt.backend_type == BackendType::kSglang ? "sglang" : "vllm";
    out["backends"] = std::move(list);
    return analysis::compact_json(out);
  }

  // The error counters by kind, as /metrics and /status name them.
  std::vector<std::pair<std::string_view, std::uint64_t>> error_counts() const {
    const auto& e = errors;
    return {{"bad_request", e.bad_request},
            {"too_large", e.too_large},
            {"timeout", e.timeout},
            {"client_disconnect", e.client_disconnect},
            {"upstream_connect", e.upstream_connect},
            {"upstream_io", e.upstream_io},
            {"retried", e.retried},
            {"no_backend", e.no_backend},
            {"connection_limit", e.connection_limit},
            {"unauthorized", e.unauthorized}};
  }

  // GET /status: the policy with its effective parameters, the router's settings and its
  // request and error counters, for the dashboard. `requests` and `error_responses` count the
  // LLM routes only: the router's own endpoints (the dashboard polling them included) and
  // other proxied paths (a browser's /favicon.ico) would otherwise blur the LLM traffic.
  static bool llm_route(std::string_view route) {
    return route == "chat_completions" || route == "completions";
  }

  std::string status_json() const {
    json::object policy;
    policy["name"] = gw->policy().name();
    json::array params;
    for (const auto& info : gateway_policy_infos()) {
      if (info.name != gw->policy().name()) continue;
      policy["summary"] = info.summary;
      for (const auto& [name, default_value, meaning] : info.params) {
        const auto given = opt.policy_params.find(name);
        json::object p;
        p["name"] = name;
        p["value"] = given == opt.policy_params.end() ? default_value : given->second;
        p["default"] = default_value;
        p["meaning"] = meaning;
        params.push_back(std::move(p));
      }
    }
    if (!policy.contains("summary")) policy["summary"] = "";
    policy["params"] = std::move(params);

    std::uint64_t requests = 0, error_responses = 0;
    json::object by_route, by_status;
    for (const auto& [route, n] : requests_by_route) {
      by_route[route] = n;
      if (llm_route(route)) requests += n;
    }
    std::map<int, std::uint64_t> status_totals;  // over all routes
    for (const auto& [key, n] : responses) {
      status_totals[key.second] += n;
      if (llm_route(key.first) && key.second >= 400) error_responses += n;
    }
    for (const auto& [code, n] : status_totals) by_status[std::to_string(code)] = n;
    json::object errors_out;
    for (const auto& [kind, n] : error_counts()) errors_out[kind] = n;

    json::object out;
    out["policy"] = std::move(policy);
    out["backend_type"] = opt.backend_type == BackendType::kSglang ? "sglang" : "vllm";
    out["now_s"] = clock->now();
    // Real seconds since the router started: what the dashboard divides counter deltas by, so
    // that its rates hold whatever the time scale and however often a browser polls.
    out["uptime_real_s"] = std::chrono::duration<double>(steady_now() - started_real).count();
    out["time_scale"] = opt.time_scale;
    out["metrics_interval_s"] = opt.metrics_interval_s;
    out["program_ttl_s"] = opt.program_ttl_s;
    out["requests"] = requests;
    out["error_responses"] = error_responses;
    out["requests_by_route"] = std::move(by_route);
    out["responses_by_status"] = std::move(by_status);
    out["errors"] = std::move(errors_out);
    out["held_calls"] = gw->held_calls();
    out["programs"] = gw->programs().size();
    out["connections"] = conns.size();
    return analysis::compact_json(out);
  }

  std::string metrics_text() const {
    http::PrometheusWriter w;
    std::vector<std::pair<http::Labels, double>> values;
    for (const auto& [route, n] : requests_by_route)
      values.push_back({{{"route", route}}, static_cast<double>(n)});
    w.counter("agentsched_router_requests", "Requests received, by route.", values, created_unix);
    values.clear();
    for (const auto& [key, n] : responses)
      values.push_back(
          {{{"code", std::to_string(key.second)}, {"route", key.first}}, static_cast<double>(n)});
    w.counter("agentsched_router_responses",
              "Responses, by route and HTTP status (499: the client went away first).", values,
              created_unix);
    values.clear();
    for (const auto& [kind, n] : error_counts())
      values.push_back({{{"kind", std::string(kind)}}, static_cast<double>(n)});
    w.counter("agentsched_router_errors", "Errors and retries, by kind.", values, created_unix);
    w.gauge("agentsched_router_held_requests", "Calls held in the router by the policy now.", {},
            static_cast<double>(gw->held_calls()));
    w.histogram("agentsched_router_hold_seconds",
                "Time held calls waited in the router before being forwarded (router clock).", {},
                hold_time, created_unix);
    std::map<std::string_view, double> states = {
        {"in_flight", 0}, {"held", 0}, {"paused", 0}, {"idle", 0}};
    for (const auto& [id, p] : gw->programs()) states[program_state(p)] += 1;
    w.family("agentsched_router_programs", "Programs tracked, by state.", "gauge");
    for (const auto& [state, n] : states)
      w.sample("agentsched_router_programs", {{"state", std::string(state)}}, n);
    w.counter("agentsched_router_programs_released_by_ttl",
              "Programs released after idling past --program-ttl.",
              {{{}, static_cast<double>(released_by_ttl)}}, created_unix);
    w.gauge("agentsched_router_connections", "Client connections open.", {},
            static_cast<double>(conns.size()));
    const auto per_backend = [&](std::string_view name, std::string_view help, auto value) {
      w.family(name, help, "gauge");
      for (BackendIndex i = 0; i < backends.size(); ++i)
        w.sample(name, {{"backend", backends[i].url}}, value(i));
    };
    per_backend("agentsched_router_backend_up", "1 if the backend is considered up.",
                [&](BackendIndex i) { return backends[i].up ? 1.0 : 0.0; });
    per_backend("agentsched_router_backend_kv_usage", "KV-cache usage from the last poll.",
                [&](BackendIndex i) { return gw->backends()[i].metrics.kv_usage; });
    per_backend("agentsched_router_backend_running", "Requests running, from the last poll.",
                [&](BackendIndex i) { return double(gw->backends()[i].metrics.num_running); });
    per_backend("agentsched_router_backend_waiting", "Requests waiting, from the last poll.",
                [&](BackendIndex i) { return double(gw->backends()[i].metrics.num_waiting); });
    per_backend("agentsched_router_backend_programs", "Programs placed on the backend.",
                [&](BackendIndex i) { return double(gw->backends()[i].programs); });
    per_backend("agentsched_router_backend_in_flight", "Calls in flight to the backend.",
                [&](BackendIndex i) { return double(gw->backends()[i].in_flight); });
    std::vector<std::pair<http::Labels, double>> reqs, fails;
    for (const auto& b : backends) {
      reqs.push_back({{{"backend", b.url}}, double(b.requests)});
      fails.push_back({{{"backend", b.url}}, double(b.failures)});
    }
    w.counter("agentsched_router_backend_requests", "Requests sent to each backend.", reqs,
              created_unix);
    w.counter("agentsched_router_backend_failures", "Failed requests, by backend.", fails,
              created_unix);
    w.histogram("agentsched_router_proxy_overhead_seconds",
                "Time a call spent in the router outside holds and the backend exchange "
                "(real seconds).",
                {}, proxy_overhead, created_unix);
    w.histogram("agentsched_router_request_duration_seconds",
                "Arrival to last byte sent, holds included (real seconds).", {}, request_duration,
                created_unix);
    return w.take();
  }

  // ---------------------------------------------------------------- backend health
  void mark_down(BackendIndex b, const std::string& why) {
    Backend& be = backends[b];
    be.last_error = why;
    for (auto& up : be.idle) {
      error_code ignored;
      up->socket.close(ignored);
    }
    be.idle.clear();
    if (!be.up) return;
    be.up = false;
    be.changed_at = clock->now();
    std::fprintf(stderr, "agentsched router: backend %u (%s) down: %s\n", b, be.url.c_str(),
                 why.c_str());
    BackendMetrics m = gw->backends()[b].metrics;
    m.healthy = false;
    gw->update_metrics(b, m);
    reschedule_policy_timer();
  }

  void mark_up(BackendIndex b) {
    Backend& be = backends[b];
    if (be.up) return;
    be.up = true;
    be.changed_at = clock->now();
    std::fprintf(stderr, "agentsched router: backend %u (%s) up\n", b, be.url.c_str());
  }

  // ---------------------------------------------------------------- polling
  asio::awaitable<Result<BackendMetrics>> fetch_metrics(http::HttpClient& client, BackendIndex b) {
    const Backend& be = backends[b];
    if (!client.is_open()) {
      auto st = co_await client.connect(be.endpoint.address().to_string(), be.endpoint.port());
      if (!st) co_return st.error();
    }
    auto res = co_await client.request("GET", "/metrics");
    if (!res) co_return res.error();
    if (res->status != 200)
      co_return make_error(fmt::format("GET /metrics answered {}", res->status));
    const auto text = http::parse_prometheus_text(res->body);
    if (opt.backend_type == BackendType::kSglang) co_return http::backend_metrics_from_sglang(text);
    co_return http::backend_metrics_from_vllm(text);
  }

  static asio::awaitable<void> poll_loop(std::shared_ptr<Impl> self, BackendIndex b) {
    using namespace asio::experimental::awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    http::HttpClient client(ex);
    asio::steady_timer timeout(ex), pause(ex);
    const double interval_real = self->opt.metrics_interval_s / self->opt.time_scale;
    while (!self->stopping) {
      const SteadyTime started = steady_now();
      timeout.expires_after(real_duration(self->opt.poll_timeout_s));
      auto outcome = co_await (self->fetch_metrics(client, b) ||
                               timeout.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (self->stopping) break;
      Backend& be = self->backends[b];
      ++be.polls;
      if (outcome.index() == 0 && std::get<0>(outcome)) {
        BackendMetrics m = *std::get<0>(outcome);
        m.healthy = true;
        be.polled_ok = true;
        self->mark_up(b);
        self->gw->update_metrics(b, m);
        self->reschedule_policy_timer();
      } else {
        ++be.poll_failures;
        client.close();
        const std::string why =
            outcome.index() == 0
                ? fmt::format("/metrics poll: {}", std::get<0>(outcome).error().message)
                : fmt::format("/metrics poll: no answer within {} s", self->opt.poll_timeout_s);
        self->mark_down(b, why);
        BackendMetrics m = self->gw->backends()[b].metrics;
        m.healthy = false;
        self->gw->update_metrics(b, m);
        self->reschedule_policy_timer();
      }
      pause.expires_at(started + real_duration(interval_real));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    client.close();
  }

  // ---------------------------------------------------------------- timers
  void reschedule_policy_timer() {
    const std::optional<Seconds> t = stopping ? std::nullopt : gw->next_timer();
    if (t == policy_timer_at) return;
    policy_timer_at = t;
    ++policy_timer_gen;
    if (!t) {
      policy_timer.cancel();
      return;
    }
    policy_timer.expires_after(real_duration((*t - clock->now()) / clock->scale()));
    policy_timer.async_wait([self = shared_from_this(), gen = policy_timer_gen](error_code ec) {
      if (ec || gen != self->policy_timer_gen || self->stopping) return;
      self->policy_timer_at.reset();
      self->gw->on_timer();
      self->reschedule_policy_timer();
    });
  }

  // Once a second: request and connection timeouts, idle programs, profile flush.
  void tick() {
    tick_timer.expires_after(std::chrono::seconds(1));
    tick_timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->stopped) return;
      self->housekeeping();
      self->tick();
    });
  }

  void housekeeping() {
    const SteadyTime now = steady_now();
    std::vector<ConnPtr> expired;
    for (const ConnPtr& c : conns) {
      if (c->draining && seconds_between(c->drain_started, now) > 2) expired.push_back(c);
      if (c->busy) continue;
      const double age = seconds_between(c->request_started, now);
      const bool late = c->pending && (age > opt.body_timeout_s ||
                                       (c->head.head_size == 0 && age > opt.header_timeout_s));
      const bool idle = !c->pending && seconds_between(c->last_active, now) > opt.idle_timeout_s;
      if (late || idle) expired.push_back(c);
    }
    for (const ConnPtr& c : expired) {
      if (c->closed) continue;
      if (c->pending && !c->draining) {
        ++errors.timeout;
        fail_connection(c, 408, "the request did not arrive in time");
      } else {
        close_client(c);
      }
    }
    std::vector<CallPtr> late;
    for (Call* c = list_head.next; c != &list_head; c = c->next) {
      if (c->connecting && seconds_between(c->connect_started, now) > opt.connect_timeout_s)
        late.push_back(c->shared_from_this());
      else if (opt.upstream_timeout_s > 0 && c->phase == Phase::kUpstream &&
               seconds_between(c->t_up_start, now) > opt.upstream_timeout_s)
        late.push_back(c->shared_from_this());
    }
    for (const CallPtr& call : late) {
      if (call->finished) continue;
      ++errors.timeout;
      if (call->connecting) {
        attempt_failed(call,
                       fmt::format("connect to {}: no answer within {} s",
                                   backends[call->backend].url, opt.connect_timeout_s),
                       true);
      } else if (!call->head_sent) {
        // A slow answer is not a dead backend: no retry elsewhere (it would double the load).
        if (call->up) {
          error_code ignored;
          call->up->socket.close(ignored);
          call->up.reset();
        }
        ++call->gen;
        fail_call(call, 504,
                  fmt::format("the backend did not answer within {} s", opt.upstream_timeout_s));
      } else {
        relay_failed(call, "backend response timed out", false);
      }
    }
    if (opt.program_ttl_s > 0) {
      const Seconds t = clock->now();
      std::vector<std::string> idle;
      for (const auto& [id, p] : gw->programs())
        if (!p.in_flight && p.held.empty() && t - p.last_activity > opt.program_ttl_s)
          idle.push_back(id);
      for (const auto& id : idle) {
        ++released_by_ttl;
        release_program(id, "ttl");
      }
    }
    profiles.flush();
  }

  // ---------------------------------------------------------------- shutdown
  void shutdown(std::function<void()> done) {
    if (stopping) {
      // A second request: drop what is left now.
      std::vector<CallPtr> open;
      for (Call* c = list_head.next; c != &list_head; c = c->next)
        open.push_back(c->shared_from_this());
      for (const CallPtr& call : open) abort_call(call, "shutdown");
      const std::vector<ConnPtr> all(conns.begin(), conns.end());
      for (const ConnPtr& c : all) close_client(c);
      maybe_finish_shutdown();
      return;
    }
    stopping = true;
    on_done = std::move(done);
    error_code ignored;
    acceptor.close(ignored);
    // Held calls will not be resumed: answer them now.
    std::vector<CallPtr> held;
    for (const auto& [id, call] : calls)
      if (call->phase == Phase::kHeld) held.push_back(call);
    for (const CallPtr& call : held) {
      calls.erase(call->id);
      call->finished = true;
      finish_record(call, 503, false);
      count_response(*call, 503);
      call->status = 503;
      call->keep_alive = false;
      respond_after_finish(call, error_body(503, "the router is shutting down"));
    }
    std::vector<ConnPtr> idle;
    for (const ConnPtr& c : conns)
      if (!c->busy) idle.push_back(c);
    for (const ConnPtr& c : idle) close_client(c);
    auto grace = std::make_shared<asio::steady_timer>(io);
    grace->expires_after(real_duration(opt.shutdown_timeout_s));
    grace->async_wait([self = shared_from_this(), grace](error_code) {
      if (!self->stopped) self->shutdown({});
    });
    shutdown_grace = grace;
    maybe_finish_shutdown();
  }
  std::shared_ptr<asio::steady_timer> shutdown_grace;

  void respond_after_finish(const CallPtr& call, std::string body) {
    const ConnPtr& c = call->client;
    if (!c || c->closed) return end_exchange(call, false);
    c->out = fmt::format(
        "HTTP/1.1 {} {}\r\nserver: agentsched-router\r\ncontent-type: application/json\r\n"
        "content-length: {}\r\nconnection: close\r\n\r\n{}",
        call->status, reason_phrase(call->status), body.size(), body);
    asio::async_write(c->socket, asio::buffer(c->out),
                      [this, call](error_code ec, std::size_t) { end_exchange(call, false); });
  }

  void maybe_finish_shutdown() {
    if (!stopping || stopped || !conns.empty()) return;
    stopped = true;
    // Programs still live are written to programs.csv with end=shutdown.
    std::vector<std::string> ids;
    for (const auto& [id, p] : gw->programs()) ids.push_back(id);
    for (const auto& id : ids)
      if (const ProgramState* p = gw->find(id))
        profiles.on_release(id, p->first_seen, p->last_activity, "shutdown");
    profiles.flush();
    error_code ignored;
    policy_timer.cancel();
    tick_timer.cancel();
    if (shutdown_grace) shutdown_grace->cancel();
    for (auto& b : backends) {
      for (auto& up : b.idle) up->socket.close(ignored);
      b.idle.clear();
    }
    if (on_done) {
      auto done = std::move(on_done);
      on_done = nullptr;
      asio::post(io, std::move(done));
    }
  }
};

// ------------------------------------------------------------------ Router

Router::Router(asio::io_context& io, RouterOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  impl_->init();
}

Router::~Router() {
  impl_->stopping = true;
  impl_->stopped = true;
  error_code ignored;
  impl_->acceptor.close(ignored);
}

Status Router::start() {
  return impl_->start();
}

std::uint16_t Router::port() const {
  return impl_->port();
}

void Router::shutdown(std::function<void()> on_done) {
  impl_->shutdown(std::move(on_done));
}

int run_router(const RouterOptions& options) {
  const std::uint64_t fd_limit = http::raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);  // a vanished peer must cost an error code, not the process
  asio::io_context io(1);
  Router router(io, options);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stopped = false;
  std::function<void(error_code, int)> on_signal = [&](error_code ec, int sig) {
    if (ec || stopped) return;
    std::fprintf(stderr, "agentsched router: signal %d, shutting down\n", sig);
    signals.async_wait(on_signal);  // a second signal drops what is still in flight
    router.shutdown([&] {
      stopped = true;
      signals.cancel();
    });
  };
  signals.async_wait(on_signal);
  if (auto st = router.start(); !st) throw std::runtime_error(st.error().message);
  std::fprintf(stderr,
               "agentsched router: policy %s, %zu backend(s) (%s), metrics every %g s, time "
               "scale %g, fd limit %llu, %s\n",
               options.policy.c_str(), options.backends.size(),
               options.backend_type == BackendType::kSglang ? "sglang" : "vllm",
               options.metrics_interval_s, options.time_scale,
               static_cast<unsigned long long>(fd_limit),
               options.admin_token.empty() ? "management endpoints open (no admin token)"
                                           : "admin token required for POST /programs/release");
  // Backends on another clock skew every hold, TTL and metrics interval: say so at once.
  for (const std::string& url : options.backends)
    if (auto parsed = parse_backend_url(url))
      if (auto theirs = query_time_scale(parsed->host, parsed->port, 1.0))
        if (auto warning = time_scale_mismatch("the router", options.time_scale, url, *theirs))
          std::fprintf(stderr, "agentsched: warning: %s\n", warning->c_str());
  std::printf("listening on %s:%u\n", options.host.c_str(), static_cast<unsigned>(router.port()));
  std::fflush(stdout);
  io.run();
  std::fprintf(stderr, "agentsched router: stopped\n");
  return 0;
}

}  // namespace agentsched::serve
