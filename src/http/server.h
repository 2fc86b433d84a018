#pragma once
// HTTP/1.1 server with a coroutine handler per request: a thin layer over the server engine
// the router runs on (server_core.h: connections, keep-alive, pipelining, limits), which
// copies each request into a Request and writes complete or chunked streaming responses,
// with notice of a client that hangs up while its request is being handled.
// Single-threaded by design: handlers run on the executor given, so state shared with them
// needs no locks.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace agentsched::http {

using boost::system::error_code;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  Headers headers;     // names in lower case
  std::string body;

  // The target without its query string.
  std::string_view path() const;
  // The value of a header (name in lower case), "" when absent.
  std::string_view header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Headers headers;  // extra headers
};

// One request being handled. A handler either respond()s once, or begin_stream()s, write()s
// any number of chunks and end_stream()s. Errors mean the client is gone; the connection is
// closed after the handler returns.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  virtual boost::asio::awaitable<error_code> respond(Response response) = 0;
  // Sends the status line and headers of a chunked response.
  virtual boost::asio::awaitable<error_code> begin_stream(int status, std::string content_type,
                                                          Headers headers = {}) = 0;
  virtual boost::asio::awaitable<error_code> write(std::string_view data) = 0;
  virtual boost::asio::awaitable<error_code> end_stream() = 0;
  // Sends the head of `response` (with the Content-Length of its whole body) and only the
  // first `body_bytes` bytes of the body; the connection is then closed. A server dying
  // mid-answer, for fault injection.
  virtual boost::asio::awaitable<error_code> respond_truncated(Response response,
                                                               std::size_t body_bytes) = 0;
  // Calls `callback` once if the client closes the connection before the handler returns
  // (the engine then aborts the request and frees its KV blocks).
  virtual void on_disconnect(std::function<void()> callback) = 0;
  virtual bool client_gone() const = 0;
};

struct ServerOptions {
  std::size_t body_limit = 64u << 20;  // bytes; larger requests get 413
  std::string server_name = "agentsched";
};

class Server {
 public:
  using Handler = std::function<boost::asio::awaitable<void>(Exchange&)>;

  Server(boost::asio::any_io_executor executor, Handler handler, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; port 0 picks a free port (see port()).
  Status listen(std::string_view host, std::uint16_t port);
  std::uint16_t port() const;
  // Starts accepting connections.
  void start();
  // Stops accepting and closes idle keep-alive connections; a connection busy with a request
  // closes after its response. Handlers in flight are left to finish.
  void stop();
  // Open connections; one whose client hung up counts until its handler returns.
  std::size_t num_connections() const;
  std::size_t num_active_requests() const;

  struct State;  // implementation detail, shared with the connection coroutines

 private:
  std::shared_ptr<State> state_;
};

}  // namespace agentsched::http
