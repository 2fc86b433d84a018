#include "record/timeline.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <string_view>

#include "record/run_layout.h"

namespace agentsched {

namespace {

// The columns, in file order, each bound to its field of TimelineRow (task is the first).
struct Column {
  const char* name;
  double TimelineRow::*seconds = nullptr;
  std::int64_t TimelineRow::*count = nullptr;
};

constexpr Column kColumns[] = {
    {"step", nullptr, &TimelineRow::step},
    {"backend", nullptr, &TimelineRow::backend},
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

std::filesystem::path timeline_path(const std::filesystem::path& run_dir) {
  return run_dir / run_layout::kOwnDir / "timeline.csv";
}

Result<std::unique_ptr<TimelineWriter>> TimelineWriter::create(
    const std::filesystem::path& run_dir) {
  const std::filesystem::path path = timeline_path(run_dir);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error(fmt::format("cannot write '{}'", path.string()));
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  std::unique_ptr<TimelineWriter> w(new TimelineWriter(path, f));
  w->line_ = "task";
  for (const Column& c : kColumns) w->line_ += fmt::format(",{}", c.name);
  w->line_ += '\n';
  if (std::fwrite(w->line_.data(), 1, w->line_.size(), f) != w->line_.size()) w->failed_ = true;
  return w;
}

TimelineWriter::TimelineWriter(std::filesystem::path path, std::FILE* file)
    : path_(std::move(path)), file_(file) {}

TimelineWriter::~TimelineWriter() {
  (void)close();
}

void TimelineWriter::write(const TimelineRow& row) {
  if (!file_) return;
  line_ = row.task;
  for (const Column& c : kColumns) {
    line_ += ',';
    if (c.seconds) {
      const double v = row.*(c.seconds);
      if (std::isfinite(v)) fmt::format_to(std::back_inserter(line_), "{:.3f}", v);
    } else {
      const std::int64_t v = row.*(c.count);
      if (v >= 0) fmt::format_to(std::back_inserter(line_), "{}", v);
    }
  }
  line_ += '\n';
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) failed_ = true;
}

Status TimelineWriter::flush() {
  if (file_ && std::fflush(file_) != 0) failed_ = true;
  if (failed_) return make_error(fmt::format("cannot write '{}'", path_.string()));
  return Ok{};
}

Status TimelineWriter::close() {
  Status st = flush();
  if (file_ && std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
  if (failed_) return make_error(fmt::format("cannot write '{}'", path_.string()));
  return st;
}

Result<std::vector<TimelineRow>> read_timeline(const std::filesystem::path& run_dir) {
  const std::filesystem::path path = timeline_path(run_dir);
  std::ifstream in(path);
  if (!in)
    return make_error(
        fmt::format("{}: cannot read it (simulated and live runs write this per-call "
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
  const std::size_t task_column = column("task");
  if (task_column == header.size())
    return make_error(fmt::format("{}:1: no column 'task'", path.string()));
  std::vector<std::size_t> index;
  for (const Column& c : kColumns) {
    index.push_back(column(c.name));
    if (index.back() == header.size())
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
    for (std::size_t k = 0; k < std::size(kColumns); ++k) {
      const Column& c = kColumns[k];
      const std::string_view text = fields[index[k]];
      if (text.empty()) continue;  // unknown: the row's default (NaN, -1)
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v))
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
