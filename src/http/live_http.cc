#include "http/live_http.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <memory>

namespace agentsched::serve {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

awaitable<Result<http::ClientResponse>> timed_request(http::HttpClient& client,
                                                      HttpEndpoint endpoint, std::string method,
                                                      std::string target, std::string body,
                                                      std::chrono::steady_clock::duration timeout,
                                                      http::Headers headers) {
  auto timed_out = std::make_shared<bool>(false);
  std::optional<asio::steady_timer> timer;
  if (timeout.count() > 0) {
    timer.emplace(co_await asio::this_coro::executor);
    timer->expires_after(timeout);
    timer->async_wait([&client, timed_out](boost::system::error_code ec) {
      if (ec) return;
      *timed_out = true;
      client.close();  // fails the pending operation
    });
  }
  Result<http::ClientResponse> reply = make_error("not sent");
  if (!client.is_open()) {
    if (auto st = co_await client.connect(endpoint.host, endpoint.port); !st) {
      reply = st.error();
    }
  }
  if (client.is_open() && !*timed_out)
    reply = co_await client.request(method, target, body, std::move(headers));
  if (timer) timer->cancel();
  if (*timed_out) {
    client.close();
    co_return make_error(fmt::format("{} {} on {}: no reply within {:.3g} s (real)", method, target,
                                     endpoint.url(),
                                     std::chrono::duration<double>(timeout).count()));
  }
  co_return reply;
}

std::string one_line(std::string_view text, std::size_t max_length) {
  std::string out;
  out.reserve(std::min(text.size(), max_length));
  for (char c : text) {
    if (out.size() >= max_length) {
      out += "...";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out;
}

std::string error_message_of(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (!ec) {
    if (const auto* o = doc.if_object()) {
      if (const auto* m = o->if_contains("message"); m && m->is_string())
        return one_line(m->get_string());
      if (const auto* e = o->if_contains("error")) {
        if (e->is_string()) return one_line(e->get_string());
        if (const auto* eo = e->if_object())
          if (const auto* m = eo->if_contains("message"); m && m->is_string())
            return one_line(m->get_string());
      }
      if (const auto* d = o->if_contains("detail")) {
        if (d->is_string()) return one_line(d->get_string());
        return one_line(json::serialize(*d));
      }
    }
  }
  return one_line(body);
}

CallFailure classify_failure(const Result<http::ClientResponse>& reply) {
  if (!reply) return {true, one_line(reply.error().message)};
  const int status = reply->status;
  const std::string message = error_message_of(reply->body);
  const bool transient = status == 408 || status == 429 || (status >= 500 && status <= 599);
  if (!transient && message.find("maximum context length") != std::string::npos)
    return {false, fmt::format("context length exceeded (HTTP {}): {}", status, message)};
  return {transient, fmt::format("HTTP {}: {}", status, message)};
}

std::optional<double> query_time_scale(const std::string& host, std::uint16_t port,
                                       double timeout_s) {
  const std::string get = "GET";
  auto r = http::fetch(host, port, get, "/version", {}, {}, timeout_s);
  if (!r || r->status != 200) return std::nullopt;
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(r->body, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const boost::json::value* scale = doc.as_object().if_contains("time_scale");
  if (!scale || !scale->is_number()) return std::nullopt;
  const double value = scale->to_number<double>();
  if (!(value > 0) || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<std::string> time_scale_mismatch(std::string_view who, double ours,
                                               std::string_view where, double theirs) {
  if (std::fabs(ours - theirs) <= 1e-9 * std::max(ours, theirs)) return std::nullopt;
  return fmt::format(
      "{} runs at --time-scale {:g} but the engine at {} runs at {:g}: waits, timeouts and "
      "timestamps will disagree; give engine, router and drive the same --time-scale",
      who, ours, where, theirs);
}

}  // namespace agentsched::serve
