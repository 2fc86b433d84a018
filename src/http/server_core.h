#pragma once
// The HTTP/1.1 server engine of every server here (the router, and http::Server with its
// Exchange API, server.h): client connections from the shared listener (listener.h), request
// heads parsed in place (http1_parse.h) into a pooled buffer, bodies read whole
// (Content-Length or chunked, up to a limit: 413), `Expect: 100-continue`, pipelining, a
// connection limit (503), header, body and idle deadlines (408), and error answers with a
// drain before close (so that the answer is not destroyed by a reset).
//
// Callbacks, not coroutines, and no copy: the owner gets each request as a ServerRequest,
// its head and body views into the connection's buffer, answers it on the connection's
// socket however it likes, and calls end_exchange() when done; the connection then takes its
// next (pipelined) request or closes. While a request is in progress the connection keeps
// reading, so a client that hangs up is noticed at once (ServerHooks::on_hangup). Made with
// std::make_shared (pending reads and writes hold it). Single-threaded: everything runs on
// the executor given.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/result.h"
#include "http/byte_buffer.h"
#include "http/http1_parse.h"

namespace agentsched::http {

using SteadyTime = std::chrono::steady_clock::time_point;

// One client connection.
struct ServerConnection {
  ServerConnection(boost::asio::ip::tcp::socket s, ByteBuffer buffer)
      : socket(std::move(s)), in(std::move(buffer)) {}
  boost::asio::ip::tcp::socket socket;
  ByteBuffer in;
  MessageHead head;  // scratch: views are only valid until `in` moves
  bool reading = false;
  bool closed = false;
  bool busy = false;           // a request is being handled
  bool pending = false;        // bytes of an unfinished request are buffered
  bool continue_sent = false;  // "100 Continue" sent for the current request
  SteadyTime request_started{};
  SteadyTime last_active{};
  // The owner's state for the request being handled (ServerRequest::exchange), handed to
  // Hooks::on_hangup.
  std::shared_ptr<void> exchange;
  // A chunked request body, decoded as it arrives.
  ChunkedDecoder dechunk;
  std::string chunked_body;
  std::size_t dechunk_pos = 0;  // request bytes already fed to `dechunk`
  std::size_t want = 0;         // bytes still missing from the current request, when known
  // After an error answer to a request not read to its end: our side is shut, the rest of
  // what the client sends is read and dropped until it closes (or 2 s have passed).
  bool draining = false;
  std::unique_ptr<boost::asio::steady_timer> drain_deadline;
};
using ServerConnPtr = std::shared_ptr<ServerConnection>;

// A complete request: the head and a Content-Length body are views into `bytes` (head and
// body as the client sent them); a chunked body is de-chunked into `owned_body`.
struct ServerRequest {
  ServerConnPtr conn;
  ByteBuffer bytes;
  MessageHead head;
  std::string owned_body;
  bool keep_alive = true;  // the client's wish, and the server not stopping

  // A function, not a member: a short owned_body moves with the request's bytes inline.
  std::string_view body() const {
    return head.chunked ? std::string_view(owned_body) : bytes.data().substr(head.head_size);
  }
};

struct ServerCoreOptions {
  std::string server_name = "agentsched";  // `server` of the error answers
  std::string self_name = "the server";    // in messages: "the server is at its connection limit"
  std::size_t max_body_bytes = 64u << 20;  // larger requests get 413
  HeadLimits head_limits;                  // a larger head gets 431
  std::size_t max_connections = 0;         // more get 503 and are closed; 0 = no limit
  // Real seconds; 0 = none. A request head must arrive within header_timeout_s and the whole
  // request within body_timeout_s (408); idle keep-alive connections are closed.
  double header_timeout_s = 0;
  double body_timeout_s = 0;
  double idle_timeout_s = 0;
};

// Why the server answered a request itself.
enum class ServerRefusal { kBadRequest, kTooLarge, kTimeout, kConnectionLimit };

struct ServerHooks {
  // A complete request; answer it on request.conn->socket and then call end_exchange().
  // Storing the owner's state in request.conn->exchange makes on_hangup hand it back.
  std::function<void(ServerRequest request)> on_request;
  // The client hung up while its request was being handled (the connection is closed).
  std::function<void(std::shared_ptr<void> exchange)> on_hangup;
  // The JSON body of an error answer (400, 408, 413, 431, 503).
  std::function<std::string(int status, std::string_view message)> error_body;
  // An error answer was sent (for counters).
  std::function<void(ServerRefusal why, int status)> on_refused;
  // A connection closed (a graceful shutdown waits for none to be left).
  std::function<void()> on_closed;
};

class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(boost::asio::any_io_executor executor, ServerCoreOptions options, ServerHooks hooks);
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  // A new connection, from the owner's listener (listener.h).
  void adopt(boost::asio::ip::tcp::socket socket);
  // Takes no new connections or requests and closes idle connections; a connection busy with
  // a request closes after its response (end_exchange). The owner closes its listener.
  void stop();
  // Closes every connection at once.
  void close_all();
  bool stopping() const { return stopping_; }

  // The exchange on `c` is over: its response was written (write_ok) or not. The connection
  // takes its next request, or closes when the write failed, !keep_alive or stopping.
  void end_exchange(const ServerConnPtr& c, bool write_ok, bool keep_alive);
  // Closes `c` now (a truncated response, an aborted call).
  void close(const ServerConnPtr& c);
  // A request buffer the owner is done with (ServerRequest::bytes), for the next request.
  void recycle(ByteBuffer&& bytes) { pool_.give(std::move(bytes)); }

  // Requests and connections past their deadlines: 408, or closed. Call about once a second.
  void sweep();

  std::size_t num_connections() const { return conns_.size(); }

 private:
  void read(const ServerConnPtr& c);
  void on_read(const ServerConnPtr& c, boost::system::error_code ec, std::size_t n);
  void process_input(const ServerConnPtr& c);
  void send_continue(const ServerConnPtr& c);
  void refuse(const ServerConnPtr& c, ServerRefusal why, int status, std::string_view message);
  void dispatch(const ServerConnPtr& c, std::size_t total);
  void hangup(const ServerConnPtr& c);

  boost::asio::any_io_executor executor_;
  ServerCoreOptions options_;
  ServerHooks hooks_;
  std::unordered_set<ServerConnPtr> conns_;
  BufferPool pool_;
  bool stopping_ = false;
};

// "OK", "Not Found", ...; "Unknown" for a status not listed.
std::string_view reason_phrase(int status);
// A response head: status line, `server`, content-type (when not empty), content-length (or
// `transfer-encoding: chunked` when nullopt), `extra_headers` (each ending in CRLF),
// `connection: close` unless keep_alive, and the blank line.
void format_response_head(std::string& out, std::string_view server_name, int status,
                          std::string_view content_type, std::optional<std::size_t> content_length,
                          std::string_view extra_headers, bool keep_alive);
// A complete response: its head (with the body's content-length), then the body.
void format_response(std::string& out, std::string_view server_name, int status,
                     std::string_view content_type, std::string_view body,
                     std::string_view extra_headers, bool keep_alive);

}  // namespace agentsched::http
