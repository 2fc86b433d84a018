#include "record/run_status.h"

#include <fmt/format.h>

#include <sys/types.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>

namespace agentsched {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string format_run_status(const RunStatus& s) {
  json::object o;
  o["state"] = s.state;
  o["pid"] = s.pid;
  o["updated_real_unix"] = s.updated_real_unix;
  o["updated_unix"] = s.updated_unix;
  o["time_scale"] = s.time_scale;
  o["clock_origin_unix"] = s.clock_origin_unix;
  o["finished"] = s.finished;
  o["ok"] = s.ok;
  o["errors"] = s.errors;
  o["total"] = s.total;
  o["retries"] = s.retries;
  json::object waits;
  for (const auto& [kind, w] : s.waits)
    waits[kind] = json::object{{"count", w.count}, {"oldest_s", w.oldest_s}};
  o["waits"] = std::move(waits);
  o["remote_waits"] = s.remote_waits;
  o["oldest_remote_wait_s"] = s.oldest_remote_wait_s;
  return json::serialize(o);
}

Status write_run_status(const fs::path& run_dir, const RunStatus& s) {
  const fs::path path = run_dir / kRunStatusFile;
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << format_run_status(s) << '\n';
    if (!out) return make_error(fmt::format("cannot write '{}'", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return make_error(fmt::format("cannot write '{}': {}", path.string(), ec.message()));
  return Ok{};
}

namespace {

// Reads the keys of one JSON object; the first problem is kept, naming the file and the key.
// Numbers are range-checked before any conversion (a double beyond a long's range, converted,
// is undefined behaviour).
class StatusReader {
 public:
  StatusReader(const json::object& o, std::string_view origin, std::string prefix = "")
      : o_(o), origin_(origin), prefix_(std::move(prefix)) {}

  // A finite number, at least `min`.
  void number(std::string_view key, double& out, double min = -HUGE_VAL) {
    const json::value* v = find(key);
    if (!v) return;
    const double d = v->is_number() ? v->to_number<double>() : NAN;
    if (!std::isfinite(d) || d < min)
      return fail(key, min == -HUGE_VAL ? std::string("a finite number")
                                        : fmt::format("a finite number, at least {:g}", min));
    out = d;
  }

  // An integer in [min, max]. JSON integers only (the writer never writes a count as 1.0);
  // Boost.JSON holds every integer beyond int64 as uint64, past any long.
  void integer(std::string_view key, long& out, long min = 0,
               long max = std::numeric_limits<long>::max()) {
    const json::value* v = find(key);
    if (!v) return;
    if (v->is_int64() && v->get_int64() >= min && v->get_int64() <= max) {
      out = static_cast<long>(v->get_int64());
      return;
    }
    fail(key, fmt::format("an integer from {} to {}", min, max));
  }

  const std::string& error() const { return error_; }
  void fail(std::string_view key, std::string_view expected) {
    if (error_.empty())
      error_ = fmt::format("{}: '{}{}' must be {}", origin_, prefix_, key, expected);
  }

 private:
  const json::value* find(std::string_view key) {
    if (!error_.empty()) return nullptr;
    const json::value* v = o_.if_contains(key);
    if (!v) error_ = fmt::format("{}: '{}{}' missing", origin_, prefix_, key);
    return v;
  }

  const json::object& o_;
  std::string_view origin_;
  std::string prefix_;
  std::string error_;
};

}  // namespace

Result<RunStatus> parse_run_status(std::string_view text, std::string_view origin) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object())
    return make_error(fmt::format("{}: not a JSON object{}", origin,
                                  ec ? fmt::format(" ({})", ec.message()) : ""));
  const json::object& o = doc.as_object();
  RunStatus s;
  const auto* st = o.if_contains("state");
  if (!st || !st->is_string())
    return make_error(fmt::format("{}: 'state' missing or not a string", origin));
  s.state = std::string(st->get_string());
  if (s.state != "running" && s.state != "done" && s.state != "interrupted")
    return make_error(
        fmt::format("{}: 'state' must be \"running\", \"done\" or \"interrupted\", not {}", origin,
                    json::serialize(*st)));
  StatusReader r(o, origin);
  // `check` probes the pid with kill(pid, 0): 0 or a negative pid would name a process group.
  r.integer("pid", s.pid, 1, std::numeric_limits<pid_t>::max());
  r.number("updated_real_unix", s.updated_real_unix);
  r.number("updated_unix", s.updated_unix);
  r.number("time_scale", s.time_scale, 0);
  if (r.error().empty() && !(s.time_scale > 0)) r.fail("time_scale", "positive");
  r.number("clock_origin_unix", s.clock_origin_unix);
  r.integer("finished", s.finished);
  r.integer("ok", s.ok);
  r.integer("errors", s.errors);
  r.integer("total", s.total);
  r.integer("retries", s.retries);
  r.integer("remote_waits", s.remote_waits);
  r.number("oldest_remote_wait_s", s.oldest_remote_wait_s, 0);
  if (!r.error().empty()) return make_error(r.error());
  const json::value* waits = o.if_contains("waits");
  if (!waits || !waits->is_object())
    return make_error(fmt::format("{}: 'waits' missing or not an object", origin));
  for (const auto& [kind, v] : waits->as_object()) {
    const std::string name(kind);
    const auto* wo = v.if_object();
    if (!wo)
      return make_error(
          fmt::format("{}: 'waits.{}' must be an object with count and oldest_s", origin, name));
    WaitCount c;
    StatusReader wr(*wo, origin, fmt::format("waits.{}.", name));
    wr.integer("count", c.count);
    wr.number("oldest_s", c.oldest_s, 0);
    if (!wr.error().empty()) return make_error(wr.error());
    s.waits[name] = c;
  }
  return s;
}

Result<RunStatus> read_run_status(const fs::path& run_dir) {
  const fs::path path = run_dir / kRunStatusFile;
  std::ifstream in(path);
  if (!in) return make_error(fmt::format("no '{}'", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_run_status(ss.str(), path.string());
}

}  // namespace agentsched
