// Health checking: each backend's /metrics polled every --metrics-interval into
// Gateway::update_metrics (vLLM's or SGLang's names, http/vllm_metrics.h and
// sglang_metrics.h), and the backends' up/down state (backend_health.h) acted on: a backend
// that goes down loses its pooled connections and the gateway hears it as unhealthy, so
// that health-aware placement (gateway/health_aware.h) keeps programs off it.
#include <fmt/format.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cstdio>

#include "http/prometheus.h"
#include "http/sglang_metrics.h"
#include "http/vllm_metrics.h"
#include "router/router_impl.h"

namespace agentsched::serve {

void Router::Impl::mark_down(BackendIndex b, const std::string& why) {
  went_down(b, backends[b].status.mark_down(clock->now(), why));
}

void Router::Impl::went_down(BackendIndex b, bool changed) {
  Backend& be = backends[b];
  be.pool.close_all();
  if (!changed) return;
  std::fprintf(stderr, "agentsched router: backend %u (%s) down: %s\n", b, be.status.url.c_str(),
               be.status.last_error.c_str());
  BackendMetrics m = gw->backends()[b].metrics;
  m.healthy = false;
  gw->update_metrics(b, m);
  reschedule_policy_timer();
}

void Router::Impl::log_up(BackendIndex b) {
  std::fprintf(stderr, "agentsched router: backend %u (%s) up\n", b,
               backends[b].status.url.c_str());
}

asio::awaitable<Result<BackendMetrics>> Router::Impl::fetch_metrics(http::HttpClient& client,
                                                                    BackendIndex b) {
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

asio::awaitable<void> Router::Impl::poll_loop(std::shared_ptr<Impl> self, BackendIndex b) {
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
    const Seconds now = self->clock->now();
    if (outcome.index() == 0 && std::get<0>(outcome)) {
      BackendMetrics m = *std::get<0>(outcome);
      m.healthy = true;
      if (be.status.poll_result(now, true)) self->log_up(b);
      self->gw->update_metrics(b, m);
      self->reschedule_policy_timer();
    } else {
      client.close();
      const std::string why =
          outcome.index() == 0
              ? fmt::format("/metrics poll: {}", std::get<0>(outcome).error().message)
              : fmt::format("/metrics poll: no answer within {} s", self->opt.poll_timeout_s);
      self->went_down(b, be.status.poll_result(now, false, why));
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

}  // namespace agentsched::serve
