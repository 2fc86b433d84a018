// The emulator against `sim run` on the same trace: elapsed time, KV usage (on average and
// per minute) and queue lengths within 5%, at time scale 20 under KV pressure and at time
// scale 1 (short programs; bench/engine/vs_sim.sh runs the full workload).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>

#include "serve/child_process.h"
#include "serve/live_engine.h"
#include "serve/trace_replay.h"
#include "workload/trace.h"

namespace agentsched::serve {
namespace {

namespace fs = std::filesystem;

struct Case {
  double time_scale;
  int concurrency;
  int programs;
  std::int64_t kv_blocks;  // 0: the profile's
};

void compare_with_sim(const Case& c) {
  const fs::path dir =
      fs::temp_directory_path() / fmt::format("agentsched-vs-sim-{}-{}", getpid(), c.time_scale);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string bin = AGENTSCHED_BINARY;
  // Short programs (30% of the turns, a tenth of the waits) so a run takes seconds.
  auto [grc, gout] = testing::run_shell(bin +
                                        " workload gen --seed 1 --turns-scale 0.3 "
                                        "--wait-scale 0.1 --out " +
                                        (dir / "trace.jsonl").string());
  ASSERT_EQ(grc, 0) << gout;
  auto [src, sout] = testing::run_shell(fmt::format(
      "{} sim run --no-gateway --system baseline -c {} --max-programs {} --kv-blocks {} "
      "--workload {} --out {}",
      bin, c.concurrency, c.programs, c.kv_blocks, (dir / "trace.jsonl").string(),
      (dir / "sim").string()));
  ASSERT_EQ(src, 0) << sout;
  auto sim = read_sim_run(dir / "sim");
  ASSERT_TRUE(sim.ok()) << sim.error().message;

  auto workload = read_trace_file(dir / "trace.jsonl");
  ASSERT_TRUE(workload.ok()) << workload.error().message;
  EngineServerOptions o;
  o.time_scale = c.time_scale;
  o.num_gpu_blocks_override = c.kv_blocks;
  LiveEngine engine(o);
  ReplayOptions r;
  r.port = engine.port();
  r.workload = &*workload;
  r.concurrency = c.concurrency;
  r.max_programs = c.programs;
  r.time_scale = c.time_scale;
  r.limit_s = 300;
  auto replay = replay_trace(r);
  ASSERT_TRUE(replay.ok()) << replay.error().message;
  EXPECT_EQ(replay->ok + replay->errors, c.programs);
  const RunSeries live = series_from_replay(*replay);
  const SeriesComparison cmp = compare_series(live, *sim);
  std::printf("time scale %g, C=%d, %d programs, %lld KV blocks:\n%s", c.time_scale, c.concurrency,
              c.programs, static_cast<long long>(c.kv_blocks), cmp.table(live, *sim).c_str());
  EXPECT_GT(cmp.kv_points, 5u);
  EXPECT_TRUE(cmp.within(0.05)) << cmp.table(live, *sim);
  fs::remove_all(dir);
}

TEST(EngineVsSim, TimeScale20UnderKvPressure) {
  compare_with_sim({.time_scale = 20, .concurrency = 8, .programs = 8, .kv_blocks = 1000});
}

TEST(EngineVsSim, TimeScale1) {
  compare_with_sim({.time_scale = 1, .concurrency = 8, .programs = 8, .kv_blocks = 0});
}

}  // namespace
}  // namespace agentsched::serve
