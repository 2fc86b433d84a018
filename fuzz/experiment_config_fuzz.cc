// Experiment configs in TOML (serve/experiment.h), given to `agentsched experiment run`.
#include "fuzz_util.h"
#include "serve/experiment.h"

using namespace agentsched::serve;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto c = parse_experiment_config(agentsched::fuzz::as_view(data, size), "fuzz.toml");
  if (!c) {
    FUZZ_CHECK(!c.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(c->mode == "sim" || c->mode == "live");
  FUZZ_CHECK(c->time_scale > 0 && c->backends >= 1 && c->max_attempts >= 1);
  FUZZ_CHECK(c->sample_interval_s > 0);
  for (int n : c->concurrency) FUZZ_CHECK(n >= 1);
  return 0;
}
