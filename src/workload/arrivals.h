#pragma once
// Open-loop arrivals: programs start at the times of a Poisson process instead of whenever
// one of C slots frees up, as users arrive at a service. The rate may change in stages
// ("8:600,20:600": 8 programs a second for 600 s, then 20 for 600 s), as load generators for
// vLLM ramp their load; analysis then reports each stage on its own.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "workload/program_script.h"

namespace agentsched {

// "RATE" (one stage without end: every program of the workload arrives) or
// "RATE:DURATION,RATE:DURATION,..." (rates per second > 0, durations in seconds > 0; only
// the last stage may omit its duration). Errors name the offending stage.
Result<std::vector<ArrivalStage>> parse_arrival_stages(std::string_view text);
std::string format_arrival_stages(const std::vector<ArrivalStage>& stages);

// Arrival times of a Poisson process through the stages, at most `max_count` of them and none
// past the end of the last stage. Deterministic in `seed`.
std::vector<double> poisson_arrivals(const std::vector<ArrivalStage>& stages, std::uint64_t seed,
                                     std::size_t max_count);

// The stage (index) that time t falls in; stages.size() past the last one.
std::size_t stage_of(const std::vector<ArrivalStage>& stages, double t);

// Gives the workload's programs, in order, open-loop arrival times; programs that would arrive
// after the last stage ends are dropped. Records the stages in the workload.
Status assign_arrivals(Workload& workload, const std::vector<ArrivalStage>& stages,
                       std::uint64_t seed);

}  // namespace agentsched
