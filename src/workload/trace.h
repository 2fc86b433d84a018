#pragma once
// JSONL trace format of a workload: a header line, then one program per line, in start
// order. See docs/workload.md for the fields.
#include <filesystem>
#include <iosfwd>
#include <string_view>

#include "core/result.h"
#include "workload/program_script.h"

namespace agentsched {

inline constexpr std::string_view kTraceFormat = "agentsched-workload";
inline constexpr int kTraceVersion = 1;

Status write_trace(const Workload& workload, std::ostream& out);
Status write_trace_file(const Workload& workload, const std::filesystem::path& path);
// Reads and validates a trace; errors name the file, line and field.
Result<Workload> read_trace(std::istream& in, std::string_view origin);
Result<Workload> read_trace_file(const std::filesystem::path& path);

}  // namespace agentsched
