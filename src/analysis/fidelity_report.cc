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
#include "analysis/report_json.h"
#include "analysis/spread.h"
#include "record/timeline.h"

namespace agentsched::analysis {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

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
        o["tasks_per_min"] = json_number(t.mean);
        o["tasks_per_min_min"] = json_number(t.min);
        o["tasks_per_min_max"] = json_number(t.max);
        o["steps_per_s"] = json_number(st.mean);
        o["whole_run_tasks_per_min"] = json_number(whole.mean);
        o["prefix_hit_rate"] = json_number(hits.mean / 100);
        o["preemptions"] = json_number(pre.mean);
        o["engine_waiting_s_per_call"] = json_number(wait.mean);
        o["gateway_held_s_per_call"] = json_number(held.mean);
        o["llm_call_p50_s"] = json_number(p50.mean);
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

// The places where the model and the reference disagree, with the figures of this report.
Result<std::string> tensions(const std::vector<RunFigures>& figures, const FidelityReportInput& in,
                             const ReferenceStudy& reference, const TextTemplate& text) {
  std::string md;
  auto add = [&](std::string_view section, const std::map<std::string, std::string>& values) {
    auto t = text.fill(section, values);
    if (t) md += *t;
    return t.ok() ? Status(Ok{}) : Status(t.error());
  };
  if (auto st = add("tensions", {}); !st) return st.error();
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
  if (auto st =
          add("tension_latency",
              {{"median_call_s", fmt::format("{:.1f}", p50_32.mean / 1e3)},
               {"low_load", low_text},
               {"reference_median_s", fmt::format("{:.1f}", reference.call_latency_ms.p50 / 1e3)}});
      !st)
    return st.error();
  if (auto st = add("tension_steps", {}); !st) return st.error();
  const auto ratio = [&](const std::string& system, int c) {
    const Spread a = over(figures, system, c, tasks), b = over(figures, "baseline", c, tasks);
    return a.n && b.n ? a.mean / b.mean - 1 : NAN;
  };
  std::string rel;
  for (const auto& r : reference.results) {
    if (r.system == "baseline") continue;
    const ReferenceResult* base = nullptr;
    for (const auto& b : reference.results)
      if (b.system == "baseline" && b.concurrency == r.concurrency) base = &b;
    if (!base) continue;
    if (std::isnan(ratio(r.system, r.concurrency))) continue;
    rel +=
        fmt::format("{}{} at C = {}: {} in the model, {} in the reference", rel.empty() ? "" : "; ",
                    r.system, r.concurrency, percent(ratio(r.system, r.concurrency)),
                    percent(r.tasks_per_min / base->tasks_per_min - 1));
  }
  if (!rel.empty())
    if (auto st = add("tension_systems", {{"differences", rel}}); !st) return st.error();
  double widest = 0;
  for (const auto& system : systems_in(figures)) {
    const Spread t = over(figures, system, 32, tasks);
    if (t.n > 1 && t.mean > 0) widest = std::max(widest, (t.max - t.min) / 2 / t.mean);
  }
  if (widest > 0)
    if (auto st = add("tension_seeds", {{"spread", fmt::format("{:.0f}", 100 * widest)}}); !st)
      return st.error();
  if (auto st = add("tension_footprint", {}); !st) return st.error();
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
  auto reference_or = builtin_reference_study();
  if (!reference_or) return reference_or.error();
  const ReferenceStudy& ref_study = *reference_or;
  auto text_or = builtin_fidelity_template();
  if (!text_or) return text_or.error();
  const TextTemplate& text = *text_or;
  FidelityReport report;
  std::string md;
  // The prose, from data/fidelity-report.md; a missing section or figure fails the report.
  std::string error;
  auto prose = [&](std::string_view section, const std::map<std::string, std::string>& values) {
    auto t = text.fill(section, values);
    if (!t) {
      if (error.empty()) error = t.error().message;
      return std::string();
    }
    return std::move(*t);
  };
  md += prose("intro", {{"command", in.command},
                        {"runs", std::to_string(in.runs.size())},
                        {"systems", std::to_string(systems.size())},
                        {"concurrencies", std::to_string(cs.size())},
                        {"seeds", std::to_string(seeds)},
                        {"threshold", fmt::format("{:g}", in.threshold_percent)}});
  // Residuals.
  md += prose("residuals", {});
  bool all_ok = true, any = false;
  for (const auto& ref : ref_study.results) {
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
    for (const auto& ref : ref_study.results) {
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
  const std::string tolerance = fmt::format("{:.0f}", 100 * in.tolerance);
  md += "\n" +
        prose(!any     ? "verdict_none"
              : all_ok ? "verdict_within"
                       : "verdict_exceeded",
              {{"tolerance", tolerance}}) +
        "\n\n";
  if (!order_md.empty()) md += prose("order", {}) + order_md + "\n";

  // Calibration.
  md += prose("calibration", {});
  for (const auto& row : in.calibration)
    md += fmt::format("| {} | {} | {} | {} |\n", row[0], row[1], row[2], row[3]);
  md += "\n";
  md += prose("method", {});
  md += "\n";

  // Latency check.
  const ReferenceCallLatencies& ref_lat = ref_study.call_latency_ms;
  md += prose("latencies", {});
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
  md += prose("predictions", {});
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
  md += prose("mechanisms", {});
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
    md += prose("sensitivity", {});
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
  auto tension_md = tensions(figures, in, ref_study, text);
  if (!tension_md) return tension_md.error();
  md += *tension_md;
  if (!error.empty()) return make_error(error);
  report.markdown = std::move(md);
  return report;
}

}  // namespace agentsched::analysis
