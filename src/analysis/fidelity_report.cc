#include "analysis/fidelity_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "analysis/latency.h"
#include "record/timeline_reader.h"

namespace agentsched::analysis {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct Spread {
  double mean = NAN, min = NAN, max = NAN;
  std::size_t n = 0;
};

Spread spread_of(const std::vector<double>& values) {
  Spread s;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    if (s.n == 0) s.min = s.max = v;
    s.mean = s.n == 0 ? v : s.mean + v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    ++s.n;
  }
  if (s.n) s.mean /= static_cast<double>(s.n);
  return s;
}

std::string cell(const Spread& s, int decimals) {
  if (s.n == 0) return "n/a";
  if (s.n == 1 || s.min == s.max) return fmt::format("{:.{}f}", s.mean, decimals);
  return fmt::format("{:.{}f} ({:.{}f}-{:.{}f})", s.mean, decimals, s.min, decimals, s.max,
                     decimals);
}

std::string percent(double fraction) {
  if (!std::isfinite(fraction)) return "n/a";
  return fmt::format("{:+.0f}%", 100 * fraction);
}

json::value num(double x) {
  if (!std::isfinite(x)) return nullptr;
  return x;
}

Result<json::value> read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(fmt::format("cannot read '{}'", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(buffer.str(), ec);
  if (ec) return make_error(fmt::format("{}: invalid JSON: {}", path.string(), ec.message()));
  return v;
}

double number_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return NAN;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return NAN;
}

// Figures of every finished run, keyed by directory.
struct RunFigures {
  MatrixRunFigures matrix;
  RunMechanisms mech;
  bool mech_ok = false;
};

Result<std::vector<RunFigures>> collect(const std::vector<MatrixRun>& runs,
                                        double threshold_percent) {
  auto summary = summarize_matrix(runs, threshold_percent);
  if (!summary) return summary.error();
  std::vector<RunFigures> out;
  for (const auto& f : summary->runs) {
    RunFigures r;
    r.matrix = f;
    if (f.ok) {
      auto m = read_run_mechanisms(f.run.dir);
      if (!m) return m.error();
      r.mech = *m;
      r.mech_ok = true;
    }
    out.push_back(std::move(r));
  }
  return out;
}

template <typename F>
Spread over(const std::vector<RunFigures>& figures, const std::string& system, int concurrency,
            F field) {
  std::vector<double> values;
  for (const auto& f : figures)
    if (f.matrix.ok && f.mech_ok && f.matrix.run.system == system &&
        f.matrix.run.concurrency == concurrency)
      values.push_back(field(f));
  return spread_of(values);
}

std::vector<std::string> systems_in(const std::vector<RunFigures>& figures) {
  std::vector<std::string> out;
  for (const auto& f : figures)
    if (std::find(out.begin(), out.end(), f.matrix.run.system) == out.end())
      out.push_back(f.matrix.run.system);
  return out;
}

std::vector<int> concurrencies_in(const std::vector<RunFigures>& figures) {
  std::set<int> cs;
  for (const auto& f : figures) cs.insert(f.matrix.run.concurrency);
  return {cs.begin(), cs.end()};
}

std::size_t seeds_in(const std::vector<RunFigures>& figures) {
  std::set<std::uint64_t> seeds;
  for (const auto& f : figures) seeds.insert(f.matrix.run.seed);
  return seeds.size();
}

double tasks(const RunFigures& f) {
  return f.matrix.tasks_per_min;
}
double steps(const RunFigures& f) {
  return f.matrix.steps_per_s;
}

}  // namespace

const std::vector<ReferenceResult>& reference_results() {
  static const std::vector<ReferenceResult> results = {
      {"baseline", 32, 3.36, 2.95}, {"continuum", 32, 3.55, 2.83}, {"thunderreact", 32, 3.77, 2.97},
      {"baseline", 64, 3.52, 2.82}, {"continuum", 64, 2.50, 1.89}, {"thunderreact", 64, 4.13, 3.37},
  };
  return results;
}

