// kv_cache_timeseries.csv (record/kv_csv_reader.h), written by samplers of reference and
// live runs and read by `analyze`. The input is streamed as a file through LineReader.
#include <algorithm>
#include <cmath>

#include "fuzz_util.h"
#include "record/kv_csv_reader.h"

using namespace agentsched;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const agentsched::fuzz::MemFile file(agentsched::fuzz::as_view(data, size));
  const auto series = read_kv_csv(file.path());
  if (!series) {
    FUZZ_CHECK(!series.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(!series->samples.empty());
  FUZZ_CHECK(series->rows == series->samples.size() + series->nan_samples +
                                 series->other_metric_rows + series->garbled_rows);
  FUZZ_CHECK(series->first_garbled_line_numbers.size() <= 5);
  FUZZ_CHECK(std::is_sorted(series->ports.begin(), series->ports.end()));
  FUZZ_CHECK(std::adjacent_find(series->ports.begin(), series->ports.end()) == series->ports.end());
  for (const KvSample& s : series->samples) {
    FUZZ_CHECK(s.usage >= 0.0 && s.usage <= 1.0);
    FUZZ_CHECK(std::isfinite(s.unix_time));
    FUZZ_CHECK(std::binary_search(series->ports.begin(), series->ports.end(), s.port));
  }
  return 0;
}
