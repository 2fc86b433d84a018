// Replays a workload trace against a running `agentsched engine` and compares its KV usage
// and queue lengths over time with a `sim run` folder of the same trace (run.sh and
// vs_sim.sh start both). Exit code 1 when a figure differs by more than --tolerance.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>

#include "serve/support/trace_replay.h"
#include "workload/trace.h"

int main(int argc, char** argv) {
  using namespace agentsched;
  serve::ReplayOptions r;
  std::string trace, sim_run, csv;
  double tolerance = 0.05;
  CLI::App app{"Compare a live engine with `sim run` on the same trace"};
  app.add_option("--host", r.host)->capture_default_str();
  app.add_option("--port", r.port)->required();
  app.add_option("--trace", trace, "Workload trace (JSONL)")->required();
  app.add_option("--sim-run", sim_run, "Run folder of `sim run` on the same trace")->required();
  app.add_option("-c,--concurrency", r.concurrency)->capture_default_str();
  app.add_option("--max-programs", r.max_programs)->capture_default_str();
  app.add_option("--time-scale", r.time_scale, "The engine's --time-scale")->capture_default_str();
  app.add_option("--model", r.model, "Model name to send (default: none)");
  app.add_option("--tolerance", tolerance)->capture_default_str();
  app.add_option("--csv", csv, "Write t,engine_kv_usage,sim_kv_usage here");
  app.add_option("--limit", r.limit_s, "Real seconds before giving up")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto workload = read_trace_file(trace);
  if (!workload) {
    fmt::print(stderr, "error: {}\n", workload.error().message);
    return 2;
  }
  auto sim = serve::read_sim_run(sim_run);
  if (!sim) {
    fmt::print(stderr, "error: {}\n", sim.error().message);
    return 2;
  }
  r.workload = &*workload;
  const auto start = std::chrono::steady_clock::now();
  auto replay = serve::replay_trace(r);
  if (!replay) {
    fmt::print(stderr, "error: {}\n", replay.error().message);
    return 2;
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const serve::RunSeries live = serve::series_from_replay(*replay);
  const serve::SeriesComparison cmp = serve::compare_series(live, *sim);
  fmt::print(
      "replay        {} programs ok, {} ended by expert failures, {} LLM calls, "
      "{:.1f} s real at time scale {}\n",
      replay->ok, replay->errors, replay->llm_calls, wall, r.time_scale);
  fmt::print("{}", cmp.table(live, *sim));
  if (!csv.empty()) {
    if (auto st = serve::write_kv_comparison_csv(csv, live, *sim); !st)
      fmt::print(stderr, "error: {}\n", st.error().message);
  }
  const bool ok = cmp.within(tolerance);
  fmt::print("result        {} (tolerance {:.0f}%)\n", ok ? "within" : "OUTSIDE", 100 * tolerance);
  return ok ? 0 : 1;
}
