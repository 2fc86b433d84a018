#include "router/router.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "gateway/policies.h"
#include "http/admin_token.h"
#include "http/endpoint.h"
#include "http/live_http.h"
#include "http/server_process.h"
#include "router/router_impl.h"

namespace agentsched::serve {

namespace {

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

}  // namespace

Result<BackendType> parse_backend_type(std::string_view name) {
  if (name == "vllm") return BackendType::kVllm;
  if (name == "sglang") return BackendType::kSglang;
  return make_error(fmt::format("unknown backend type '{}' (known: vllm, sglang)", name));
}

Router::Impl::Impl(asio::io_context& io_, RouterOptions o)
    : io(io_),
      opt(std::move(o)),
      listener(io_.get_executor()),
      tick_timer(io_),
      profiles_(opt.profile_calls_kept) {}

void Router::Impl::init() {
  if (opt.backends.empty()) throw std::runtime_error("--backends needs at least one URL");
  if (!(opt.time_scale > 0) || !std::isfinite(opt.time_scale))
    throw std::runtime_error("--time-scale must be a positive number");
  if (!(opt.metrics_interval_s > 0) || !std::isfinite(opt.metrics_interval_s))
    throw std::runtime_error("--metrics-interval must be a positive number of seconds");
  if (opt.program_ttl_s < 0) throw std::runtime_error("--program-ttl must be >= 0");
  if (!opt.admin_token.empty())
    if (auto st = validate_admin_token(opt.admin_token, "admin token"); !st)
      throw std::runtime_error(st.error().message);
  if (!opt.clock) own_clock = std::make_unique<ScaledClock>(opt.time_scale);
  clock = opt.clock ? opt.clock : own_clock.get();
  policy_timer.emplace(io.get_executor(), *clock);
  limits.max_head_bytes = opt.max_header_bytes;
  make_server();
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
    b.status.url = url;
    b.endpoint = *results.begin();
    b.host_header = parsed->host.find(':') != std::string::npos
                        ? fmt::format("[{}]:{}", parsed->host, parsed->port)
                        : fmt::format("{}:{}", parsed->host, parsed->port);
    backends.push_back(std::move(b));
  }
  auto policy = make_gateway_policy(opt.policy, opt.policy_params);
  if (!policy) throw std::runtime_error(policy.error().message);
  auto wrapped = std::make_unique<HealthAwarePlacement>(
      std::move(policy.value()), [this](BackendIndex b) { return backends[b].status.up; });
  placement = wrapped.get();
  gw = std::make_unique<Gateway>(std::move(wrapped), *clock, *this, backends.size());
  if (!opt.profile_dir.empty())
    if (auto st = profiles_.open(opt.profile_dir); !st)
      throw std::runtime_error(st.error().message);
  list_head.prev = list_head.next = &list_head;
  stats.created_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Status Router::Impl::start() {
  if (auto st = listener.listen(opt.host, opt.port); !st) return st;
  // Weak: the listener belongs to this object.
  listener.start([weak = weak_from_this()](tcp::socket socket) {
    if (auto self = weak.lock()) self->server->adopt(std::move(socket));
  });
  for (BackendIndex b = 0; b < backends.size(); ++b)
    asio::co_spawn(io, poll_loop(shared_from_this(), b), asio::detached);
  tick();
  return Ok{};
}

std::uint16_t Router::Impl::port() const {
  return listener.port();
}

// ------------------------------------------------------------------ Router

Router::Router(asio::io_context& io, RouterOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  impl_->init();
}

Router::~Router() {
  impl_->stopping = true;
  impl_->stopped = true;
  impl_->listener.close();
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
  asio::io_context io(1);
  Router router(io, options);
  http::ServerProcess process(io, "agentsched router", router);
  std::fprintf(stderr,
               "agentsched router: policy %s, %zu backend(s) (%s), metrics every %g s, time "
               "scale %g, fd limit %llu, %s\n",
               options.policy.c_str(), options.backends.size(),
               options.backend_type == BackendType::kSglang ? "sglang" : "vllm",
               options.metrics_interval_s, options.time_scale,
               static_cast<unsigned long long>(process.fd_limit()),
               options.admin_token.empty() ? "management endpoints open (no admin token)"
                                           : "admin token required for POST /programs/release");
  // Backends on another clock skew every hold, TTL and metrics interval: say so at once.
  for (const std::string& url : options.backends)
    if (auto parsed = parse_backend_url(url))
      if (auto theirs = query_time_scale(parsed->host, parsed->port, 1.0))
        if (auto warning = time_scale_mismatch("the router", options.time_scale, url, *theirs))
          std::fprintf(stderr, "agentsched: warning: %s\n", warning->c_str());
  process.run(options.host, router.port());
  return 0;
}

}  // namespace agentsched::serve
