#pragma once
// JSON forms of the analysis reports (`analyze ... --json`). Times are given both as Unix
// seconds (`*_unix`) and as "YYYY-MM-DD HH:MM:SS.mmm" UTC; a figure that does not exist (a
// rate over a zero-length window, stats of zero samples) is null, never NaN.
#include <boost/json.hpp>

#include "analysis/bottleneck.h"
#include "analysis/compare.h"
#include "analysis/latency.h"
#include "analysis/manifest.h"
#include "analysis/stuck.h"
#include "analysis/window.h"

namespace agentsched::analysis {

boost::json::value json_number(double value);  // null when not finite
boost::json::object to_json(const WindowReport& report);
boost::json::object to_json(const LatencyStats& stats);
boost::json::object to_json(const LatencyReport& report);
boost::json::object to_json(const BottleneckReport& report);
boost::json::object to_json(const StuckReport& report);
boost::json::object to_json(const RunManifest& manifest);
boost::json::object to_json(const CompareTable& table);
boost::json::object to_json(const LogDiagnostics& log);
boost::json::object to_json(const KvDiagnostics& kv);

// Pretty-printed with two-space indentation and a final newline.
std::string pretty_json(const boost::json::value& value);
// On one line, no spaces; doubles in plain decimals as pretty_json writes them (for HTTP
// replies and config files).
std::string compact_json(const boost::json::value& value);

}  // namespace agentsched::analysis