Result<RunMechanisms> read_run_mechanisms(const fs::path& run_dir) {
  RunMechanisms m;
  auto summary = read_json(run_dir / "agentsched" / "summary.json");
  if (!summary) return summary.error();
  if (!summary->is_object())
    return make_error(fmt::format("{}: not a JSON object", run_dir.string()));
  const json::object& s = summary->as_object();
  m.elapsed_s = number_at(s, "elapsed_s");
  m.gateway_held_s = number_at(s, "gateway_held_s");
  double queries = 0, hits = 0, preemptions = 0;
  m.busy_share = m.mean_kv_usage = NAN;
  if (const json::value* b = s.if_contains("backends"); b && b->is_array()) {
    for (const auto& v : b->as_array()) {
      if (!v.is_object()) continue;
      const json::object& o = v.as_object();
      queries += number_at(o, "prefix_cache_queries");
      hits += number_at(o, "prefix_cache_hits");
      preemptions += number_at(o, "preemptions");
      if (!std::isfinite(m.busy_share)) {
        m.busy_share = number_at(o, "busy_s") / m.elapsed_s;
        m.mean_kv_usage = number_at(o, "mean_kv_usage");
      }
    }
  }
  m.prefix_hit_rate = queries > 0 ? hits / queries : NAN;
  m.preemptions = preemptions;

  auto rows = read_timeline(run_dir);
  if (!rows) return rows.error();
  std::vector<double> llm, decode, prefill;
  double held = 0, waiting = 0, prefill_s = 0, decode_s = 0, prompt = 0, computed = 0;
  double preempted = 0, decode_tokens = 0;
  for (const TimelineRow& r : *rows) {
    llm.push_back((r.finished_s - r.submitted_s) * 1e3);
    decode.push_back((r.finished_s - r.first_token_s) * 1e3);
    prefill.push_back((r.first_token_s - r.first_scheduled_s) * 1e3);
    held += r.gateway_held_s;
    waiting += r.engine_waiting_s;
    prefill_s += r.prefill_s;
    decode_s += r.decode_s;
    prompt += static_cast<double>(r.prompt_tokens);
    computed += static_cast<double>(r.computed_prompt_tokens);
    preempted += r.preemptions > 0 ? 1 : 0;
    decode_tokens += static_cast<double>(std::max<std::int64_t>(0, r.output_tokens - 1));
  }
  m.calls = llm.size();
  if (m.calls == 0)
    return make_error(
        fmt::format("{}: no calls", (run_dir / "agentsched" / "timeline.csv").string()));
  const double n = static_cast<double>(m.calls);
  m.held_s_per_call = held / n;
  m.waiting_s_per_call = waiting / n;
  m.prefill_s_per_call = prefill_s / n;
  m.decode_s_per_call = decode_s / n;
  m.prompt_tokens_per_call = prompt / n;
  m.computed_prompt_tokens_per_call = computed / n;
  m.preempted_call_share = preempted / n;
  m.tpot_ms = decode_tokens > 0 ? decode_s / decode_tokens * 1e3 : NAN;
  std::sort(llm.begin(), llm.end());
  std::sort(decode.begin(), decode.end());
  std::sort(prefill.begin(), prefill.end());
  m.llm_p10_ms = percentile_sorted(llm, 0.10);
  m.llm_p50_ms = percentile_sorted(llm, 0.50);
  m.llm_p90_ms = percentile_sorted(llm, 0.90);
  m.llm_p99_ms = percentile_sorted(llm, 0.99);
  m.llm_max_ms = llm.back();
  m.decode_p50_ms = percentile_sorted(decode, 0.50);
  m.prefill_p50_ms = percentile_sorted(prefill, 0.50);
  return m;
}

