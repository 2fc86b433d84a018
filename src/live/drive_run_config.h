#pragma once
// What `drive` writes as agentsched/config.json: the shared run-config schema
// (record/run_config.h) filled from the driver's options, null where a client cannot know.
#include <string_view>

#include "live/driver.h"
#include "record/run_config.h"

namespace agentsched::serve {

// `start`: the run's start on the driver's clock, `origin_unix` that clock's origin.
RunConfig drive_run_config(const DriverOptions& o, long programs, std::string_view model_label,
                           double origin_unix, double start);

}  // namespace agentsched::serve
