#pragma once
// The listening socket of every HTTP/1 server here (http::Server and the router): bind and
// listen with the same error messages, then an accept loop that sets TCP_NODELAY on each new
// connection and backs off 50 ms on an accept error (out of descriptors) instead of
// spinning. What happens to a connection is the owner's: it gets the socket.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "core/result.h"

namespace agentsched::http {

class Listener {
 public:
  using OnSocket = std::function<void(boost::asio::ip::tcp::socket)>;

  explicit Listener(boost::asio::any_io_executor executor);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens; port 0 picks a free port (see port()). Errors name the address.
  Status listen(std::string_view host, std::uint16_t port);
  std::uint16_t port() const;
  bool is_open() const;
  // Starts accepting: `on_socket` gets every accepted connection (TCP_NODELAY set), on the
  // executor, until close().
  void start(OnSocket on_socket);
  // Stops accepting (an accept in progress completes with nothing).
  void close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace agentsched::http