Result<std::string> write_sweep_summary(const std::string& knob, double base_value,
                                        const std::vector<SweepPointRuns>& points,
                                        double threshold_percent, const fs::path& dir) {
  std::string md = fmt::format(
      "## Sweep of `{}` (active window: KV usage > {:g}%; mean (min-max) over seeds)\n\n"
      "| {} | system | C | tasks/min | steps/s | tasks/min whole run | prefix hits % | "
      "preemptions | waiting s/call | held s/call | llm_call p50 s |\n"
      "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
      knob, threshold_percent, knob);
  json::array rows;
  for (const auto& point : points) {
    auto figures = collect(point.runs, threshold_percent);
    if (!figures) return figures.error();
    for (const auto& system : systems_in(*figures)) {
      for (int c : concurrencies_in(*figures)) {
        auto get = [&](auto field) { return over(*figures, system, c, field); };
        const Spread t = get(tasks), st = get(steps);
        const Spread whole = get([](const RunFigures& f) { return f.matrix.whole_tasks_per_min; });
        const Spread hits = get([](const RunFigures& f) { return 100 * f.mech.prefix_hit_rate; });
        const Spread pre = get([](const RunFigures& f) { return f.mech.preemptions; });
        const Spread wait = get([](const RunFigures& f) { return f.mech.waiting_s_per_call; });
        const Spread held = get([](const RunFigures& f) { return f.mech.held_s_per_call; });
        const Spread p50 = get([](const RunFigures& f) { return f.mech.llm_p50_ms / 1e3; });
        md += fmt::format("| {:g}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                          point.value, point.value == base_value ? " (base)" : "", system, c,
                          cell(t, 2), cell(st, 2), cell(whole, 2), cell(hits, 1), cell(pre, 0),
                          cell(wait, 1), cell(held, 1), cell(p50, 1));
        json::object o;
        o["knob"] = knob;
        o["value"] = point.value;
        o["base"] = point.value == base_value;
        o["system"] = system;
        o["concurrency"] = c;
        o["runs"] = t.n;
        o["tasks_per_min"] = num(t.mean);
        o["tasks_per_min_min"] = num(t.min);
        o["tasks_per_min_max"] = num(t.max);
        o["steps_per_s"] = num(st.mean);
        o["whole_run_tasks_per_min"] = num(whole.mean);
        o["prefix_hit_rate"] = num(hits.mean / 100);
        o["preemptions"] = num(pre.mean);
        o["engine_waiting_s_per_call"] = num(wait.mean);
        o["gateway_held_s_per_call"] = num(held.mean);
        o["llm_call_p50_s"] = num(p50.mean);
        rows.push_back(std::move(o));
      }
    }
  }
  {
    std::ofstream out(dir / "sweep.md");
    out << md;
    if (!out) return make_error(fmt::format("cannot write '{}'", (dir / "sweep.md").string()));
  }
  json::object root;
  root["knob"] = knob;
  root["base_value"] = base_value;
  root["threshold_percent"] = threshold_percent;
  root["rows"] = std::move(rows);
  std::ofstream out(dir / "sweep.json");
  out << json::serialize(root) << '\n';
  if (!out) return make_error(fmt::format("cannot write '{}'", (dir / "sweep.json").string()));
  return md;
}

