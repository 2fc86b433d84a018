#pragma once
// A matrix of simulated runs (systems x concurrencies), run in parallel across cores, each
// into <out>/<system>_c<C>/.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sim/simulation.h"

namespace agentsched {

struct MatrixCell {
  SystemSpec system;
  int concurrency = 0;
  std::uint64_t seed = 0;  // the workload seed of this cell
  std::filesystem::path dir;
  std::string name() const;  // <system>_c<C> (plus _s<seed> when the matrix has seeds)
};

struct MatrixCellOutcome {
  MatrixCell cell;
  bool ok = false;
  std::string error;
  SimResult result;
};

struct MatrixOptions {
  std::vector<SystemSpec> systems;
  std::vector<int> concurrency;
  // One workload per seed; with several seeds every cell runs once per seed, into
  // <system>_c<C>_s<seed>/.
  std::vector<std::shared_ptr<const Workload>> workloads;
  SimOptions base;  // profile, backends, max_programs, intervals...
  std::filesystem::path out;
  int jobs = 0;  // 0: one per core
  // Called (from worker threads, serialised) when a cell starts or ends.
  std::function<void(const MatrixCell&, bool done, long finished, long total)> progress;
  // Called (serialised, as `progress`) with each cell's outcome as it ends.
  std::function<void(const MatrixCellOutcome&)> on_done;
};

// Every cell of systems x concurrency x workloads, into <out>/<system>_c<C>[_s<seed>]/.
std::vector<MatrixCellOutcome> run_matrix(const MatrixOptions& options);
// The given cells (dir and seed set; a seed names one of `options.workloads`), each with
// `options.base`, in parallel on `options.jobs` threads; outcomes in the cells' order.
// `options.systems`, `concurrency` and `out` are not used.
std::vector<MatrixCellOutcome> run_cells(const std::vector<MatrixCell>& cells,
                                         const MatrixOptions& options);

}  // namespace agentsched
