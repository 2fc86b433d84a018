// `agentsched check`: health and progress of a running experiment (live/run_check.h).
#include <fmt/format.h>
#include <poll.h>

#include <chrono>
#include <memory>

#include "cli/command_registry.h"
#include "core/time_format.h"
#include "live/process.h"
#include "live/run_check.h"

namespace agentsched::cli {
namespace {

struct CheckCli {
  int port = 0;
  int router_port = 0;
  std::string host = "127.0.0.1";
  std::string run_dir;
  double watch = 0;
  double stall_after = 600;
  std::string now;
};

void check(const CheckCli& c) {
  if (c.port == 0 && c.router_port == 0 && c.run_dir.empty())
    throw usage_error("nothing to check: give --port, --router-port and/or --run-dir");
  serve::CheckOptions o;
  o.host = c.host;
  if (c.port > 0) o.engine_port = static_cast<std::uint16_t>(c.port);
  if (c.router_port > 0) o.router_port = static_cast<std::uint16_t>(c.router_port);
  o.run_dir = c.run_dir;
  o.stall_after_s = c.stall_after;
  if (!c.now.empty()) {
    auto t = parse_datetime(c.now);
    if (!t) throw usage_error(fmt::format("--now '{}': expected YYYY-MM-DD HH:MM:SS", c.now));
    o.now_unix = *t;
  }
  if (c.watch <= 0) {
    const serve::CheckReport r = serve::run_check(o);
    fmt::print("{}", r.text);
    if (!r.healthy) throw CommandFailure{"check found a problem (see above)"};
    return;
  }
  serve::install_interrupt_flag();
  while (!serve::interrupted()) {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const serve::CheckReport r = serve::run_check(o);
    fmt::print("--- {} ---\n{}", format_datetime(now), r.text);
    std::fflush(stdout);
    // A finished run will not change again: stop watching it.
    if (r.verdict && r.verdict->kind == serve::VerdictKind::kDone) return;
    // Sleep in short steps so ^C is prompt.
    for (double waited = 0; waited < c.watch && !serve::interrupted(); waited += 0.2)
      ::poll(nullptr, 0, 200);
  }
}

void declare_options(CLI::App* cmd, CheckCli& c) {
  cmd->add_option("--port", c.port, "Engine port: health, models, KV usage, running/waiting")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--router-port", c.router_port, "Router port: health, backends, programs")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--host", c.host, "Host of the engine and router")->capture_default_str();
  cmd->add_option("--run-dir", c.run_dir, "Run folder (live, simulated or the reference's)");
  cmd->add_option("--watch", c.watch, "Repeat every S seconds until interrupted or the run is DONE")
      ->check(kNonNegativeNumber);
  cmd->add_option("--stall-after", c.stall_after,
                  "Seconds (the run's emulated time) without any log record before the run is "
                  "judged WAITING or STALLED")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--now", c.now,
                  "Judge the run as of this (UTC) time, e.g. for a post-mortem of a copied folder");
}

const RegisterCommand registration(
    42, "", "check",
    "Health of the engine and router and progress of a run, with an OK / WAITING / STALLED / "
    "DONE verdict that tells waiting on remote calls from a dead run (docs/live.md)",
    declare_options, check);

}  // namespace
}  // namespace agentsched::cli
