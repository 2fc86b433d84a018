#include "analysis/request_latency.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "analysis/latency.h"
#include "record/timeline.h"
#include "workload/arrivals.h"

namespace agentsched::analysis {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

double mean(const std::vector<double>& v) {
  if (v.empty()) return NAN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace

Result<RequestLatencyReport> analyze_request_latency(const fs::path& run_dir) {
  if (!fs::is_directory(run_dir))
    return make_error(fmt::format("{}: no such folder", run_dir.string()));
  RequestLatencyReport report;
  std::vector<ArrivalStage> stages;
  {
    std::ifstream in(run_dir / "agentsched" / "config.json");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const json::value config = json::parse(text.str(), ec);
    if (in && !ec && config.is_object())
      if (const json::value* a = config.as_object().if_contains("arrivals"); a && a->is_string()) {
        report.arrivals = std::string(a->as_string());
        auto parsed = parse_arrival_stages(report.arrivals);
        if (!parsed)
          return make_error(fmt::format("{}: 'arrivals': {}",
                                        (run_dir / "agentsched" / "config.json").string(),
                                        parsed.error().message));
        stages = std::move(*parsed);
      }
  }
  auto rows = read_timeline(run_dir);
  if (!rows) return rows.error();
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const TimelineRow& r = (*rows)[i];
    if (r.first_token_s < r.submitted_s || r.finished_s < r.first_token_s)
      return make_error(
          fmt::format("{}:{}: times out of order (submitted {}, first token {}, "
                      "finished {})",
                      (run_dir / "agentsched" / "timeline.csv").string(), i + 2, r.submitted_s,
                      r.first_token_s, r.finished_s));
  }
  double last_finish = 0;
  for (const TimelineRow& r : *rows) last_finish = std::max(last_finish, r.finished_s);
  if (stages.empty()) stages.push_back(ArrivalStage{NAN, last_finish});  // closed loop

  std::vector<std::vector<const TimelineRow*>> by_stage(stages.size());
  std::vector<std::size_t> finished_in(stages.size(), 0);
  for (const TimelineRow& r : *rows) {
    const std::size_t s = stage_of(stages, r.submitted_s);
    if (s < stages.size()) by_stage[s].push_back(&r);
    const std::size_t f = stage_of(stages, r.finished_s);
    if (f < stages.size()) ++finished_in[f];
  }
  double start = 0;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    StageLatency st;
    st.stage = i;
    st.start_s = start;
    st.end_s = std::isfinite(stages[i].duration_s) ? start + stages[i].duration_s : last_finish;
    st.offered_rate = stages[i].rate_per_s;
    st.requests = by_stage[i].size();
    const double span = st.end_s - st.start_s;
    st.achieved_rate = span > 0 ? static_cast<double>(finished_in[i]) / span : NAN;
    std::vector<double> ttft, e2e, tpot;
    for (const TimelineRow* r : by_stage[i]) {
      e2e.push_back((r->finished_s - r->submitted_s) * 1e3);
      // A live run's timeline has no first-token time (the client does not stream): only
      // end-to-end latencies then.
      if (!std::isfinite(r->first_token_s)) continue;
      ttft.push_back((r->first_token_s - r->submitted_s) * 1e3);
      if (r->output_tokens >= 2)
        tpot.push_back((r->finished_s - r->first_token_s) * 1e3 /
                       static_cast<double>(r->output_tokens - 1));
    }
    st.ttft_mean_ms = mean(ttft);
    st.e2e_mean_ms = mean(e2e);
    st.tpot_mean_ms = mean(tpot);
    std::sort(ttft.begin(), ttft.end());
    std::sort(e2e.begin(), e2e.end());
    st.ttft_p90_ms = percentile_sorted(ttft, 0.90);
    st.ttft_p99_ms = percentile_sorted(ttft, 0.99);
    st.e2e_p90_ms = percentile_sorted(e2e, 0.90);
    st.e2e_p99_ms = percentile_sorted(e2e, 0.99);
    report.stages.push_back(st);
    start = st.end_s;
  }
  return report;
}

}  // namespace agentsched::analysis
