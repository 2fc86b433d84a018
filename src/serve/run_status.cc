#include "serve/run_status.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace agentsched::serve {

namespace json = boost::json;
namespace fs = std::filesystem;

Status write_run_status(const fs::path& run_dir, const RunStatus& s) {
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
  const fs::path path = run_dir / kRunStatusFile;
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << json::serialize(o) << '\n';
    if (!out) return make_error(fmt::format("cannot write '{}'", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return make_error(fmt::format("cannot write '{}': {}", path.string(), ec.message()));
  return Ok{};
}

Result<RunStatus> parse_run_status(std::string_view text, std::string_view origin) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object())
    return make_error(fmt::format("{}: not a JSON object{}", origin,
                                  ec ? fmt::format(" ({})", ec.message()) : ""));
  const json::object& o = doc.as_object();
  RunStatus s;
  std::string error;
  auto number = [&](std::string_view key, double& out) {
    const json::value* v = o.if_contains(key);
    if (!v || !v->is_number()) {
      if (error.empty()) error = fmt::format("{}: '{}' missing or not a number", origin, key);
      return;
    }
    out = v->to_number<double>();
  };
  auto integer = [&](std::string_view key, long& out) {
    double d = 0;
    number(key, d);
    out = static_cast<long>(d);
  };
  if (const auto* st = o.if_contains("state"); st && st->is_string())
    s.state = std::string(st->get_string());
  else
    return make_error(fmt::format("{}: 'state' missing or not a string", origin));
  integer("pid", s.pid);
  number("updated_real_unix", s.updated_real_unix);
  number("updated_unix", s.updated_unix);
  number("time_scale", s.time_scale);
  number("clock_origin_unix", s.clock_origin_unix);
  integer("finished", s.finished);
  integer("ok", s.ok);
  integer("errors", s.errors);
  integer("total", s.total);
  integer("retries", s.retries);
  integer("remote_waits", s.remote_waits);
  number("oldest_remote_wait_s", s.oldest_remote_wait_s);
  if (!error.empty()) return make_error(error);
  if (const auto* w = o.if_contains("waits"); w && w->is_object()) {
    for (const auto& [kind, v] : w->as_object()) {
      const auto* wo = v.if_object();
      if (!wo) continue;
      WaitCount c;
      if (const auto* n = wo->if_contains("count"); n && n->is_number())
        c.count = static_cast<long>(n->to_number<double>());
      if (const auto* n = wo->if_contains("oldest_s"); n && n->is_number())
        c.oldest_s = n->to_number<double>();
      s.waits[std::string(kind)] = c;
    }
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

}  // namespace agentsched::serve
