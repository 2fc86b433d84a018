#pragma once
// Requests of the live tools (driver, sampler, checker): a request with a deadline on a
// keep-alive client, and how a failed call is classified -- retried (transient) or ended for
// good (a 4xx such as "maximum context length"), so no caller can retry forever.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/client.h"
#include "http/endpoint.h"

namespace agentsched::serve {

// Sends one request on `client`, connecting to `endpoint` first when the client is closed.
// Gives up after `timeout` (real time; zero = no deadline) by closing the connection. The
// arguments are taken by value: GCC 12 mishandles references to temporaries in coroutines.
boost::asio::awaitable<Result<http::ClientResponse>> timed_request(
    http::HttpClient& client, HttpEndpoint endpoint, std::string method, std::string target,
    std::string body, std::chrono::steady_clock::duration timeout, http::Headers headers = {});

struct CallFailure {
  bool transient = false;  // worth another attempt
  std::string reason;      // one line, for driver.log
};

// Classifies a reply that was not a success. Transient: no reply (connection refused, reset,
// timeout), 408, 429 and 5xx. Permanent: every other status, "maximum context length"
// errors included (retrying the same prompt cannot succeed). The reason quotes the server's
// error message (vLLM's `message`, OpenAI's `error.message`, FastAPI's `detail`).
CallFailure classify_failure(const Result<http::ClientResponse>& reply);

// The error text of an error reply body, or the body itself (shortened) when it has none.
std::string error_message_of(std::string_view body);

// The time scale an agentsched engine reports in GET /version ("time_scale"); nullopt when
// the endpoint does not answer or does not say (vLLM, SGLang).
std::optional<double> query_time_scale(const std::string& host, std::uint16_t port,
                                       double timeout_s = 2);

// A warning when `ours` (this process's --time-scale) differs from the scale `theirs` of the
// process at `where`; nullopt when they agree.
std::optional<std::string> time_scale_mismatch(std::string_view who, double ours,
                                               std::string_view where, double theirs);

// Text safe for one log line: newlines and tabs become spaces, at most `max_length` bytes.
std::string one_line(std::string_view text, std::size_t max_length = 300);

}  // namespace agentsched::serve
