// `agentsched sample`: the KV-usage sampler (live/kv_sampler.h).
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <memory>

#include "cli/command_registry.h"
#include "cli/options.h"
#include "live/kv_sampler.h"
#include "live/process.h"

namespace agentsched::cli {
namespace {

struct SampleCli {
  serve::SamplerOptions options;  // what the options below fill in directly
  std::string ports;
  std::string out;
  double clock_origin = 0;
  int stop_with_pid = 0;
  std::string run_dir;
  bool no_parent_watch = false;
};

void sample(const SampleCli& c) {
  serve::SamplerOptions o = c.options;
  auto ports = serve::parse_port_list(c.ports);
  if (!ports) throw CommandFailure{"--ports: " + ports.error().message};
  o.ports = *ports;
  o.out = c.out;
  if (c.clock_origin > 0) o.clock_origin_unix = c.clock_origin;
  o.run_dir = c.run_dir;
  if (c.stop_with_pid > 0) {
    o.watch_pid = c.stop_with_pid;
  } else if (!c.no_parent_watch) {
    // Stop with the parent run (docs/reference-study.md 7.1): when the process that started us
    // ends, so do we -- by signal at once, and by a check between samples in case the signal is
    // lost (the parent already gone before prctl).
    const pid_t parent = getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (parent > 1) o.watch_pid = parent;
  }
  if (c.no_parent_watch && c.stop_with_pid <= 0 && o.duration_s <= 0 && c.run_dir.empty())
    throw CommandFailure{
        "--no-parent-watch needs another way to stop: --duration, --run-dir or --stop-with-pid "
        "(a sampler that never stops pollutes the next run's CSV)"};
  serve::install_interrupt_flag();
  o.stop_requested = [] { return serve::interrupted(); };
  fmt::print(stderr, "agentsched sample: ports {} on {} every {:g} s (time scale {:g}) into {}\n",
             c.ports, o.host, o.interval_s, o.time_scale, c.out);
  auto result = serve::run_sampler(o);
  if (!result) throw CommandFailure{result.error().message};
  fmt::print(stderr, "agentsched sample: {} samples, {} rows ({} NaN); stopped: {}\n",
             result->ticks, result->rows, result->nan_rows,
             result->stop_reason.empty() ? "done" : result->stop_reason);
}

void declare_options(CLI::App* cmd, SampleCli& c) {
  cmd->add_option("--ports", c.ports, "Engine ports, comma-separated (e.g. 8000,8001)")->required();
  cmd->add_option("--host", c.options.host, "Engine host")->capture_default_str();
  cmd->add_option("--interval", c.options.interval_s, "Seconds between samples (emulated)")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--out", c.out, "CSV file to write (a new one, or one without samples)")
      ->required();
  add_time_scale_option(cmd, c.options.time_scale, "Emulated seconds per real second");
  cmd->add_option("--clock-origin", c.clock_origin,
                  "Real Unix time where emulated and real time coincide (the run's; default: "
                  "now)");
  cmd->add_flag("--force", c.options.force,
                "Replace a file that already holds samples (never one another sampler writes)");
  cmd->add_option("--duration", c.options.duration_s, "Stop after this many (emulated) seconds")
      ->check(kNonNegativeNumber);
  cmd->add_option("--stop-with-pid", c.stop_with_pid,
                  "Stop when this process exits (instead of the parent)");
  cmd->add_option("--run-dir", c.run_dir,
                  "Stop after one last sample once the driver's run in this folder is over");
  cmd->add_flag("--no-parent-watch", c.no_parent_watch,
                "Keep running after the parent exits (needs --duration, --run-dir or "
                "--stop-with-pid)");
}

const RegisterCommand registration(
    41, "", "sample",
    "KV-usage sampler: /metrics of engine ports -> the reference's kv_cache_timeseries.csv; "
    "stops with its parent, refuses another run's file (docs/live.md)",
    declare_options, sample);

}  // namespace
}  // namespace agentsched::cli
