#include "workload/trace.h"

#include "core/enum_names.h"
#include "workload/arrivals.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <fstream>
#include <istream>
#include <limits>
#include <ostream>

namespace agentsched {

namespace json = boost::json;

namespace {

std::string json_quote(std::string_view s) {
  return json::serialize(json::string(s));
}

// A turn's "action" in the trace format, read and written.
constexpr EnumNames<TurnAction, 3> kActionNames({{TurnAction::kTool, "tool"},
                                                 {TurnAction::kUser, "user"},
                                                 {TurnAction::kEnd, "end"}});

// Field access with errors that say where.
class Fields {
 public:
  Fields(const json::object& obj, std::string path, std::string& error)
      : obj_(obj), path_(std::move(path)), error_(error) {}

  const json::value* find(std::string_view key, bool required = true) {
    if (!error_.empty()) return nullptr;
    const json::value* v = obj_.if_contains(key);
    if (!v && required) error_ = fmt::format("missing field '{}{}'", path_, key);
    return v;
  }
  std::string str(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return {};
    if (!v->is_string()) return fail(key, "a string"), std::string{};
    return std::string(v->as_string());
  }
  std::int64_t integer(std::string_view key, std::int64_t min, bool required = true,
                       std::int64_t fallback = 0) {
    const json::value* v = find(key, required);
    if (!v) return fallback;
    if (!v->is_int64() && !v->is_uint64()) return fail(key, "an integer"), 0;
    const std::int64_t x =
        v->is_int64() ? v->as_int64() : static_cast<std::int64_t>(v->as_uint64());
    if (x < min) return fail(key, fmt::format("an integer >= {}", min)), 0;
    return x;
  }
  // The token counts are 32-bit: a larger value is an error, not a silent wrap-around.
  std::int32_t int32(std::string_view key, std::int64_t min, bool required = true,
                     std::int64_t fallback = 0) {
    const std::int64_t x = integer(key, min, required, fallback);
    if (x > std::numeric_limits<std::int32_t>::max())
      return fail(key, fmt::format("an integer <= {}", std::numeric_limits<std::int32_t>::max())),
             0;
    return static_cast<std::int32_t>(x);
  }
  double number(std::string_view key, bool required = true) {
    const json::value* v = find(key, required);
    if (!v) return 0;
    if (!v->is_number()) return fail(key, "a number"), 0;
    const double x = v->to_number<double>();
    if (!(x >= 0) || !std::isfinite(x)) return fail(key, "a finite number >= 0"), 0;
    return x;
  }
  bool boolean(std::string_view key) {
    const json::value* v = find(key, false);
    if (!v) return false;
    if (!v->is_bool()) return fail(key, "true or false"), false;
    return v->as_bool();
  }
  void fail(std::string_view key, std::string_view expected) {
    if (error_.empty()) error_ = fmt::format("field '{}{}' must be {}", path_, key, expected);
  }