namespace {

constexpr std::string_view kMethod = R"(## How the calibration was reached

The reference gives the C = 32 throughput of the three systems (section 5) and workload
statistics (section 3); nothing else was fitted. The uncalibrated model ran the C = 32
matrix about five times too slowly, with the engine thrashing: programs waited in vLLM's
FCFS queue long enough for their cached prefixes to be evicted, so most calls re-prefilled
their whole conversation. Four assumptions were wrong, one model structure and three
sizes; each change below is physical, and the three systems share all of them.

1. **Prompt heads were distinct per program.** vLLM's prefix cache hashes token ids, not
   requests, and every tau2 task of a domain opens with the same system prompt, policy and
   tool schemas (5.8k-8.6k tokens). Shared, the three heads occupy ~21k tokens of KV once
   instead of ~7k per program, and a call whose own conversation was evicted still finds
   its head. This is the largest single effect (sensitivity: `shared-heads`).
2. **Orchestrator outputs were sized for an idle engine.** The reference's call latencies
   were recorded under load: an 8,000-token answer needs at most ~100 s on an idle 5090
   (12.2 ms a token), yet the slowest call took 427 s, and the median call spent ~1 s
   beyond its prefill and decode. Sized for an idle engine (median ~250, mean ~580 tokens),
   the decode work alone at the reference's ~1.3 calls/s needs more KV-read bandwidth than
   the GPU has (calls/s x output x context x 147 KB ≈ 1.4 TB/s of 1.79). The output
   distribution keeps the shape of the reference's latency quantiles and takes its scale
   from the reference's decode p50 (3,050 ms) at the model's own per-token time at
   C = 32 (checked below).
3. **Tool results were heavy.** Median 350 and p90 1,500 tokens grew prompts ~470 tokens
   a turn; tau2's tool results are JSON records (a user, an order, a reservation) of
   150-600 tokens, with product details and flight searches up to ~3,000: median 250,
   p90 800 (~300 tokens a turn). The reference does not measure this; the sensitivity
   table shows how much the conclusions lean on it (`tool-result-scale`).
4. **Cost coefficients.** The old ones made the H100 anchor point (7.4 ms a token at 4
   concurrent) ~9 ms. Now one set for every profile reproduces it, with weight and KV
   reads at 90% of peak bandwidth, 1.5 ms of CPU per step and prefill at 80% of the dense
   bf16 peak.

The engine model was reviewed against docs/reference-study.md section 8 (running-first
scheduling under the token budget, no admission in a step that preempted, strict head-of-line
admission, newest-first preemption to the front of the queue, prefix lookups on
re-admission, tail-first freeing into an LRU free queue, usage counting cached blocks as
free) and no deviation from vLLM 0.9.2 was found: the thrashing is what vLLM does when the
running set and the programs' contexts exceed the cache.

5. **Continuum's scheduler, rule by rule** (docs/reference-study.md section 6, after the
   C = 64 row became known). The model released the pin ending last whenever a block was
   short, before preempting anyone and before giving up on an admission. The fork keeps pins
   while two or more requests run (a running request is preempted and recomputed instead)
   and releases one only when at most one runs (none, for an admission); it picks the pinned
   program's request at each admission rather than keeping a sorted queue, and prefers
   victims not marked as last steps. With the fork's rules continuum gains at C = 32 (its
   pins survive pressure, and program FCFS keeps the oldest programs' prefixes hot) and
   lands above baseline there, as measured. The C = 64 collapse the reference measured is
   not reproduced; docs/fidelity-investigation.md lists every candidate tried, with its
   numbers.
)";

