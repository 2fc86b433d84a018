#include "live/experiment.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "analysis/html_report.h"
#include "analysis/matrix_summary.h"
#include "core/time_format.h"
#include "core/toml_parse.h"
#include "live/kv_sampler.h"
#include "live/process.h"
#include "model/profile.h"
#include "record/run_layout.h"
#include "record/run_status.h"

namespace agentsched::serve {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// ---- configuration ----

class TomlReader {
 public:
  TomlReader(const toml::table& root, std::string_view origin) : root_(root), origin_(origin) {}

  const std::string& error() const { return error_; }

  // Every key of `table` must be one of `known`.
  void check_keys(const toml::table& table, std::string_view prefix,
                  const std::set<std::string>& known) {
    for (const auto& [key, node] : table) {
      const std::string name =
          prefix.empty() ? std::string(key.str()) : fmt::format("{}.{}", prefix, key.str());
      if (!known.count(std::string(key.str()))) fail(fmt::format("unknown key '{}'", name));
    }
  }

  template <typename T>
  void get(std::string_view path, T& out) {
    if (!error_.empty()) return;
    const auto node = root_.at_path(path);
    if (!node) return;  // keep the default
    if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = node.value_exact<std::string>())
        out = *v;
      else
        fail(fmt::format("'{}' must be a string", path));
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = node.value_exact<bool>())
        out = *v;
      else
        fail(fmt::format("'{}' must be true or false", path));
    } else if constexpr (std::is_floating_point_v<T>) {
      auto v = node.template value<double>();
      if (!v)
        fail(fmt::format("'{}' must be a number", path));
      else if (!std::isfinite(*v))
        fail(fmt::format("'{}' must be a finite number, not {}", path, *v));
      else
        out = static_cast<T>(*v);
    } else {
      // Refused, not wrapped: base_port = 4294975296 must not become port 8000.
      constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
      if (auto v = node.value_exact<std::int64_t>();
          v && *v >= 0 && static_cast<std::uint64_t>(*v) <= max)
        out = static_cast<T>(*v);
      else
        fail(fmt::format("'{}' must be a non-negative integer (at most {})", path, max));
    }
  }

  void fail(std::string message) {
    if (error_.empty()) error_ = fmt::format("{}: {}", origin_, message);
  }

 private:
  const toml::table& root_;
  std::string origin_;
  std::string error_;
};

std::string shell_quote(std::string_view v) {
  const bool plain = !v.empty() && v.find_first_not_of(
                                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                                       "TUVWXYZ0123456789_./:,=+-@%") == std::string_view::npos;
  if (plain) return std::string(v);
  std::string out = "'";
  for (char c : v) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string number_text(double v) {
  return fmt::format("{:g}", v);
}

double real_unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Status write_json(const fs::path& path, const json::object& o) {
  std::ofstream out(path);
  out << json::serialize(o) << '\n';
  if (!out) return make_error(fmt::format("cannot write '{}'", path.string()));
  return Ok{};
}

constexpr const char* kDefaultEngineCommand =
    "{agentsched} engine --host {host} --port {port} --policy {policy} --time-scale "
    "{time_scale} --profile {profile}{engine_param_args}";
constexpr const char* kDefaultRouterCommand =
    "{agentsched} router --host {host} --port {port} --policy {gateway_policy} --backends "
    "{backends} --time-scale {time_scale} --profile-dir {agentsched_dir}/router{param_args}";

}  // namespace

