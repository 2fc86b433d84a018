#pragma once
// The process around a server (`agentsched engine`, `agentsched router`): the descriptor limit
// raised (fd_limit.h), SIGPIPE ignored (a vanished peer must cost an error code, not the
// process), and SIGINT/SIGTERM caught from construction on, before the port is announced
// (whoever reads the announcement may send SIGTERM at once): the first signal starts a
// graceful shutdown, a second one makes it drop what is still in flight.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace agentsched::http {

class ServerProcess {
 public:
  // `shutdown(done)` stops the server gracefully and calls `done` once it has; it is called
  // again on a second signal. `name` ("agentsched router") starts the lines on stderr.
  using Shutdown = std::function<void(std::function<void()> done)>;
  ServerProcess(boost::asio::io_context& io, std::string name, Shutdown shutdown);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // The descriptor limit now in force.
  std::uint64_t fd_limit() const;
  // Prints `listening on HOST:PORT` on stdout, then runs the io_context until the server has
  // shut down.
  void run(std::string_view host, std::uint16_t port);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace agentsched::http