// The places where the model and the reference disagree, with the figures of this report.
std::string tensions(const std::vector<RunFigures>& figures, const FidelityReportInput& in) {
  std::string md = "## Known tensions\n\n";
  const ReferenceCallLatencies ref;
  const Spread p50_32 =
      over(figures, "baseline", 32, [](const RunFigures& f) { return f.mech.llm_p50_ms; });
  std::string low_text;
  if (!in.low_load_runs.empty()) {
    if (auto low = collect(in.low_load_runs, in.threshold_percent); low && !low->empty()) {
      const auto& first = low->front().matrix.run;
      const Spread p50 = over(*low, first.system, first.concurrency,
                              [](const RunFigures& f) { return f.mech.llm_p50_ms; });
      low_text = fmt::format(", and {:.1f} s at C = {}", p50.mean / 1e3, first.concurrency);
    }
  }
  md += fmt::format(
      "- The reference's latency table is labelled \"low load\", but its maximum and the gap "
      "between its call and decode medians say the engine was loaded, and its mean call (~8.7 s "
      "by log-linear interpolation) with the user and expert think times would give ~4.5 "
      "tasks/min at C = 32, above every measured system. The model follows the throughput: its "
      "median call is {:.1f} s at C = 32 (baseline){} against the table's {:.1f} s; its calls "
      "spread wider (p10 and p90 in the table above), and their prefill takes longer because "
      "more of them miss the cache.\n",
      p50_32.mean / 1e3, low_text, ref.p50 / 1e3);
  md +=
      "- Steps are 1 + 2 x calls in the simulated turn structure, so matching the reference's "
      "48 steps per task gives ~23 LLM calls per task where the reference counted ~21 (its "
      "extra steps presumably come from user-side tool calls in telecom, which the simulator "
      "does not model). The model does ~10% more LLM work per task than the reference.\n";
  const auto ratio = [&](const std::string& system, int c) {
    const Spread a = over(figures, system, c, tasks), b = over(figures, "baseline", c, tasks);
    return a.n && b.n ? a.mean / b.mean - 1 : NAN;
  };
  std::string rel;
  for (const auto& r : reference_results()) {
    if (r.system == "baseline") continue;
    const ReferenceResult* base = nullptr;
    for (const auto& b : reference_results())
      if (b.system == "baseline" && b.concurrency == r.concurrency) base = &b;
    if (!base) continue;
    if (std::isnan(ratio(r.system, r.concurrency))) continue;
    rel +=
        fmt::format("{}{} at C = {}: {} in the model, {} in the reference", rel.empty() ? "" : "; ",
                    r.system, r.concurrency, percent(ratio(r.system, r.concurrency)),
                    percent(r.tasks_per_min / base->tasks_per_min - 1));
  }
  if (!rel.empty())
    md += fmt::format(
        "- Differences between the systems relative to baseline: {}. One configuration fits "
        "their common level; the model separates them less than the reference does at C = 64 "
        "(docs/fidelity-investigation.md).\n",
        rel);
  double widest = 0;
  for (const auto& system : systems_in(figures)) {
    const Spread t = over(figures, system, 32, tasks);
    if (t.n > 1 && t.mean > 0) widest = std::max(widest, (t.max - t.min) / 2 / t.mean);
  }
  if (widest > 0)
    md += fmt::format(
        "- Seeds move the C = 32 throughput by up to ±{:.0f}%: the heavy-tailed think times and "
        "outputs make 278 tasks a small sample. Residuals are judged on the mean over seeds.\n",
        100 * widest);
  md +=
      "- The C = 32 point sits where KV pressure starts to bite: small changes in the KV "
      "footprint (capacity, output and tool-result sizes) move throughput by more than the "
      "residuals (sensitivity above). The reference fixes the level; it does not pin which of "
      "these sizes is right, so conclusions that depend on the exact footprint should be "
      "checked across the sweeps.\n";
  return md;
}

}  // namespace

