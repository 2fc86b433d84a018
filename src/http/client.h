#pragma once
// HTTP/1.1 client on Asio C++20 coroutines: one keep-alive connection per HttpClient, whole
// or streamed response bodies, on the router's upstream pieces (upstream.h): requests written
// with its request head writer (build_upstream_head), responses read with its parser and body
// reader. Used by the router's /metrics polls, the driver, the tools, the tests and the
// benchmarks.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/server.h"

namespace agentsched::http {

struct ClientResponse {
  int status = 0;
  Headers headers;   // names in lower case
  std::string body;  // empty for streamed requests

  std::string_view header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(boost::asio::any_io_executor executor);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // (These wrappers copy their arguments into the coroutines below: GCC 12 miscompiles
  // string literals passed straight to a coroutine's std::string parameters.)
  boost::asio::awaitable<Status> connect(std::string_view host, std::uint16_t port) {
    return do_connect(std::string(host), port);
  }
  bool is_open() const;
  void close();

  // Sends a request and reads the whole response. A body without a content-type header is
  // sent as application/json.
  boost::asio::awaitable<Result<ClientResponse>> request(std::string_view method,
                                                         std::string_view target,
                                                         std::string_view body = {},
                                                         Headers headers = {}) {
    return do_request(std::string(method), std::string(target), std::string(body),
                      std::move(headers));
  }
  // Same, but hands the response body to `on_data` piece by piece as it arrives (chunk
  // framing removed); the returned response has status and headers only.
  boost::asio::awaitable<Result<ClientResponse>> stream(
      std::string_view method, std::string_view target, std::string_view body, Headers headers,
      std::function<void(std::string_view)> on_data) {
    return do_stream(std::string(method), std::string(target), std::string(body),
                     std::move(headers), std::move(on_data));
  }

 private:
  boost::asio::awaitable<Status> do_connect(std::string host, std::uint16_t port);
  boost::asio::awaitable<Result<ClientResponse>> do_request(std::string method, std::string target,
                                                            std::string body, Headers headers);
  boost::asio::awaitable<Result<ClientResponse>> do_stream(
      std::string method, std::string target, std::string body, Headers headers,
      std::function<void(std::string_view)> on_data);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection and a private io_context, blocking up to timeout_s.
// For tests and command-line tools; servers use HttpClient.
Result<ClientResponse> fetch(std::string_view host, std::uint16_t port, std::string_view method,
                             std::string_view target, std::string_view body = {},
                             const Headers& headers = {}, double timeout_s = 30);

}  // namespace agentsched::http
