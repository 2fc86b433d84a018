// driver.log / logs/tau2_global.log lines (record/driver_log_reader.h), read by `analyze` and
// `check` from reference and live runs alike. Each line is scanned on its own with a visitor
// that checks every view lies inside the line; the whole input is also streamed as a file
// through LineReader, which must find the same records.
#include <cmath>
#include <string>

#include "fuzz_util.h"
#include "record/driver_log_reader.h"

using namespace agentsched;
using agentsched::fuzz::within;

namespace {

class CheckingVisitor : public LogVisitor {
 public:
  explicit CheckingVisitor(std::uint32_t types) : LogVisitor(types) {}
  std::string_view line;  // empty: the file scan, where views are not checked
  std::size_t seen = 0;

  void on_profile(const ProfileRecord& r) override {
    ++seen;
    FUZZ_CHECK(wants(r.type));
    FUZZ_CHECK(std::isfinite(r.unix_time));
    if (line.data() == nullptr) return;
    FUZZ_CHECK(within(r.type_name, line) && within(r.task, line) && within(r.fields, line));
    FUZZ_CHECK(within(r.from_role, line) && within(r.to_role, line));
  }
  void on_task_finished(const TaskFinishedRecord& r) override {
    ++seen;
    FUZZ_CHECK(std::isfinite(r.unix_time));
    if (line.data() == nullptr) return;
    FUZZ_CHECK(within(r.domain, line) && within(r.task_id, line));
  }
  void on_task_complete(const TaskCompleteRecord& r) override {
    ++seen;
    FUZZ_CHECK(!r.domain.empty() && !r.task_id.empty() && !r.status.empty());
    if (line.data() == nullptr) return;
    FUZZ_CHECK(within(r.domain, line) && within(r.task_id, line) && within(r.status, line));
  }
  void on_global_summary(const GlobalSummaryRecord& r) override {
    ++seen;
    if (line.data() == nullptr) return;
    FUZZ_CHECK(within(r.text, line));
  }
  void on_driver_message(const DriverMessageRecord& r) override {
    ++seen;
    FUZZ_CHECK(std::isfinite(r.unix_time));
    if (line.data() == nullptr) return;
    FUZZ_CHECK(within(r.message, line));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes = agentsched::fuzz::as_view(data, size);
  // The first byte picks the record types the visitor reads (all, or a subset).
  const std::uint32_t seed = agentsched::fuzz::take_seed(bytes);
  const std::uint32_t types = (seed & 1) ? LogVisitor::kAllProfileTypes : seed;

  CheckingVisitor by_line(types);
  std::size_t records = 0, garbled = 0, glued_lines = 0, lines = 0;
  for (std::string_view rest = bytes; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++lines;
    by_line.line = line;
    const std::size_t before = records;
    bool glued = false;
    if (!scan_log_line(line, by_line, records, glued)) ++garbled;
    glued_lines += glued;
    FUZZ_CHECK(records >= before);

    // Timestamps do not depend on the parser's cache of the last date.
    std::size_t length1 = 0, length2 = 0, unused = 0;
    const auto t1 = parse_log_timestamp(line, length1);
    (void)parse_log_timestamp("1999-12-31 23:59:59", unused);
    const auto t2 = parse_log_timestamp(line, length2);
    FUZZ_CHECK(t1 == t2);
    if (t1) FUZZ_CHECK(length1 == length2 && length1 >= 19 && length1 <= line.size());
    if (auto v = find_field(line, "type")) FUZZ_CHECK(within(*v, line));
  }
  // Records of types the visitor does not read are counted but not handed over.
  FUZZ_CHECK(by_line.seen <= records);
  if (types == LogVisitor::kAllProfileTypes) FUZZ_CHECK(by_line.seen == records);

  CheckingVisitor streamed(types);
  const agentsched::fuzz::MemFile file(bytes);
  const auto stats = scan_log(file.path(), streamed);
  if (bytes.empty()) {
    FUZZ_CHECK(!stats);
    return 0;
  }
  FUZZ_CHECK(stats.ok());
  FUZZ_CHECK(stats->bytes == bytes.size());
  FUZZ_CHECK(stats->lines == lines);
  FUZZ_CHECK(stats->records == records);
  FUZZ_CHECK(stats->garbled_lines == garbled);
  FUZZ_CHECK(stats->glued_lines == glued_lines);
  FUZZ_CHECK(streamed.seen == by_line.seen);
  return 0;
}