Result<FidelityReport> make_fidelity_report(const FidelityReportInput& in) {
  auto figures_or = collect(in.runs, in.threshold_percent);
  if (!figures_or) return figures_or.error();
  const std::vector<RunFigures>& figures = *figures_or;
  const std::vector<std::string> systems = systems_in(figures);
  const std::vector<int> cs = concurrencies_in(figures);
  const std::size_t seeds = seeds_in(figures);
  FidelityReport report;
  std::string md;
  md += "# Simulator fidelity\n\n";
  md += fmt::format(
      "Generated by `{}` from {} simulated runs ({} systems x {} concurrencies x {} seeds, "
      "plus the sensitivity sweeps); every number is computed from the run folders. Re-run "
      "it (with --force to replace the runs of the last report) after any change to the "
      "profiles, the workload or the models. Throughput is over "
      "the active window (KV usage > {:g}%), as in the reference; \"a (b-c)\" is the mean "
      "over seeds and its range.\n\n",
      in.command, in.runs.size(), systems.size(), cs.size(), seeds, in.threshold_percent);

  // Residuals.
  md += "## Residuals at the reference points (docs/reference-study.md section 5)\n\n";
  md +=
      "| system | C | tasks/min | reference | residual | steps/s | reference | residual |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  bool all_ok = true, any = false;
  for (const auto& ref : reference_results()) {
    const Spread t = over(figures, ref.system, ref.concurrency, tasks);
    const Spread s = over(figures, ref.system, ref.concurrency, steps);
    if (t.n == 0) continue;
    any = true;
    const double rt = t.mean / ref.tasks_per_min - 1, rs = s.mean / ref.steps_per_s - 1;
    const bool ok = std::abs(rt) <= in.tolerance && std::abs(rs) <= in.tolerance;
    all_ok = all_ok && ok;
    md += fmt::format("| {} | {} | {} | {:.2f} | {} | {} | {:.2f} | {} |\n", ref.system,
                      ref.concurrency, cell(t, 2), ref.tasks_per_min, percent(rt), cell(s, 2),
                      ref.steps_per_s, percent(rs));
    report.residual_lines.push_back(
        fmt::format("{} C={}: tasks/min {:.2f} vs {:.2f} ({}), steps/s {:.2f} vs {:.2f} ({})",
                    ref.system, ref.concurrency, t.mean, ref.tasks_per_min, percent(rt), s.mean,
                    ref.steps_per_s, percent(rs)));
  }
  report.residuals_within_tolerance = any && all_ok;
  // The order of the systems by tasks/min at each reference concurrency: what a reader of the
  // comparison decides with, so it is checked beside the residuals.
  std::string order_md;
  for (int c : cs) {
    std::vector<std::pair<double, std::string>> model, reference;
    for (const auto& ref : reference_results()) {
      if (ref.concurrency != c) continue;
      const Spread t = over(figures, ref.system, c, tasks);
      if (t.n == 0) continue;
      model.emplace_back(t.mean, ref.system);
      reference.emplace_back(ref.tasks_per_min, ref.system);
    }
    if (model.size() < 2) continue;
    auto order = [](std::vector<std::pair<double, std::string>> v) {
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      std::string text;
      for (const auto& [value, system] : v) text += (text.empty() ? "" : " > ") + system;
      return text;
    };
    const std::string m = order(model), r = order(reference);
    order_md += fmt::format("| {} | {} | {} | {} |\n", c, m, r, m == r ? "yes" : "**no**");
    report.residual_lines.push_back(fmt::format("C={} order: model {}, reference {}", c, m, r));
  }
  md += fmt::format(
      "\n{}\n\n",
      !any     ? "No run at a reference point."
      : all_ok ? fmt::format("All residuals are within ±{:.0f}%.", 100 * in.tolerance)
               : fmt::format("**Some residuals exceed ±{:.0f}%**: docs/fidelity-investigation.md "
                             "records what was tried to explain them.",
                             100 * in.tolerance));
  if (!order_md.empty())
    md +=
        "The order of the systems by tasks/min:\n\n| C | order in the model | order in the "
        "reference | same |\n|---:|---|---|---|\n" +
        order_md + "\n";

  // Calibration.
  md += "## Calibration\n\nOne profile and one workload for the three systems.\n\n";
  md += "| scope | parameter | value | basis |\n|---|---|---|---|\n";
  for (const auto& row : in.calibration)
    md += fmt::format("| {} | {} | {} | {} |\n", row[0], row[1], row[2], row[3]);
  md += "\n";
  md += kMethod;
  md += "\n";

  // Latency check.
  const ReferenceCallLatencies ref_lat;
  md += "## Call latencies against the workload statistics (docs/reference-study.md section 3)\n\n";
  md +=
      "Whole run, every orchestrator call: as the client saw it (`llm_call`), vLLM's decode "
      "time (first to last token) and prefill time (first scheduled to first token).\n\n";
  std::vector<std::pair<std::string, std::vector<RunFigures>>> columns;
  for (const auto& system : systems) {
    std::vector<RunFigures> col;
    for (const auto& f : figures)
      if (f.mech_ok && f.matrix.run.system == system && f.matrix.run.concurrency == 32)
        col.push_back(f);
    if (!col.empty()) columns.emplace_back(fmt::format("{} C=32", system), std::move(col));
  }
  if (!in.low_load_runs.empty()) {
    auto low = collect(in.low_load_runs, in.threshold_percent);
    if (!low) return low.error();
    std::vector<RunFigures> col;
    for (const auto& f : *low)
      if (f.mech_ok) col.push_back(f);
    if (!col.empty())
      columns.emplace_back(
          fmt::format("{} C={}", col.front().matrix.run.system, col.front().matrix.run.concurrency),
          std::move(col));
  }
  md += "| ms | reference |";
  for (const auto& [name, col] : columns) md += fmt::format(" {} |", name);
  md += "\n|---|---:|";
  for (std::size_t i = 0; i < columns.size(); ++i) md += "---:|";
  md += "\n";
  auto latency_row = [&](const char* name, double ref, auto field) {
    md += fmt::format("| {} | {:.0f} |", name, ref);
    for (const auto& [label, col] : columns) {
      std::vector<double> v;
      for (const auto& f : col) v.push_back(field(f.mech));
      md += fmt::format(" {} |", cell(spread_of(v), 0));
    }
    md += "\n";
  };
  latency_row("llm_call p10", ref_lat.p10, [](const RunMechanisms& m) { return m.llm_p10_ms; });
  latency_row("llm_call p50", ref_lat.p50, [](const RunMechanisms& m) { return m.llm_p50_ms; });
  latency_row("llm_call p90", ref_lat.p90, [](const RunMechanisms& m) { return m.llm_p90_ms; });
  latency_row("llm_call p99", ref_lat.p99, [](const RunMechanisms& m) { return m.llm_p99_ms; });
  latency_row("llm_call max", ref_lat.max, [](const RunMechanisms& m) { return m.llm_max_ms; });
  latency_row("decode p50", ref_lat.decode_p50,
              [](const RunMechanisms& m) { return m.decode_p50_ms; });
  latency_row("prefill p50", ref_lat.prefill_p50,
              [](const RunMechanisms& m) { return m.prefill_p50_ms; });
  md += "\n";

  // Predictions.
  md += "## Predictions\n\n";
  md +=
      "The model's throughput and call latency at every concurrency of the matrix. Only the "
      "C = 32 level was used to calibrate; the C = 64 row was predicted blind before the "
      "reference's figures were known, and the C = 128 row is a blind prediction: the "
      "reference measured it and has not published it. llm_call quantiles are inside the "
      "active window, in seconds.\n\n";
  md +=
      "| C | system | tasks/min | steps/s | tasks/min whole run | llm_call p50 | llm_call p99 "
      "|\n|---:|---|---:|---:|---:|---:|---:|\n";
  for (int c : cs)
    for (const auto& system : systems) {
      auto get = [&](auto field) { return over(figures, system, c, field); };
      md += fmt::format(
          "| {} | {} | {} | {} | {} | {} | {} |\n", c, system, cell(get(tasks), 2),
          cell(get(steps), 2),
          cell(get([](const RunFigures& f) { return f.matrix.whole_tasks_per_min; }), 2),
          cell(get([](const RunFigures& f) { return f.matrix.llm_p50_ms / 1e3; }), 1),
          cell(get([](const RunFigures& f) { return f.matrix.llm_p99_ms / 1e3; }), 1));
    }
  md += "\n";

  // Mechanisms.
  md += "## Mechanisms\n\n";
  md +=
      "From each run's `agentsched/summary.json` (engine counters) and "
      "`agentsched/timeline.csv` (per call), mean over seeds. Per call: seconds held in the "
      "gateway, waiting in the engine's queue, in prefill and in decode; prompt tokens "
      "computed (recomputation after preemption included) of the prompt; decode time per "
      "output token.\n\n";
  md +=
      "| C | system | prefix hits | preemptions | calls preempted | engine busy | mean KV "
      "usage | held s | waiting s | prefill s | decode s | computed / prompt tokens | ms/token "
      "|\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (int c : cs)
    for (const auto& system : systems) {
      auto get = [&](auto field) { return over(figures, system, c, field).mean; };
      md += fmt::format(
          "| {} | {} | {:.1f}% | {:.0f} | {:.1f}% | {:.0f}% | {:.0f}% | {:.1f} | {:.1f} | {:.2f} "
          "| {:.1f} | {:.0f} / {:.0f} | {:.0f} |\n",
          c, system, 100 * get([](const RunFigures& f) { return f.mech.prefix_hit_rate; }),
          get([](const RunFigures& f) { return f.mech.preemptions; }),
          100 * get([](const RunFigures& f) { return f.mech.preempted_call_share; }),
          100 * get([](const RunFigures& f) { return f.mech.busy_share; }),
          100 * get([](const RunFigures& f) { return f.mech.mean_kv_usage; }),
          get([](const RunFigures& f) { return f.mech.held_s_per_call; }),
          get([](const RunFigures& f) { return f.mech.waiting_s_per_call; }),
          get([](const RunFigures& f) { return f.mech.prefill_s_per_call; }),
          get([](const RunFigures& f) { return f.mech.decode_s_per_call; }),
          get([](const RunFigures& f) { return f.mech.computed_prompt_tokens_per_call; }),
          get([](const RunFigures& f) { return f.mech.prompt_tokens_per_call; }),
          get([](const RunFigures& f) { return f.mech.tpot_ms; }));
    }
  md += "\n";

  // Sensitivity.
  if (!in.sensitivity.empty()) {
    md += "## Sensitivity\n\n";
    md +=
        "Each sweep changes one assumption of the calibrated configuration (the base row) and "
        "reruns the systems over the same seeds; tasks/min over the active window, mean "
        "(min-max). `agentsched sim sweep --vary <knob>=<values>` runs any other.\n\n";
    for (const auto& sweep : in.sensitivity) {
      std::vector<std::pair<double, std::vector<RunFigures>>> pts;
      std::vector<std::string> sweep_systems;
      std::vector<int> sweep_cs;
      for (const auto& p : sweep.points) {
        auto f = collect(p.runs, in.threshold_percent);
        if (!f) return f.error();
        for (const auto& s : systems_in(*f))
          if (std::find(sweep_systems.begin(), sweep_systems.end(), s) == sweep_systems.end())
            sweep_systems.push_back(s);
        for (int c : concurrencies_in(*f))
          if (std::find(sweep_cs.begin(), sweep_cs.end(), c) == sweep_cs.end())
            sweep_cs.push_back(c);
        pts.emplace_back(p.value, std::move(*f));
      }
      for (int c : sweep_cs) {
        md += fmt::format("### `{}` at C = {}\n\n{}\n\n| {} |", sweep.knob, c, sweep.question,
                          sweep.knob);
        for (const auto& s : sweep_systems) md += fmt::format(" {} |", s);
        md += fmt::format(" {} prefix hits | {} preemptions |\n|---:|", sweep_systems.front(),
                          sweep_systems.front());
        for (std::size_t i = 0; i < sweep_systems.size() + 2; ++i) md += "---:|";
        md += "\n";
        for (const auto& [value, f] : pts) {
          md += fmt::format("| {:g}{} |", value, value == sweep.base_value ? " (base)" : "");
          for (const auto& s : sweep_systems)
            md += fmt::format(" {} |", cell(over(f, s, c, tasks), 2));
          const std::string& first = sweep_systems.front();
          md += fmt::format(
              " {:.1f}% | {:.0f} |\n",
              100 * over(f, first, c, [](const RunFigures& r) { return r.mech.prefix_hit_rate; })
                        .mean,
              over(f, first, c, [](const RunFigures& r) { return r.mech.preemptions; }).mean);
        }
        md += "\n";
      }
    }
  }
  md += tensions(figures, in);
  report.markdown = std::move(md);
  return report;
}

}  // namespace agentsched::analysis