 private:
  const json::object& obj_;
  std::string path_;
  std::string& error_;
};

Result<ProgramScript> parse_program(const json::value& v) {
  std::string error;
  if (!v.is_object()) return make_error("a program line must be a JSON object");
  Fields f(v.as_object(), "", error);
  ProgramScript p;
  p.domain = f.str("domain");
  p.task_id = f.str("task_id");
  p.job_id = f.str("job_id");
  p.head_tokens = f.int32("head_tokens", 1);
  p.tool_schema_tokens = f.int32("tool_schema_tokens", 0, false);
  p.first_user_latency_s = f.number("first_user_latency_s");
  if (f.find("arrival_s", false)) p.arrival_s = f.number("arrival_s");
  if (f.find("content_key", false)) p.content_key = f.str("content_key");
  const json::value* turns = f.find("turns");
  if (!error.empty()) return make_error(error);
  if (!turns->is_array() || turns->as_array().empty())
    return make_error("field 'turns' must be a non-empty array");
  const auto& arr = turns->as_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string path = fmt::format("turns[{}].", i);
    if (!arr[i].is_object()) return make_error(fmt::format("'turns[{}]' must be an object", i));
    Fields t(arr[i].as_object(), path, error);
    AgentTurn turn;
    turn.new_tokens = t.int32("new", 0);
    turn.output_tokens = t.int32("out", 1);
    turn.visible_tokens = t.int32("visible", 0, false);
    const std::string action = t.str("action");
    if (auto a = kActionNames.value(action))
      turn.action = *a;
    else if (error.empty())
      error = fmt::format("field '{}action' must be {}", path, kActionNames.list());
    turn.user_latency_s = t.number("user_latency_s", false);
    if (const json::value* tools = t.find("tools", false)) {
      if (!tools->is_array())
        t.fail("tools", "an array");
      else
        for (std::size_t j = 0; j < tools->as_array().size() && error.empty(); ++j) {
          const auto& tv = tools->as_array()[j];
          if (!tv.is_object()) {
            t.fail(fmt::format("tools[{}]", j), "an object");
            break;
          }
          Fields tf(tv.as_object(), fmt::format("{}tools[{}].", path, j), error);
          ToolInvocation inv;
          inv.function = tf.str("function");
          inv.duration_s = tf.number("duration_s");
          turn.tools.push_back(std::move(inv));
        }
    }
    if (const json::value* ex = t.find("expert", false)) {
      if (!ex->is_object())
        t.fail("expert", "an object");
      else {
        Fields ef(ex->as_object(), path + "expert.", error);
        ExpertCall e;
        e.model = ef.str("model");
        e.latency_s = ef.number("latency_s");
        e.input_tokens = ef.int32("input_tokens", 0, false);
        e.output_tokens = ef.int32("output_tokens", 0, false);
        e.fails = ef.boolean("fails");
        turn.expert = std::move(e);
      }
    }
    if (!error.empty()) return make_error(error);
    if (turn.action == TurnAction::kTool && turn.tools.empty())
      return make_error(fmt::format("'{}tools' must list at least one tool for action tool", path));
    p.turns.push_back(std::move(turn));
  }
  if (!error.empty()) return make_error(error);
  return p;
}

}  // namespace

Status write_trace(const Workload& w, std::ostream& out) {
  std::string stages;
  if (w.open_loop())
    stages = fmt::format(",\"arrivals\":{}", json_quote(format_arrival_stages(w.arrival_stages)));
  out << fmt::format(
      "{{\"format\":{},\"version\":{},\"name\":{},\"seed\":{},\"prompt_cap_tokens\":{},"
      "\"programs\":{}{}}}\n",
      json_quote(kTraceFormat), kTraceVersion, json_quote(w.name), w.seed, w.prompt_cap_tokens,
      w.programs.size(), stages);
  std::string line;
  for (const auto& p : w.programs) {
    line.clear();
    line += fmt::format(
        "{{\"domain\":{},\"task_id\":{},\"job_id\":{},\"head_tokens\":{},"
        "\"tool_schema_tokens\":{},\"first_user_latency_s\":{:.6f},\"turns\":[",
        json_quote(p.domain), json_quote(p.task_id), json_quote(p.job_id), p.head_tokens,
        p.tool_schema_tokens, p.first_user_latency_s);
    if (p.arrival_s >= 0 || !p.content_key.empty()) {
      line.resize(line.size() - std::string_view(",\"turns\":[").size());
      if (p.arrival_s >= 0) line += fmt::format(",\"arrival_s\":{:.6f}", p.arrival_s);
      if (!p.content_key.empty())
        line += fmt::format(",\"content_key\":{}", json_quote(p.content_key));
      line += ",\"turns\":[";
    }
    for (std::size_t i = 0; i < p.turns.size(); ++i) {
      const AgentTurn& t = p.turns[i];
      if (i) line += ',';
      line += fmt::format("{{\"new\":{},\"out\":{},\"visible\":{},\"action\":\"{}\"", t.new_tokens,
                          t.output_tokens, t.visible_tokens, kActionNames.name(t.action));
      if (t.action == TurnAction::kTool) {
        line += ",\"tools\":[";
        for (std::size_t j = 0; j < t.tools.size(); ++j)
          line += fmt::format("{}{{\"function\":{},\"duration_s\":{:.6f}}}", j ? "," : "",
                              json_quote(t.tools[j].function), t.tools[j].duration_s);
        line += ']';
      } else {
        line += fmt::format(",\"user_latency_s\":{:.6f}", t.user_latency_s);
      }
      if (t.expert)
        line += fmt::format(
            ",\"expert\":{{\"model\":{},\"latency_s\":{:.6f},\"input_tokens\":{},"
            "\"output_tokens\":{},\"fails\":{}}}",
            json_quote(t.expert->model), t.expert->latency_s, t.expert->input_tokens,
            t.expert->output_tokens, t.expert->fails ? "true" : "false");
      line += '}';
    }
    line += "]}\n";
    out << line;
  }
  if (!out) return make_error("write failed");
  return Ok{};
}

