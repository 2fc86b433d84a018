#include "record/timeline_reader.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <string_view>

#include "record/run_layout.h"

namespace agentsched {

namespace {

// The timeline has no quoting: fields are what lies between commas.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    out.push_back(line.substr(start, comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

}  // namespace

Result<std::vector<TimelineRow>> read_timeline(const std::filesystem::path& run_dir) {
  const std::filesystem::path path = run_dir / run_layout::kOwnDir / "timeline.csv";
  std::ifstream in(path);
  if (!in)
    return make_error(
        fmt::format("{}: cannot read it (simulated runs write this per-call "
                    "timeline)",
                    path.string()));
  std::string line;
  if (!std::getline(in, line)) return make_error(fmt::format("{}: empty", path.string()));
  const std::vector<std::string_view> header = split_fields(line);
  auto column = [&](std::string_view name) -> std::size_t {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    return header.size();
  };
  struct NumberColumn {
    const char* name;
    double TimelineRow::*seconds = nullptr;
    std::int64_t TimelineRow::*count = nullptr;
    std::size_t index = 0;
  };
  std::vector<NumberColumn> numbers = {
      {"submitted_s", &TimelineRow::submitted_s},
      {"forwarded_s", &TimelineRow::forwarded_s},
      {"first_scheduled_s", &TimelineRow::first_scheduled_s},
      {"first_token_s", &TimelineRow::first_token_s},
      {"finished_s", &TimelineRow::finished_s},
      {"gateway_held_s", &TimelineRow::gateway_held_s},
      {"engine_waiting_s", &TimelineRow::engine_waiting_s},
      {"prefill_s", &TimelineRow::prefill_s},
      {"decode_s", &TimelineRow::decode_s},
      {"prompt_tokens", nullptr, &TimelineRow::prompt_tokens},
      {"cached_tokens", nullptr, &TimelineRow::cached_tokens},
      {"computed_prompt_tokens", nullptr, &TimelineRow::computed_prompt_tokens},
      {"output_tokens", nullptr, &TimelineRow::output_tokens},
      {"preemptions", nullptr, &TimelineRow::preemptions},
  };
  const std::size_t task_column = column("task");
  if (task_column == header.size())
    return make_error(fmt::format("{}:1: no column 'task'", path.string()));
  for (auto& c : numbers) {
    c.index = column(c.name);
    if (c.index == header.size())
      return make_error(fmt::format("{}:1: no column '{}'", path.string(), c.name));
  }
  std::vector<TimelineRow> rows;
  for (std::size_t line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = split_fields(line);
    if (fields.size() != header.size())
      return make_error(fmt::format("{}:{}: {} fields, the header has {}", path.string(), line_no,
                                    fields.size(), header.size()));
    TimelineRow row;
    row.task = std::string(fields[task_column]);
    for (const auto& c : numbers) {
      const std::string_view text = fields[c.index];
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
          !std::isfinite(v))
        return make_error(
            fmt::format("{}:{}: '{}' is not a number: '{}'", path.string(), line_no, c.name, text));
      if (c.seconds) {
        row.*(c.seconds) = v;
      } else {
        if (std::fabs(v) > 9e15)  // counts past what a double holds exactly: not ours
          return make_error(fmt::format("{}:{}: '{}' is out of range: '{}'", path.string(), line_no,
                                        c.name, text));
        row.*(c.count) = std::llround(v);
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace agentsched