Result<ExperimentConfig> parse_experiment_config(std::string_view text, std::string_view origin) {
  auto parsed = parse_toml(text, origin);
  if (!parsed) return parsed.error();
  const toml::table& root = *parsed;
  ExperimentConfig c;
  TomlReader r(root, origin);
  r.check_keys(root, "",
               {"mode",         "systems", "concurrency", "out",           "workload",   "seed",
                "max_programs", "profile", "threshold",   "force",         "arrivals",   "plots",
                "time_scale",   "host",    "base_port",   "backends",      "params",     "engine",
                "router",       "sampler", "driver",      "engine_params", "host_kv_gib"});
  for (const char* table : {"params", "engine_params", "engine", "router", "sampler", "driver"}) {
    const auto* t = root.get(table);
    if (t && !t->is_table()) r.fail(fmt::format("'{}' must be a table ([{}])", table, table));
  }
  if (const auto* t = root["engine"].as_table())
    r.check_keys(*t, "engine", {"command", "ready_timeout_s", "stop_grace_s"});
  if (const auto* t = root["router"].as_table()) r.check_keys(*t, "router", {"command"});
  if (const auto* t = root["sampler"].as_table()) r.check_keys(*t, "sampler", {"interval_s"});
  if (const auto* t = root["driver"].as_table())
    r.check_keys(*t, "driver", {"model_config", "max_attempts", "request_timeout_s", "extra_args"});
  // [params] and [engine_params]: name = number tables.
  for (auto [table, into] :
       {std::pair{"params", &c.gateway_params}, std::pair{"engine_params", &c.engine_params}})
    if (const auto* t = root[table].as_table())
      for (const auto& [key, node] : *t) {
        if (auto v = node.value<double>(); v && std::isfinite(*v))
          (*into)[std::string(key.str())] = *v;
        else
          r.fail(fmt::format("'{}.{}' must be a {}number", table, key.str(), v ? "finite " : ""));
      }
  r.get("mode", c.mode);
  if (r.error().empty() && c.mode != "sim" && c.mode != "live")
    r.fail(fmt::format("'mode' must be \"sim\" or \"live\", not \"{}\"", c.mode));
  if (const auto* systems = root.get("systems")) {
    const auto* arr = systems->as_array();
    if (!arr) r.fail("'systems' must be an array of system names");
    if (arr)
      for (const auto& item : *arr) {
        if (auto s = item.value_exact<std::string>())
          c.systems.push_back(*s);
        else
          r.fail("'systems' must hold strings");
      }
  }
  if (const auto* conc = root.get("concurrency")) {
    const auto* arr = conc->as_array();
    if (!arr) r.fail("'concurrency' must be an array of positive integers");
    if (arr)
      for (const auto& item : *arr) {
        auto v = item.value_exact<std::int64_t>();
        if (!v || *v < 1 || *v > 1000000)
          r.fail("'concurrency' must hold positive integers");
        else
          c.concurrency.push_back(static_cast<int>(*v));
      }
  }
  std::string out;
  r.get("out", out);
  if (!out.empty()) c.out = out;
  r.get("workload", c.workload);
  r.get("seed", c.seed);
  r.get("max_programs", c.max_programs);
  r.get("arrivals", c.arrivals);
  r.get("profile", c.profile);
  r.get("host_kv_gib", c.host_kv_gib);
  r.get("threshold", c.threshold);
  r.get("force", c.force);
  r.get("plots", c.plots);
  r.get("time_scale", c.time_scale);
  r.get("host", c.host);
  r.get("base_port", c.base_port);
  r.get("backends", c.backends);
  r.get("engine.command", c.engine_command);
  r.get("engine.ready_timeout_s", c.ready_timeout_s);
  r.get("engine.stop_grace_s", c.stop_grace_s);
  r.get("router.command", c.router_command);
  r.get("sampler.interval_s", c.sample_interval_s);
  r.get("driver.model_config", c.model_config);
  r.get("driver.max_attempts", c.max_attempts);
  r.get("driver.request_timeout_s", c.request_timeout_s);
  r.get("driver.extra_args", c.extra_driver_args);
  if (!r.error().empty()) return make_error(r.error());
  if (!(c.time_scale > 0))
    return make_error(fmt::format("{}: 'time_scale' must be positive", origin));
  if (c.backends < 1) return make_error(fmt::format("{}: 'backends' must be at least 1", origin));
  if (root.get("host_kv_gib") && !(c.host_kv_gib >= 0 && std::isfinite(c.host_kv_gib)))
    return make_error(fmt::format("{}: 'host_kv_gib' must be at least 0", origin));
  if (c.max_attempts < 1)
    return make_error(fmt::format("{}: 'driver.max_attempts' must be at least 1", origin));
  if (!(c.sample_interval_s > 0))
    return make_error(fmt::format("{}: 'sampler.interval_s' must be positive", origin));
  if (!(c.ready_timeout_s > 0))
    return make_error(fmt::format("{}: 'engine.ready_timeout_s' must be positive", origin));
  if (c.stop_grace_s < 0)
    return make_error(fmt::format("{}: 'engine.stop_grace_s' must be at least 0", origin));
  if (c.request_timeout_s < 0)
    return make_error(
        fmt::format("{}: 'driver.request_timeout_s' must be at least 0 (0: no deadline)", origin));
  if (!c.engine_command.empty()) c.engine_command_is_emulator = false;
  return c;
}

