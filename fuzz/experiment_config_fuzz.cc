// Experiment configs in TOML (live/experiment.h), given to `agentsched experiment run`.
// A config that parses holds finite numbers in range.
#include <cmath>

#include "fuzz_util.h"
#include "live/experiment.h"

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
  FUZZ_CHECK(std::isfinite(c->time_scale) && std::isfinite(c->sample_interval_s) &&
             std::isfinite(c->threshold));
  FUZZ_CHECK(std::isfinite(c->ready_timeout_s) && c->ready_timeout_s > 0);
  FUZZ_CHECK(std::isfinite(c->stop_grace_s) && c->stop_grace_s >= 0);
  FUZZ_CHECK(std::isfinite(c->request_timeout_s) && c->request_timeout_s >= 0);
  FUZZ_CHECK(c->max_programs >= 0);
  for (const auto& [name, value] : c->gateway_params) FUZZ_CHECK(std::isfinite(value));
  return 0;
}
