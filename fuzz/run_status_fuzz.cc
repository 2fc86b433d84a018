// A run's agentsched/status.json (record/run_status.h), read back by `check`, `experiment` and
// the sampler while another process rewrites it. A status that parses holds values in range
// (a pid `check` may probe, non-negative counts, finite times) and formats to JSON that
// parses back to the same status. Boost.JSON 1.81 parses decimal numbers to within an ulp,
// not always exactly (1.7690000000000002e47 reads back as 1.769e47), so times compare to
// within 2 ulp; everything else compares exactly.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "record/run_status.h"

using namespace agentsched;

namespace {

// Equal, or finite, of the same sign and at most 2 representable doubles apart.
bool close(double a, double b) {
  if (a == b) return true;
  if (!std::isfinite(a) || !std::isfinite(b) || std::signbit(a) != std::signbit(b)) return false;
  std::int64_t x = 0, y = 0;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return (x > y ? x - y : y - x) <= 2;
}

bool same(const RunStatus& a, const RunStatus& b) {
  if (a.waits.size() != b.waits.size()) return false;
  for (const auto& [kind, w] : a.waits) {
    const auto it = b.waits.find(kind);
    if (it == b.waits.end() || it->second.count != w.count ||
        !close(it->second.oldest_s, w.oldest_s))
      return false;
  }
  return a.state == b.state && a.pid == b.pid && close(a.updated_real_unix, b.updated_real_unix) &&
         close(a.updated_unix, b.updated_unix) && close(a.time_scale, b.time_scale) &&
         close(a.clock_origin_unix, b.clock_origin_unix) && a.finished == b.finished &&
         a.ok == b.ok && a.errors == b.errors && a.total == b.total && a.retries == b.retries &&
         a.remote_waits == b.remote_waits && close(a.oldest_remote_wait_s, b.oldest_remote_wait_s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto s = parse_run_status(agentsched::fuzz::as_view(data, size), "status.json");
  if (!s) {
    FUZZ_CHECK(s.error().message.rfind("status.json: ", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(s->state == "running" || s->state == "done" || s->state == "interrupted");
  FUZZ_CHECK(s->pid >= 1 && s->pid <= 2147483647L);
  FUZZ_CHECK(s->finished >= 0 && s->ok >= 0 && s->errors >= 0 && s->total >= 0 && s->retries >= 0 &&
             s->remote_waits >= 0);
  FUZZ_CHECK(std::isfinite(s->updated_real_unix) && std::isfinite(s->updated_unix) &&
             std::isfinite(s->clock_origin_unix));
  FUZZ_CHECK(std::isfinite(s->time_scale) && s->time_scale > 0);
  FUZZ_CHECK(std::isfinite(s->oldest_remote_wait_s) && s->oldest_remote_wait_s >= 0);
  for (const auto& [kind, w] : s->waits)
    FUZZ_CHECK(w.count >= 0 && std::isfinite(w.oldest_s) && w.oldest_s >= 0);
  const std::string text = format_run_status(*s);
  const auto back = parse_run_status(text, "formatted");
  FUZZ_CHECK(back);
  FUZZ_CHECK(same(*s, *back));
  return 0;
}