Result<ExperimentConfig> load_experiment_config(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(fmt::format("cannot read experiment config '{}'", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_experiment_config(ss.str(), path.string());
}

std::string ExperimentCell::name() const {
  return fmt::format("{}_c{}", system.name, concurrency);
}

bool cell_finished(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / run_layout::kMetricsJson, ec)) return false;
  std::ifstream in(dir / run_layout::kDriverLog);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find("Global evaluation complete:") != std::string::npos) return true;
  return false;
}

Status clear_cell(const fs::path& dir) {
  if (sample_file_in_use(dir / run_layout::kKvCsv))
    return make_error(fmt::format(
        "a KV sampler is still writing '{}' (a process left from an earlier run?); stop it "
        "before running this cell again",
        (dir / run_layout::kKvCsv).string()));
  std::error_code ec;
  for (const char* name :
       {run_layout::kDriverLog, run_layout::kKvCsv, "logs", "outputs", run_layout::kOwnDir}) {
    fs::remove_all(dir / name, ec);
    if (ec)
      return make_error(fmt::format("cannot remove '{}': {}", (dir / name).string(), ec.message()));
  }
  return Ok{};
}

Result<std::string> expand_template(std::string_view text,
                                    const std::map<std::string, std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos)
      return make_error(fmt::format("unclosed '{{' in command template '{}'", text));
    const std::string name(text.substr(i + 1, close - i - 1));
    auto it = values.find(name);
    if (it == values.end()) {
      std::string known;
      for (const auto& [k, v] : values) known += (known.empty() ? "" : ", ") + k;
      return make_error(
          fmt::format("unknown placeholder {{{}}} in command template '{}' "
                      "(known: {})",
                      name, text, known));
    }
    out += it->second;
    i = close;
  }
  return out;
}

