#pragma once
// What-if studies on top of the matrix (`sim sweep`, `sim report`): named knobs that change
// the profile, the tau2 workload or the simulator; sweeps of one knob over values, each value
// a full matrix (systems x concurrencies x seeds) in its own folder; and a description of the
// calibrated configuration, every parameter with its basis, for docs/fidelity.md.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "model/profile.h"
#include "sim/matrix.h"
#include "workload/tau2_generator.h"

namespace agentsched {

// Everything a knob can change.
struct StudyConfig {
  Profile profile;
  std::string workload = "tau2";  // "tau2" or a JSONL trace (workload knobs need tau2)
  Tau2Params tau2;
  std::int64_t kv_blocks = 0;  // 0: the profile's capacity
  bool share_heads = true;
  double call_timeout_s = 0;  // the client's budget per LLM call; 0: none
  double arrival_rate = 0;    // open loop: programs per second (Poisson); 0: closed loop
  // Policy parameters set by the knobs param.NAME and engine-param.NAME: each applies to the
  // systems whose gateway (engine) policy has a parameter of that name.
  PolicyParams gateway_params;
  EnginePolicyParams engine_params;
};

struct KnobInfo {
  std::string name;
  std::string help;
};
// kv-blocks, shared-heads, the tau2 scales (wait-scale, turns-scale, output-scale,
// tool-result-scale), policy parameters (param.NAME for gateway policies, engine-param.NAME
// for engine policies, e.g. engine-param.beta) and every settable profile field by its TOML
// path (cost.compute_factor, engine.reserved_gib, gpu.bandwidth_gb_s, ...).
std::vector<KnobInfo> knob_infos();
Status set_knob(StudyConfig& config, std::string_view name, double value);
// The knob's value in `config` (what a sweep point leaves unchanged), for tables.
Result<double> knob_value(const StudyConfig& config, std::string_view name);

struct SweepAxis {
  std::string knob;
  std::vector<double> values;
};
// "name=v1,v2,..." (values validated against the knob on a copy of `config`).
Result<SweepAxis> parse_sweep_axis(std::string_view text, const StudyConfig& config);
// "name=value".
Result<std::pair<std::string, double>> parse_knob_setting(std::string_view text);

// The matrix of systems x concurrencies x seeds for one configuration.
struct StudyMatrix {
  std::vector<SystemSpec> systems;
  std::vector<int> concurrency;
  std::vector<std::uint64_t> seeds;
  int jobs = 0;
  bool overwrite = false;
  std::function<void(const MatrixCell&, bool done, long finished, long total)> progress;
};
Result<MatrixOptions> matrix_options(const StudyConfig& config, const StudyMatrix& matrix,
                                     const std::filesystem::path& out);

struct SweepPoint {
  double value = 0;
  std::string label;  // <knob>=<value>, the point's folder name
  std::filesystem::path dir;
  std::vector<MatrixCellOutcome> cells;
};

// Runs the matrix once per value of the axis, into <out>/<knob>=<value>/.
Result<std::vector<SweepPoint>> run_sweep(const StudyConfig& base, const SweepAxis& axis,
                                          const StudyMatrix& matrix,
                                          const std::filesystem::path& out);

// The calibrated configuration, one row per parameter: its value (computed from `config`) and
// the basis of that value.
struct CalibrationRow {
  std::string group;
  std::string parameter;
  std::string value;
  std::string basis;
};
std::vector<CalibrationRow> describe_calibration(const StudyConfig& config);

}  // namespace agentsched
