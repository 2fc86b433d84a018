#include "http/listener.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <chrono>
#include <string>

namespace agentsched::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct Listener::State : std::enable_shared_from_this<Listener::State> {
  explicit State(asio::any_io_executor ex) : executor(ex), acceptor(ex) {}
  asio::any_io_executor executor;
  tcp::acceptor acceptor;
  OnSocket on_socket;
  bool closed = false;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (self->closed || !self->acceptor.is_open()) return;
      if (ec) {
        // Out of descriptors or a transient error: back off briefly instead of spinning.
        auto timer =
            std::make_shared<asio::steady_timer>(self->executor, std::chrono::milliseconds(50));
        timer->async_wait([self, timer](error_code) {
          if (!self->closed) self->accept();
        });
        return;
      }
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      // Accept the next one first: the handler may close the listener (shutdown).
      self->accept();
      self->on_socket(std::move(socket));
    });
  }
};

Listener::Listener(asio::any_io_executor executor) : state_(std::make_shared<State>(executor)) {}

Listener::~Listener() {
  close();
}

Status Listener::listen(std::string_view host, std::uint16_t port) {
  error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) return make_error(fmt::format("invalid listen address '{}': {}", host, ec.message()));
  const tcp::endpoint endpoint(address, port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    return make_error(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  return Ok{};
}

std::uint16_t Listener::port() const {
  error_code ec;
  const auto endpoint = state_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

bool Listener::is_open() const {
  return !state_->closed && state_->acceptor.is_open();
}

void Listener::start(OnSocket on_socket) {
  state_->on_socket = std::move(on_socket);
  state_->accept();
}

void Listener::close() {
  state_->closed = true;
  error_code ignored;
  state_->acceptor.close(ignored);
}

}  // namespace agentsched::http