LiveCellOutcome run_live_cell(const ExperimentConfig& cfg, const ExperimentCell& cell,
                              const std::function<void(const std::string&)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  LiveCellOutcome outcome;
  std::vector<std::unique_ptr<Child>> services;  // engines, router, sampler: start order
  std::unique_ptr<Child> driver;
  std::vector<std::string> notes;
  const fs::path own = cell.dir / run_layout::kOwnDir;
  json::object record;

  auto stop_all = [&] {
    if (driver) {
      auto s = driver->stop(cfg.stop_grace_s);
      if (s.forced) notes.push_back("driver did not stop on SIGTERM and was killed");
    }
    for (auto it = services.rbegin(); it != services.rend(); ++it) {
      auto s = (*it)->stop(cfg.stop_grace_s);
      if (s.forced)
        notes.push_back(
            fmt::format("{} did not stop on SIGTERM within {:.0f} s and "
                        "was killed",
                        (*it)->name(), cfg.stop_grace_s));
    }
  };
  auto finish = [&](bool ok, std::string error) {
    stop_all();
    outcome.ok = ok;
    outcome.error = std::move(error);
    outcome.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    record["ok"] = ok;
    if (!ok) record["error"] = outcome.error;
    record["wall_s"] = outcome.wall_s;
    json::array n;
    for (const auto& s : notes) n.emplace_back(s);
    record["notes"] = std::move(n);
    std::error_code ec;
    if (fs::is_directory(own, ec)) (void)write_json(own / "experiment_cell.json", record);
    return outcome;
  };

  std::error_code ec;
  fs::create_directories(own, ec);
  if (ec) return finish(false, fmt::format("cannot create '{}': {}", own.string(), ec.message()));

  // Ports first: a port in use is most likely a process left from an earlier run.
  const int engines = cfg.backends;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < engines + (cell.system.needs_router() ? 1 : 0); ++i) {
    if (cfg.base_port > 0) {
      const int p = cfg.base_port + i;
      if (p > 65535) return finish(false, "ports past 65535: lower base_port");
      if (!port_is_free(cfg.host, static_cast<std::uint16_t>(p)))
        return finish(false, fmt::format("port {} on {} is in use (a process left from an "
                                         "earlier run? `agentsched check --port {}` shows what "
                                         "answers there)",
                                         p, cfg.host, p));
      ports.push_back(static_cast<std::uint16_t>(p));
    } else {
      auto p = pick_free_port(cfg.host);
      if (!p) return finish(false, p.error().message);
      ports.push_back(*p);
    }
  }
  const std::string self = self_executable();
  std::map<std::string, std::string> values = {
      {"agentsched", shell_quote(self)},
      {"host", shell_quote(cfg.host)},
      {"policy", cell.system.engine_policy},
      {"gateway_policy", cell.system.gateway_policy},
      {"time_scale", number_text(cfg.time_scale)},
      {"profile", shell_quote(cfg.profile.empty() ? std::string(kDefaultProfile) : cfg.profile)},
      {"seed", std::to_string(cfg.seed)},
      {"system", cell.system.name},
      {"concurrency", std::to_string(cell.concurrency)},
      {"cell_dir", shell_quote(cell.dir.string())},
      {"agentsched_dir", shell_quote(own.string())},
      {"host_kv_gib", number_text(std::max(cfg.host_kv_gib, 0.0))},
  };
  std::string engine_params;
  for (const auto& [k, v] : cell.system.engine_params)
    engine_params += fmt::format(" --engine-param {}={}", k, number_text(v));
  values["engine_param_args"] = engine_params;
  record["system"] = cell.system.name;
  record["concurrency"] = cell.concurrency;
  record["mode"] = "live";
  record["time_scale"] = cfg.time_scale;
  record["started"] = format_datetime(real_unix_now());
  json::array commands;

  // Engines.
  std::string backend_urls, backend_args;
  for (int b = 0; b < engines; ++b) {
    values["port"] = std::to_string(ports[static_cast<std::size_t>(b)]);
    values["backend"] = std::to_string(b);
    std::string engine_template =
        cfg.engine_command.empty() ? kDefaultEngineCommand : cfg.engine_command;
    if (cfg.engine_command.empty() && cfg.host_kv_gib >= 0)
      engine_template += " --host-kv-gib {host_kv_gib}";
    auto line = expand_template(engine_template, values);
    if (!line) return finish(false, line.error().message);
    commands.emplace_back(*line);
    auto child = Child::start(
        {fmt::format("engine{}", b), {*line}, true, own / fmt::format("engine{}.log", b)});
    if (!child) return finish(false, child.error().message);
    services.push_back(std::move(*child));
    const std::string url =
        fmt::format("http://{}:{}", cfg.host, ports[static_cast<std::size_t>(b)]);
    backend_urls += (b ? "," : "") + url;
    backend_args += (b ? " --backend " : "--backend ") + url;
  }
  if (progress)
    progress(fmt::format("{}: waiting for {} engine(s) to be ready", cell.name(), engines));
  for (int b = 0; b < engines; ++b)
    if (auto st = wait_until_healthy(cfg.host, ports[static_cast<std::size_t>(b)],
                                     *services[static_cast<std::size_t>(b)], cfg.ready_timeout_s);
        !st)
      return finish(false, st.error().message);

  // Router.
  std::uint16_t endpoint_port = ports.front();
  if (cell.system.needs_router()) {
    endpoint_port = ports.back();
    values["port"] = std::to_string(endpoint_port);
    values["backends"] = backend_urls;
    values["backend_args"] = backend_args;
    std::string params;
    for (const auto& [k, v] : cell.system.gateway_params)
      params += fmt::format(" --param {}={}", k, number_text(v));
    values["param_args"] = params;
    auto line = expand_template(
        cfg.router_command.empty() ? kDefaultRouterCommand : cfg.router_command, values);
    if (!line) return finish(false, line.error().message);
    commands.emplace_back(*line);
    auto child = Child::start({"router", {*line}, true, own / "router.log"});
    if (!child) return finish(false, child.error().message);
    services.push_back(std::move(*child));
    if (auto st =
            wait_until_healthy(cfg.host, endpoint_port, *services.back(), cfg.ready_timeout_s);
        !st)
      return finish(false, st.error().message);
  }

  // Sampler and driver share the run's clock: same origin, same scale.
  const double origin = real_unix_now();
  std::string engine_ports;
  for (int b = 0; b < engines; ++b)
    engine_ports += (b ? "," : "") + std::to_string(ports[static_cast<std::size_t>(b)]);
  std::vector<std::string> sampler_argv = {self,
                                           "sample",
                                           "--host",
                                           cfg.host,
                                           "--ports",
                                           engine_ports,
                                           "--interval",
                                           number_text(cfg.sample_interval_s),
                                           "--time-scale",
                                           number_text(cfg.time_scale),
                                           "--clock-origin",
                                           fmt::format("{:.6f}", origin),
                                           "--run-dir",
                                           cell.dir.string(),
                                           "--out",
                                           (cell.dir / run_layout::kKvCsv).string()};
  {
    auto child = Child::start({"sampler", sampler_argv, false, own / "sampler.log"});
    if (!child) return finish(false, child.error().message);
    services.push_back(std::move(*child));
  }
  std::vector<std::string> driver_argv = {self,
                                          "drive",
                                          "--endpoint",
                                          fmt::format("http://{}:{}", cfg.host, endpoint_port),
                                          "--workload",
                                          cfg.workload,
                                          "--seed",
                                          std::to_string(cfg.seed),
                                          "--concurrency",
                                          std::to_string(cell.concurrency),
                                          "--out",
                                          cell.dir.string(),
                                          "--time-scale",
                                          number_text(cfg.time_scale),
                                          "--clock-origin",
                                          fmt::format("{:.6f}", origin),
                                          "--max-attempts",
                                          std::to_string(cfg.max_attempts),
                                          "--no-progress"};
  // The cell's system, recorded in the run's config.json as `sim` records its own.
  driver_argv.push_back("--system");
  driver_argv.push_back(cell.system.name);
  for (const auto& [k, v] : cell.system.gateway_params) {
    driver_argv.push_back("--param");
    driver_argv.push_back(fmt::format("{}={}", k, number_text(v)));
  }
  if (!cfg.arrivals.empty()) {
    driver_argv.push_back("--arrivals");
    driver_argv.push_back(cfg.arrivals);
  }
  if (cfg.max_programs > 0) {
    driver_argv.push_back("--max-programs");
    driver_argv.push_back(std::to_string(cfg.max_programs));
  }
  if (cfg.request_timeout_s > 0) {
    driver_argv.push_back("--request-timeout");
    driver_argv.push_back(number_text(cfg.request_timeout_s));
  }
  if (!cfg.model_config.empty()) {
    driver_argv.push_back("--model-config");
    driver_argv.push_back(cfg.model_config);
  }
  if (!cfg.extra_driver_args.empty()) {
    auto extra = split_command_line(cfg.extra_driver_args);
    if (!extra) return finish(false, "driver.extra_args: " + extra.error().message);
    driver_argv.insert(driver_argv.end(), extra->begin(), extra->end());
  }
  auto join = [](const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + shell_quote(a);
    return s;
  };
  commands.emplace_back(join(sampler_argv));
  commands.emplace_back(join(driver_argv));
  record["commands"] = commands;
  json::array port_list;
  for (auto p : ports) port_list.emplace_back(p);
  record["ports"] = std::move(port_list);
  record["clock_origin_unix"] = origin;
  (void)write_json(own / "experiment_cell.json", record);
  {
    auto child = Child::start({"driver", driver_argv, false, own / "driver.stdout.log"});
    if (!child) return finish(false, child.error().message);
    driver = std::move(*child);
  }

  // Run: watch every process; show progress from the driver's heartbeat.
  auto last_progress = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  for (;;) {
    if (interrupted())
      return finish(false, fmt::format("interrupted by signal {}", interrupt_signal()));
    if (auto s = driver->wait_for(0.1)) {
      if (*s != 0)
        return finish(false, fmt::format("the driver exited with status {}; the end of its log "
                                         "({}):\n{}",
                                         *s, driver->log().string(), driver->log_tail()));
      break;
    }
    for (auto& svc : services) {
      auto s = svc->poll();
      if (!s) continue;
      if (svc->name() == "sampler" && *s == 0) continue;  // stops by itself once the run is over
      return finish(false, fmt::format("{} exited with status {} during the run; the end of its "
                                       "log ({}):\n{}",
                                       svc->name(), *s, svc->log().string(), svc->log_tail()));
    }
    const auto now = std::chrono::steady_clock::now();
    if (progress && now - last_progress >= std::chrono::seconds(1)) {
      last_progress = now;
      if (auto st = read_run_status(cell.dir)) {
        const double real_elapsed = (st->updated_real_unix - origin);
        const double emulated = st->updated_unix - origin;
        const double rate = emulated > 0 ? st->finished / (emulated / 60) : 0;
        std::string eta = "?";
        if (st->finished > 0 && real_elapsed > 0) {
          const double left = (st->total - st->finished) * real_elapsed / st->finished;
          eta = left < 120 ? fmt::format("{:.0f}s", left) : fmt::format("{:.0f}m", left / 60);
        }
        progress(fmt::format("{}: {}/{} tasks ({} errors)  {:.2f} tasks/min emulated  ETA {}",
                             cell.name(), st->finished, st->total, st->errors, rate, eta));
      }
    }
  }
  if (!cell_finished(cell.dir))
    return finish(false, fmt::format("the driver exited but '{}' has no closing line",
                                     (cell.dir / run_layout::kDriverLog).string()));
  return finish(true, {});
}

