#include "http/server_process.h"

#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>

#include "http/fd_limit.h"

namespace agentsched::http {

namespace asio = boost::asio;
using boost::system::error_code;

struct ServerProcess::State {
  State(asio::io_context& io_, std::string name_, Shutdown shutdown_)
      : io(io_), name(std::move(name_)), shutdown(std::move(shutdown_)), signals(io_) {}
  asio::io_context& io;
  std::string name;
  Shutdown shutdown;
  asio::signal_set signals;
  std::uint64_t fd_limit = 0;
  bool stopped = false;

  void wait() {
    signals.async_wait([this](error_code ec, int sig) {
      if (ec || stopped) return;
      std::fprintf(stderr, "%s: signal %d, shutting down\n", name.c_str(), sig);
      wait();  // a second signal drops what is still in flight
      shutdown([this] {
        stopped = true;
        signals.cancel();
      });
    });
  }
};

ServerProcess::ServerProcess(asio::io_context& io, std::string name, Shutdown shutdown)
    : state_(std::make_unique<State>(io, std::move(name), std::move(shutdown))) {
  state_->fd_limit = raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);
  state_->signals.add(SIGINT);
  state_->signals.add(SIGTERM);
  state_->wait();
}

ServerProcess::~ServerProcess() = default;

std::uint64_t ServerProcess::fd_limit() const {
  return state_->fd_limit;
}

void ServerProcess::run(std::string_view host, std::uint16_t port) {
  std::printf("listening on %.*s:%u\n", static_cast<int>(host.size()), host.data(),
              static_cast<unsigned>(port));
  std::fflush(stdout);
  state_->io.run();
  std::fprintf(stderr, "%s: stopped\n", state_->name.c_str());
}

}  // namespace agentsched::http
