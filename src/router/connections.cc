// The router's HTTP/1 server side: the shared server engine (http/server_core.h: client
// connections, request heads parsed in place, bodies, `Expect: 100-continue`, pipelining,
// limits and deadlines, error answers) with the router's hooks, the local responses, and
// routing: LLM calls to the gateway glue, the router's own endpoints to the admin API,
// anything else straight to a backend.
#include <fmt/format.h>

#include "router/responses.h"
#include "router/router_impl.h"

namespace agentsched::serve {

void Router::Impl::link(Call* c) {
  c->next = &list_head;
  c->prev = list_head.prev;
  list_head.prev->next = c;
  list_head.prev = c;
  c->linked = true;
}

void Router::Impl::unlink(Call* c) {
  if (!c->linked) return;
  c->prev->next = c->next;
  c->next->prev = c->prev;
  c->linked = false;
  c->prev = c->next = nullptr;
}

void Router::Impl::make_server() {
  http::ServerCoreOptions o;
  o.server_name = "agentsched-router";
  o.self_name = "the router";
  o.max_body_bytes = opt.max_body_bytes;
  o.head_limits = limits;
  o.max_connections = opt.max_connections;
  o.header_timeout_s = opt.header_timeout_s;
  o.body_timeout_s = opt.body_timeout_s;
  o.idle_timeout_s = opt.idle_timeout_s;
  http::ServerHooks hooks;
  hooks.on_request = [this](http::ServerRequest request) { on_request(std::move(request)); };
  hooks.on_hangup = [this](std::shared_ptr<void> exchange) {
    auto call = std::static_pointer_cast<Call>(exchange);
    if (!call->finished) abort_call(call, "client disconnected");
  };
  hooks.error_body = [](int status, std::string_view message) {
    return error_body(status, message);
  };
  hooks.on_refused = [this](http::ServerRefusal why, int status) {
    switch (why) {
      case http::ServerRefusal::kBadRequest:
        ++stats.errors.bad_request;
        break;
      case http::ServerRefusal::kTooLarge:
        ++stats.errors.too_large;
        break;
      case http::ServerRefusal::kTimeout:
        ++stats.errors.timeout;
        break;
      case http::ServerRefusal::kConnectionLimit:
        ++stats.errors.connection_limit;
        return;  // refused before any request: not a response to one
    }
    stats.count_response("invalid", status);
  };
  hooks.on_closed = [this] {
    if (stopping) maybe_finish_shutdown();
  };
  server = std::make_shared<http::ServerCore>(io.get_executor(), std::move(o), std::move(hooks));
}

// A complete request from a client: the head and body stay where the server read them.
void Router::Impl::on_request(http::ServerRequest request) {
  auto call = std::make_shared<Call>();
  call->client = std::move(request.conn);
  call->request = std::move(request.bytes);
  call->head = std::move(request.head);
  call->owned_body = std::move(request.owned_body);
  call->body = call->head.chunked ? std::string_view(call->owned_body)
                                  : call->request.data().substr(call->head.head_size);
  call->keep_alive = request.keep_alive;
  call->client->exchange = call;
  call->t_arrive = steady_now();
  call->arrived = clock->now();
  route(call);
}

// The response is written (or failed): the connection takes its next request or closes.
void Router::Impl::end_exchange(const CallPtr& call, bool write_ok) {
  if (call->request.capacity()) server->recycle(std::move(call->request));
  ConnPtr c = std::move(call->client);
  if (c) server->end_exchange(c, write_ok, call->keep_alive);
}

// A complete local response.
void Router::Impl::respond(const CallPtr& call, int status, std::string body,
                           std::string_view content_type, std::string_view extra_headers) {
  call->status = status;
  count_response(*call, status);
  const ConnPtr& c = call->client;
  if (!c || c->closed) {
    end_exchange(call, false);
    return;
  }
  format_response(call->out, status, content_type, body, extra_headers, call->keep_alive);
  asio::async_write(c->socket, asio::buffer(call->out),
                    [this, call](error_code ec, std::size_t) { end_exchange(call, !ec); });
}

// A response to a call whose outcome is already recorded (shutdown): always closes.
void Router::Impl::respond_after_finish(const CallPtr& call, std::string body) {
  const ConnPtr& c = call->client;
  if (!c || c->closed) return end_exchange(call, false);
  format_response(call->out, call->status, "application/json", body, {}, false);
  asio::async_write(c->socket, asio::buffer(call->out),
                    [this, call](error_code ec, std::size_t) { end_exchange(call, false); });
}

void Router::Impl::route(const CallPtr& call) {
  const std::string_view target = call->head.target;
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string_view method = call->head.method;
  if (path == "/v1/chat/completions" || path == "/v1/completions") {
    call->route = path == "/v1/completions" ? "completions" : "chat_completions";
    stats.count_request(call->route);
    if (method != "POST") return respond(call, 405, error_body(405, "use POST"));
    gateway_call(call);
    return;
  }
  if (is_admin_path(path)) {
    call->route = "router";
    stats.count_request(call->route);
    LocalResponse r = handle_admin(*this, method, path, call->body,
                                   call->head.field("authorization"), opt.admin_token);
    return respond(call, r.status, std::move(r.body), r.content_type, r.extra_headers);
  }
  // Anything else (GET /v1/models, /tokenize, /version, ...) goes to a backend as is.
  call->route = path == "/v1/models" ? "models" : "other";
  stats.count_request(call->route);
  plain_call(call);
}

// ------------------------------------------------------------------ AdminHost

std::vector<BackendStatus> Router::Impl::backend_statuses() const {
  std::vector<BackendStatus> out;
  out.reserve(backends.size());
  for (const Backend& b : backends) {
    out.push_back(b.status);
    out.back().idle_connections = b.pool.size();
  }
  return out;
}

std::string Router::Impl::metrics_text() {
  return render_metrics(stats, *gw, backend_statuses(), server->num_connections());
}

std::string Router::Impl::status_text() {
  StatusSettings s;
  s.policy = gw->policy().name();
  s.policy_params = &opt.policy_params;
  s.backend_type = backend_type();
  s.now_s = clock->now();
  s.uptime_real_s = std::chrono::duration<double>(steady_now() - started_real).count();
  s.time_scale = opt.time_scale;
  s.metrics_interval_s = opt.metrics_interval_s;
  s.program_ttl_s = opt.program_ttl_s;
  s.connections = server->num_connections();
  return status_json(stats, *gw, s);
}

}  // namespace agentsched::serve
