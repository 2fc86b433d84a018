#include "record/run_config.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>

#include "record/run_layout.h"

namespace agentsched {

namespace json = boost::json;

namespace {

// summary.json's per-backend keys, in file order.
constexpr std::pair<const char*, double BackendSummary::*> kBackendFields[] = {
    {"prefix_cache_queries", &BackendSummary::prefix_cache_queries},
    {"prefix_cache_hits", &BackendSummary::prefix_cache_hits},
    {"prefix_hit_rate", &BackendSummary::prefix_hit_rate},
    {"preemptions", &BackendSummary::preemptions},
    {"steps", &BackendSummary::steps},
    {"busy_s", &BackendSummary::busy_s},
    {"prompt_tokens_computed", &BackendSummary::prompt_tokens_computed},
    {"generation_tokens", &BackendSummary::generation_tokens},
    {"pins_created", &BackendSummary::pins_created},
    {"pins_reused", &BackendSummary::pins_reused},
    {"pins_expired", &BackendSummary::pins_expired},
    {"pins_evicted", &BackendSummary::pins_evicted},
    {"mean_kv_usage", &BackendSummary::mean_kv_usage},
};

template <typename T>
json::value or_null(const std::optional<T>& v) {
  return v ? json::value_from(*v) : json::value(nullptr);
}

// As Boost.JSON writes it ("5E0"), as `sim` always has; cli/provenance.h rewrites config.json
// in plain decimals when it adds `provenance`.
Status write_json(const std::filesystem::path& path, const json::object& o) {
  std::ofstream out(path);
  out << json::serialize(o) << '\n';
  if (!out) return make_error(fmt::format("cannot write '{}'", path.string()));
  return Ok{};
}

// Named counters as an object; whole numbers are written as integers.
json::object counters_object(const std::vector<std::pair<std::string, double>>& counters) {
  json::object o;
  for (const auto& [name, value] : counters) {
    if (std::floor(value) == value && std::fabs(value) < 9e15)
      o[name] = static_cast<std::int64_t>(value);
    else
      o[name] = value;
  }
  return o;
}

}  // namespace

Status write_run_config(const std::filesystem::path& run_dir, const RunConfig& c) {
  json::object o;
  o["tool"] = c.tool;
  o["version"] = c.version;
  o["system"] = or_null(c.system);
  o["engine_policy"] = or_null(c.engine_policy);
  o["gateway_policy"] = or_null(c.gateway_policy);
  if (c.gateway_params) {
    json::object params;
    for (const auto& [k, v] : *c.gateway_params) params[k] = v;
    o["gateway_params"] = std::move(params);
  } else {
    o["gateway_params"] = nullptr;
  }
  if (c.engine_params) {
    json::object params;
    for (const auto& [k, v] : *c.engine_params) params[k] = v;
    o["engine_params"] = std::move(params);
  }
  if (c.call_timeout_s) o["call_timeout_s"] = *c.call_timeout_s;
  if (c.arrivals) o["arrivals"] = *c.arrivals;
  o["concurrency"] = c.concurrency;
  o["profile"] = or_null(c.profile);
  o["num_gpu_blocks"] = or_null(c.num_gpu_blocks);
  if (c.host_tier) {
    o["host_kv_gib"] = c.host_tier->kv_gib;
    o["host_kv_blocks"] = c.host_tier->kv_blocks;
    o["host_link_gb_s"] = c.host_tier->link_gb_s;
    o["host_link_latency_ms"] = c.host_tier->link_latency_ms;
  }
  o["shared_heads"] = c.shared_heads;
  o["workload"] = c.workload;
  o["workload_seed"] = c.workload_seed;
  o["programs"] = c.programs;
  o["backends"] = or_null(c.backends);
  for (const auto& [key, field] :
       {std::pair{"kv_sample_interval_s", &RunConfig::kv_sample_interval_s},
        {"metrics_interval_s", &RunConfig::metrics_interval_s},
        {"metrics_delay_s", &RunConfig::metrics_delay_s}})
    o[key] = or_null(c.*field);
  o["virtual_start"] = or_null(c.virtual_start);
  o["reward_modelled"] = c.reward_modelled;
  if (c.live) {
    const RunConfig::Live& l = *c.live;
    o["command_line"] = l.command_line;
    o["endpoint"] = l.endpoint;
    o["model"] = l.model;
    o["user_model"] = l.user_model;
    o["time_scale"] = l.time_scale;
    o["clock_origin_unix"] = l.clock_origin_unix;
    o["start_unix"] = l.start_unix;
    o["start"] = l.start;
    o["pid"] = l.pid;
    o["max_attempts"] = l.max_attempts;
    for (const auto& [key, field] :
         {std::pair{"initial_backoff_s", &RunConfig::Live::initial_backoff_s},
          {"max_backoff_s", &RunConfig::Live::max_backoff_s},
          {"request_timeout_s", &RunConfig::Live::request_timeout_s}})
      o[key] = l.*field;
    json::object remote;
    for (const auto& [name, urls] : l.remote_models) {
      json::array list;
      for (const auto& u : urls) list.emplace_back(u);
      remote[name] = std::move(list);
    }
    o["remote_models"] = std::move(remote);
  }
  if (!c.provenance_json.empty()) {
    boost::system::error_code ec;
    json::value provenance = json::parse(c.provenance_json, ec);
    if (ec || !provenance.is_object()) return make_error("provenance is not a JSON object");
    o["provenance"] = std::move(provenance);
  }
  return write_json(run_dir / run_layout::kConfigJson, o);
}

Status write_run_summary(const std::filesystem::path& run_dir, const RunSummary& s) {
  json::object o;
  o["ok"] = s.ok;
  o["errors"] = s.errors;
  o["elapsed_s"] = s.elapsed_s;
  o["llm_calls"] = s.llm_calls;
  if (s.calls_timed_out) o["calls_timed_out"] = *s.calls_timed_out;
  o["gateway_held_s"] = or_null(s.gateway_held_s);
  o["max_gateway_hold_s"] = or_null(s.max_gateway_hold_s);
  if (s.backends) {
    json::array backends;
    for (const BackendSummary& b : *s.backends) {
      json::object e;
      for (const auto& [key, field] : kBackendFields) e[key] = b.*field;
      if (b.host_tier)
        for (const auto& [key, value] : *b.host_tier) e[key] = value;
      if (!b.policy_stats.empty()) e["policy_stats"] = counters_object(b.policy_stats);
      backends.push_back(std::move(e));
    }
    o["backends"] = std::move(backends);
  } else {
    o["backends"] = nullptr;
  }
  if (!s.gateway_stats.empty()) o["gateway_stats"] = counters_object(s.gateway_stats);
  if (s.live) {
    o["total"] = s.live->total;
    o["retries"] = s.live->retries;
    o["remote_calls"] = s.live->remote_calls;
    o["wall_s"] = s.live->wall_s;
    o["releases_sent"] = s.live->releases_sent;
  }
  return write_json(run_dir / run_layout::kOwnDir / "summary.json", o);
}

}  // namespace agentsched
