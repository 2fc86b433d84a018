#include "sim/matrix.h"

#include <fmt/format.h>

#include <mutex>

#include "core/parallel.h"

namespace agentsched {

std::string MatrixCell::name() const {
  return fmt::format("{}_c{}", system.name, concurrency);
}

std::vector<MatrixCellOutcome> run_matrix(const MatrixOptions& o) {
  std::vector<MatrixCellOutcome> outcomes;
  const bool many_seeds = o.workloads.size() > 1;
  for (const auto& workload : o.workloads)
    for (const auto& system : o.systems)
      for (int c : o.concurrency) {
        MatrixCellOutcome out;
        out.cell.system = system;
        out.cell.concurrency = c;
        out.cell.seed = workload->seed;
        std::string dir = out.cell.name();
        if (many_seeds) dir += fmt::format("_s{}", workload->seed);
        out.cell.dir = o.out / dir;
        outcomes.push_back(std::move(out));
      }
  std::vector<MatrixCell> cells;
  for (auto& out : outcomes) cells.push_back(std::move(out.cell));
  return run_cells(cells, o);
}

std::vector<MatrixCellOutcome> run_cells(const std::vector<MatrixCell>& cells,
                                         const MatrixOptions& o) {
  std::vector<MatrixCellOutcome> outcomes(cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) outcomes[i].cell = cells[i];
  // Cells with higher concurrency run longest in wall time only mildly; run the big ones
  // first anyway so the tail of the pool is short.
  std::vector<std::size_t> order(outcomes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;

  std::mutex progress_mutex;
  parallel_for(order.size(), o.jobs, [&](std::size_t k) {
    MatrixCellOutcome& out = outcomes[order[k]];
    SimOptions options = o.base;
    options.system = out.cell.system;
    options.concurrency = out.cell.concurrency;
    options.out_dir = out.cell.dir;
    for (const auto& w : o.workloads)
      if (w->seed == out.cell.seed) options.workload = w;
    if (o.progress) {
      std::lock_guard lock(progress_mutex);
      o.progress(out.cell, false, 0, 0);
    }
    auto result = run_simulation(options);
    out.ok = result.ok();
    if (result)
      out.result = *result;
    else
      out.error = result.error().message;
    std::lock_guard lock(progress_mutex);
    if (o.progress)
      o.progress(out.cell, true, out.ok ? out.result.ok + out.result.errors : 0,
                 out.ok ? out.result.total : 0);
    if (o.on_done) o.on_done(out);
  });
  return outcomes;
}

}  // namespace agentsched
