#pragma once
// The process around a server (`agentsched engine`, `agentsched router`): the descriptor limit
// raised (fd_limit.h), SIGPIPE ignored (a vanished peer must cost an error code, not the
// process), and SIGINT/SIGTERM caught from construction on, before the port is announced
// (whoever reads the announcement may send SIGTERM at once): the first signal starts a
// graceful shutdown, a second one makes it drop what is still in flight.
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
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
  // The same for `server` (an EngineServer, a Router: start() -> Status, shutdown(done)),
  // which is then started; a failure to start throws std::runtime_error.
  template <class Server>
  ServerProcess(boost::asio::io_context& io, std::string name, Server& server)
      : ServerProcess(io, std::move(name),
                      [&server](std::function<void()> done) { server.shutdown(std::move(done)); }) {
    if (auto st = server.start(); !st) throw std::runtime_error(st.error().message);
  }
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