Status write_trace_file(const Workload& w, const std::filesystem::path& path) {
  std::ofstream out(path);
  if (!out) return make_error(fmt::format("cannot write '{}'", path.string()));
  auto st = write_trace(w, out);
  if (!st) return make_error(fmt::format("{}: {}", path.string(), st.error().message));
  out.close();
  if (!out) return make_error(fmt::format("cannot write '{}'", path.string()));
  return Ok{};
}

Result<Workload> read_trace(std::istream& in, std::string_view origin) {
  Workload w;
  std::string line;
  std::size_t line_no = 0;
  bool have_header = false;
  std::int64_t declared = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec)
      return make_error(fmt::format("{}:{}: malformed JSON: {}", origin, line_no, ec.message()));
    if (!have_header) {
      std::string error;
      if (!v.is_object())
        return make_error(fmt::format("{}:{}: header must be a JSON object", origin, line_no));
      Fields f(v.as_object(), "", error);
      if (f.str("format") != kTraceFormat && error.empty())
        error =
            fmt::format("not an agentsched workload trace (format must be \"{}\")", kTraceFormat);
      const auto version = f.integer("version", 1);
      if (error.empty() && version != kTraceVersion)
        error = fmt::format("unsupported trace version {} (this build reads {})", version,
                            kTraceVersion);
      w.name = f.find("name", false) ? f.str("name") : std::string(origin);
      w.seed = static_cast<std::uint64_t>(f.integer("seed", 0, false));
      w.prompt_cap_tokens = f.int32("prompt_cap_tokens", 1, false, 23000);
      declared = f.integer("programs", 0, false, -1);
      if (error.empty() && f.find("arrivals", false)) {
        auto stages = parse_arrival_stages(f.str("arrivals"));
        if (!stages)
          error = fmt::format("field 'arrivals': {}", stages.error().message);
        else
          w.arrival_stages = std::move(*stages);
      }
      if (!error.empty()) return make_error(fmt::format("{}:{}: {}", origin, line_no, error));
      have_header = true;
      continue;
    }
    auto program = parse_program(v);
    if (!program)
      return make_error(fmt::format("{}:{}: {}", origin, line_no, program.error().message));
    w.programs.push_back(std::move(*program));
  }
  if (!have_header) return make_error(fmt::format("{}: empty trace (no header line)", origin));
  if (w.programs.empty()) return make_error(fmt::format("{}: trace has no programs", origin));
  if (w.open_loop()) {
    for (std::size_t i = 0; i < w.programs.size(); ++i) {
      const double t = w.programs[i].arrival_s;
      if (t < 0)
        return make_error(fmt::format(
            "{}: program {} ('{}') has no arrival_s, but the header gives open-loop arrivals",
            origin, i + 1, w.programs[i].job_id));
      if (i > 0 && t < w.programs[i - 1].arrival_s)
        return make_error(
            fmt::format("{}: program {} ('{}') arrives at {} s, before the one above "
                        "it: programs must be listed in arrival order",
                        origin, i + 1, w.programs[i].job_id, t));
    }
  } else {
    for (std::size_t i = 0; i < w.programs.size(); ++i)
      if (w.programs[i].arrival_s >= 0)
        return make_error(
            fmt::format("{}: program {} ('{}') has arrival_s but the header gives no "
                        "'arrivals' stages",
                        origin, i + 1, w.programs[i].job_id));
  }
  if (declared >= 0 && declared != static_cast<std::int64_t>(w.programs.size()))
    return make_error(fmt::format("{}: header declares {} programs but {} were read (truncated?)",
                                  origin, declared, w.programs.size()));
  return w;
}

Result<Workload> read_trace_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(fmt::format("cannot read workload trace '{}'", path.string()));
  return read_trace(in, path.string());
}

}  // namespace agentsched
