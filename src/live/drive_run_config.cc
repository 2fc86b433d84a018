#include "live/drive_run_config.h"

#include <unistd.h>

#include "core/time_format.h"
#include "workload/arrivals.h"

namespace agentsched::serve {

RunConfig drive_run_config(const DriverOptions& o, long programs, std::string_view model_label,
                           double origin_unix, double start) {
  // The shared schema (record/run_config.h): what a client knows, the rest null.
  RunConfig c;
  c.tool = "agentsched drive";
  if (o.system) {
    c.system = o.system->name;
    c.engine_policy = o.system->engine_policy;
    c.gateway_policy = o.system->gateway_policy;
    c.gateway_params.emplace(o.system->gateway_params.begin(), o.system->gateway_params.end());
  }
  c.workload = o.workload->name;
  c.workload_seed = o.workload->seed;
  c.programs = programs;
  c.concurrency = o.concurrency;
  if (o.workload->open_loop()) c.arrivals = format_arrival_stages(o.workload->arrival_stages);
  c.shared_heads = o.share_heads;
  RunConfig::Live& l = c.live.emplace();
  l.command_line = o.command_line;
  l.endpoint = o.endpoint.url();
  l.model = model_label;
  l.user_model = o.user_model;
  l.time_scale = o.time_scale;
  l.clock_origin_unix = origin_unix;
  l.start_unix = origin_unix + start;
  l.start = format_datetime_ms(origin_unix + start);
  l.pid = static_cast<std::int64_t>(::getpid());
  l.max_attempts = o.retry.max_attempts;
  l.initial_backoff_s = o.retry.initial_backoff_s;
  l.max_backoff_s = o.retry.max_backoff_s;
  l.request_timeout_s = o.request_timeout_s;
  if (o.model_config) {
    for (const auto& [name, endpoints] : o.model_config->models) {
      std::vector<std::string> urls;
      for (const auto& e : endpoints) urls.push_back(e.url());
      l.remote_models.emplace_back(name, std::move(urls));
    }
  }
  c.provenance_json = o.provenance_json;
  return c;
}

}  // namespace agentsched::serve
