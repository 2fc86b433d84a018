#include "workload/arrivals.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "core/rng.h"

namespace agentsched {

namespace {

Result<double> positive_number(std::string_view text, std::string_view what, std::size_t stage) {
  const std::string s(text);
  char* end = nullptr;
  const double v = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v <= 0)
    return make_error(
        fmt::format("arrival stage {}: {} '{}' must be a positive number", stage + 1, what, text));
  return v;
}

}  // namespace

Result<std::vector<ArrivalStage>> parse_arrival_stages(std::string_view text) {
  std::vector<ArrivalStage> stages;
  if (text.empty()) return make_error("arrivals: expected RATE or RATE:SECONDS,RATE:SECONDS,...");
  while (true) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto colon = item.find(':');
    ArrivalStage stage;
    auto rate = positive_number(item.substr(0, colon), "rate", stages.size());
    if (!rate) return rate.error();
    stage.rate_per_s = *rate;
    if (colon != std::string_view::npos) {
      auto duration = positive_number(item.substr(colon + 1), "duration", stages.size());
      if (!duration) return duration.error();
      stage.duration_s = *duration;
    } else if (comma != std::string_view::npos) {
      return make_error(fmt::format(
          "arrival stage {}: '{}' needs a duration (RATE:SECONDS): only the last stage may go on "
          "until the workload runs out",
          stages.size() + 1, item));
    }
    stages.push_back(stage);
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return stages;
}

std::string format_arrival_stages(const std::vector<ArrivalStage>& stages) {
  std::string out;
  for (const auto& s : stages) {
    if (!out.empty()) out += ',';
    out += std::isfinite(s.duration_s) ? fmt::format("{:g}:{:g}", s.rate_per_s, s.duration_s)
                                       : fmt::format("{:g}", s.rate_per_s);
  }
  return out;
}

std::vector<double> poisson_arrivals(const std::vector<ArrivalStage>& stages, std::uint64_t seed,
                                     std::size_t max_count) {
  std::vector<double> times;
  Rng rng(seed ^ 0xa77a1e5ULL);
  double stage_start = 0;
  double t = 0;
  for (const ArrivalStage& stage : stages) {
    const double stage_end = stage_start + stage.duration_s;
    // Memoryless: a fresh exponential gap from the stage's start is the same process.
    t = stage_start;
    while (times.size() < max_count) {
      t += rng.exponential(1.0 / stage.rate_per_s);
      if (t >= stage_end) break;
      times.push_back(t);
    }
    if (times.size() >= max_count || !std::isfinite(stage_end)) break;
    stage_start = stage_end;
  }
  return times;
}

std::size_t stage_of(const std::vector<ArrivalStage>& stages, double t) {
  double start = 0;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    start += stages[i].duration_s;
    if (t < start) return i;
  }
  return stages.size();
}

Status assign_arrivals(Workload& workload, const std::vector<ArrivalStage>& stages,
                       std::uint64_t seed) {
  if (stages.empty()) return make_error("arrivals: no stage given");
  const std::vector<double> times = poisson_arrivals(stages, seed, workload.programs.size());
  if (times.empty())
    return make_error(fmt::format("arrivals {}: no program arrives within the stages",
                                  format_arrival_stages(stages)));
  workload.programs.resize(times.size());
  for (std::size_t i = 0; i < times.size(); ++i) workload.programs[i].arrival_s = times[i];
  workload.arrival_stages = stages;
  return Ok{};
}

}  // namespace agentsched
