#pragma once
// `agentsched experiment run`: a whole matrix (systems x concurrencies) end to end, each cell
// in BASE/<system>_c<C>/, then the comparison tables and plots. In live mode a cell starts
// what its system needs -- engine processes from a command template, the router when the
// system has a gateway policy, the KV sampler, the driver --, checks free ports and
// readiness first, runs, and stops everything it started (SIGTERM, then SIGKILL after a
// grace period). Finished cells are skipped unless forced. The simulated mode runs the
// simulator into the same layout (the CLI supplies that cell runner: serve never includes
// sim).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "gateway/systems.h"

namespace agentsched::serve {

struct ExperimentConfig {
  std::string mode = "sim";  // sim | live
  std::vector<std::string> systems;
  std::vector<int> concurrency;
  std::filesystem::path out;
  std::string workload = "tau2";
  std::uint64_t seed = 1;
  int max_programs = 0;
  // Open-loop arrival stages (as `sim --arrivals`); "": closed loop, C programs in flight.
  std::string arrivals;
  std::string profile;  // "" = the default profile
  // Host-memory KV tier in GiB for the simulator and the emulator (docs/host-tier.md); < 0:
  // the profile's host.kv_gib. Live, the default engine command passes it as --host-kv-gib;
  // a command template may use {host_kv_gib}.
  double host_kv_gib = -1;
  double threshold = 70;
  bool force = false;
  bool plots = true;
  // Gateway policy parameters for the systems that have a gateway policy (as `sim --param`);
  // applied in both modes.
  std::map<std::string, double> gateway_params;
  // Engine policy parameters (as `sim --engine-param`), same scoping; applied in both modes.
  std::map<std::string, double> engine_params;

  // Live mode.
  double time_scale = 1;  // the emulated GPU's speed and every process's clock
  std::string host = "127.0.0.1";
  std::uint16_t base_port =
      0;             // engines at base, base+1, ...; the router after them; 0: free ports
  int backends = 1;  // engines per cell (behind the router for router systems)
  // Command templates (see docs/live.md for the placeholders); "" = the built-in ones.
  std::string engine_command;
  std::string router_command;
  bool engine_command_is_emulator = true;  // false once a template is given
  double ready_timeout_s = 600;            // real seconds for an engine/router to answer /health
  double stop_grace_s = 30;                // real seconds between SIGTERM and SIGKILL
  double sample_interval_s = 5;            // emulated seconds
  std::string model_config;                // the driver's --model-config
  int max_attempts = 5;                    // the driver's retry cap
  double request_timeout_s = 0;            // the driver's per-attempt deadline (emulated)
  std::string extra_driver_args;           // appended to the drive command line
};

// Reads an experiment TOML file (docs/live.md shows every key). Unknown keys are errors, so
// a typo cannot silently fall back to a default.
Result<ExperimentConfig> parse_experiment_config(std::string_view toml_text,
                                                 std::string_view origin);
Result<ExperimentConfig> load_experiment_config(const std::filesystem::path& path);

struct ExperimentCell {
  SystemSpec system;  // from the one registry, gateway/systems.h
  int concurrency = 0;
  std::filesystem::path dir;  // BASE/<system>_c<C>
  std::string name() const;
};

// A cell is finished when its driver.log has the closing line and its metrics JSON exists.
bool cell_finished(const std::filesystem::path& dir);
// Removes a cell's run files before it runs again; refuses while a sampler still writes its
// CSV (a leftover process of an earlier run).
Status clear_cell(const std::filesystem::path& dir);

// Replaces {name} placeholders; an unknown name is an error naming it.
Result<std::string> expand_template(std::string_view text,
                                    const std::map<std::string, std::string>& values);

struct LiveCellOutcome {
  bool ok = false;
  std::string error;
  double wall_s = 0;
};

// Runs one live cell: engines, router, sampler, driver; stops them all in every case.
// `progress` is called about once a second with a one-line status.
LiveCellOutcome run_live_cell(const ExperimentConfig& config, const ExperimentCell& cell,
                              const std::function<void(const std::string&)>& progress);

// Writes BASE/summary.md, summary.json and (unless disabled) kv_usage.svg and
// throughput.svg from the finished cells; returns the markdown tables.
Result<std::string> write_experiment_summary(const ExperimentConfig& config,
                                             const std::vector<ExperimentCell>& cells);

}  // namespace agentsched::serve