Result<std::string> write_experiment_summary(const ExperimentConfig& cfg,
                                             const std::vector<ExperimentCell>& cells) {
  std::vector<analysis::MatrixRun> runs;
  for (const auto& c : cells)
    if (cell_finished(c.dir)) runs.push_back({c.system.name, c.concurrency, cfg.seed, c.dir});
  if (runs.empty()) return make_error("no finished cell to summarise");
  auto summary = analysis::summarize_matrix(runs, cfg.threshold);
  if (!summary) return summary.error();
  if (cfg.mode == "live") {
    // The tables are the simulator's; only their title differs.
    const std::string sim_title = "## Simulated comparison";
    if (summary->markdown.rfind(sim_title, 0) == 0)
      summary->markdown.replace(
          0, sim_title.size(),
          fmt::format("## Live comparison at time scale {:g}", cfg.time_scale));
  }
  if (auto st = analysis::write_matrix_summary(*summary, cfg.out); !st) return st.error();
  if (cfg.plots)
    if (auto st = analysis::write_matrix_plots(*summary, cfg.out); !st) return st.error();
  analysis::HtmlReportInput input;
  input.title = cfg.mode == "live"
                    ? fmt::format("Live comparison at time scale {:g}", cfg.time_scale)
                    : std::string("Simulated comparison");
  input.subtitle = "agentsched experiment run, written to " + cfg.out.string();
  input.matrix_charts = cfg.plots;
  auto report = analysis::collect_matrix_report(*summary, input);
  if (!report) return make_error("report.html: " + report.error().message);
  if (auto st = analysis::write_html_report(*report, cfg.out / "report.html"); !st)
    return st.error();
  return summary->markdown;
}

}  // namespace agentsched::serve
