// `agentsched analyze window|compare|breakdown|bottleneck|stuck|manifest|plot`: the metrics
// of docs/reference-study.md section 4 over run folders (ours or the reference driver's).
// Definitions and choices: docs/analysis.md. Every subcommand takes --threshold and --json.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>

#include "analysis/bottleneck.h"
#include "analysis/compare.h"
#include "analysis/latency.h"
#include "analysis/manifest.h"
#include "analysis/report_json.h"
#include "analysis/stuck.h"
#include "analysis/text_table.h"
#include "analysis/window.h"
#include "cli/analyze_common.h"
#include "cli/command_registry.h"
#include "core/time_format.h"
#include "record/run_layout.h"

namespace agentsched::cli {
namespace {

using namespace agentsched::analysis;
using namespace analyze_common;
namespace json = boost::json;

// ---------------------------------------------------------------------------------- window

void run_window(const CommonOptions& options) {
  TextTable table({"<run", "<window start (UTC)", "<window end (UTC)", "seconds", "tasks", "steps",
                   "tasks/min", "steps/s", "<whole run"});
  RunLoop loop = for_each_run(
      options, [&](const NamedRun& run) { return analyze_window(run.dir, options.threshold); },
      [&](const NamedRun& run, const WindowReport& report, bool& failed) {
        warn_about_inputs(run.name, report.driver_log);
        warn_about_inputs(run.name, report.kv);
        const std::string problem = window_problem(report);
        if (!report.has_window) {
          failed = true;
          report_error(fmt::format("{}: {}", run.name, problem));
        } else if (!problem.empty()) {
          warn(fmt::format("{}: {}", run.name, problem));
        }
        const std::string whole =
            report.whole_run ? fmt::format("ok={} error={} total={} {:.1f} s {:.2f} tasks/min",
                                           report.whole_run->ok, report.whole_run->error,
                                           report.whole_run->total, report.whole_run->elapsed_s,
                                           report.whole_run->tasks_per_min)
                             : "no 'Global evaluation complete' line";
        if (report.has_window) {
          table.add_row({run.name, when(report.window_start_unix), when(report.window_end_unix),
                         fixed(report.window_seconds, 1), std::to_string(report.tasks_in_window),
                         std::to_string(report.steps_in_window), fixed(report.tasks_per_min),
                         fixed(report.steps_per_s), whole});
        } else {
          table.add_row({run.name, "no window", "-", "-", "-", "-", "n/a", "n/a", whole});
        }
        json::object entry = to_json(report);
        entry["name"] = run.name;
        return entry;
      });
  if (!options.json) {
    fmt::print("Active window: KV usage strictly above {}%\n{}", options.threshold, table.render());
  }
  finish(options, loop);
}

// ------------------------------------------------------------------------------- breakdown

void print_breakdown(const std::string& name, const WindowReport& r) {
  fmt::print("{} ({})\n", name, r.run_dir.string());
  TextTable table({"<", "tasks", "steps"});
  if (r.has_window) {
    table.add_row(
        {"before window", std::to_string(r.tasks_before), std::to_string(r.steps_before)});
    table.add_row(
        {"inside window", std::to_string(r.tasks_in_window), std::to_string(r.steps_in_window)});
    table.add_row({"after window", std::to_string(r.tasks_after), std::to_string(r.steps_after)});
  }
  table.add_row({"total", std::to_string(r.tasks_total), std::to_string(r.steps_total)});
  fmt::print("{}", table.render());
  fmt::print("first task     {}\n", when(r.first_task_unix));
  fmt::print("window start   {}\n", r.has_window ? when(r.window_start_unix) : "-");
  fmt::print("window end     {}\n", r.has_window ? when(r.window_end_unix) : "-");
  fmt::print("last task      {}\n", when(r.last_task_unix));
  fmt::print("last step      {}\n", when(r.last_step_unix));
  if (r.gap_window_end_to_last_task_s) {
    fmt::print("gap from window end to last task  {:.1f} s\n", *r.gap_window_end_to_last_task_s);
  }
  fmt::print("\n");
}

void run_breakdown(const CommonOptions& options) {
  RunLoop loop = for_each_run(
      options, [&](const NamedRun& run) { return analyze_window(run.dir, options.threshold); },
      [&](const NamedRun& run, const WindowReport& report, bool& failed) {
        warn_about_inputs(run.name, report.driver_log);
        warn_about_inputs(run.name, report.kv);
        if (!report.has_window) {
          failed = true;
          report_error(fmt::format("{}: {}", run.name, window_problem(report)));
        }
        if (!options.json) print_breakdown(run.name, report);
        json::object entry = to_json(report);
        entry["name"] = run.name;
        return entry;
      });
  finish(options, loop);
}

// ------------------------------------------------------------------------------ bottleneck

void add_stats_row(TextTable& table, const char* name, const LatencyStats& s) {
  table.add_row({name, std::to_string(s.n), fixed(s.mean, 1), fixed(s.p50, 1), fixed(s.p90, 1),
                 fixed(s.p99, 1), fixed(s.min, 1), fixed(s.max, 1)});
}

void print_bottleneck(const std::string& name, const BottleneckReport& r) {
  const WindowReport& w = r.window;
  const bool whole = r.latencies.scope == LatencyScope::kWholeRun;
  fmt::print("{} ({})\n", name, w.run_dir.string());
  if (w.has_window) {
    fmt::print("active window  {} .. {} UTC ({:.1f} s, above {}%)\n", when(w.window_start_unix),
               when(w.window_end_unix), w.window_seconds, w.threshold_percent);
  }
  fmt::print("latencies from {}{}\n", r.latencies.source_file.string(),
             r.latencies.from_global_log ? "" : " (" + r.latencies.source_note + ")");
  if (w.has_window) {
    TextTable edges({"<role edge (inside window)", "steps", "steps/s"});
    for (const auto& e : w.steps_by_edge)
      edges.add_row({e.edge, std::to_string(e.steps_in_window), fixed(e.steps_per_s, 3)});
    edges.add_row({"all", std::to_string(w.steps_in_window), fixed(w.steps_per_s, 3)});
    fmt::print("\n{}", edges.render());
  }
  TextTable latency({whole ? "<latency, ms (whole run)" : "<latency, ms (inside window)", "n",
                     "mean", "p50", "p90", "p99", "min", "max"});
  add_stats_row(latency, "llm_call", r.latencies.llm_call);
  add_stats_row(latency, "user_sim", r.latencies.user_sim);
  add_stats_row(latency, "expert_call", r.latencies.expert_call);
  fmt::print("\n{}", latency.render());
  fmt::print("llm_calls over 300 s: {}; over 1200 s: {}\n", r.latencies.llm_calls_over_300s,
             r.latencies.llm_calls_over_1200s);
  if (!r.latencies.slowest_llm_calls.empty()) {
    TextTable slow({"<slowest llm_calls: time (UTC)", "duration_ms", "<task", "step"});
    for (const auto& call : r.latencies.slowest_llm_calls) {
      slow.add_row(
          {when(call.unix_time), fixed(call.duration_ms, 2), call.task, std::to_string(call.step)});
    }
    fmt::print("\n{}", slow.render());
  }
  fmt::print("\n");
}

void run_bottleneck(const CommonOptions& options, bool whole_run) {
  const LatencyScope scope = whole_run ? LatencyScope::kWholeRun : LatencyScope::kActiveWindow;
  RunLoop loop = for_each_run(
      options,
      [&](const NamedRun& run) { return analyze_bottleneck(run.dir, options.threshold, scope); },
      [&](const NamedRun& run, const BottleneckReport& report, bool&) {
        warn_about_inputs(run.name, report.window.driver_log);
        warn_about_inputs(run.name, report.window.kv);
        warn_about_inputs(run.name, report.latencies.source_log);
        if (!report.latencies.from_global_log) {
          warn(fmt::format("{}: latencies read from {}: {}", run.name,
                           report.latencies.source_file.string(), report.latencies.source_note));
        }
        if (!options.json) print_bottleneck(run.name, report);
        json::object entry = to_json(report);
        entry["name"] = run.name;
        return entry;
      });
  finish(options, loop);
}

// ---------------------------------------------------------------------------------- compare

void run_compare(const CommonOptions& options, bool csv) {
  const RunSelection selection = select_runs(options.runs);
  if (!selection.errors.empty())
    throw CommandFailure{fmt::format("{} of {} run(s) could not be read", selection.errors.size(),
                                     selection.runs.size() + selection.errors.size())};
  auto table = build_compare_table(selection.runs, options.threshold);
  if (!table) throw CommandFailure{table.error().message};
  std::size_t failures = 0;
  for (const auto& entry : table->entries) {
    warn_about_inputs(entry.name, entry.report->driver_log);
    warn_about_inputs(entry.name, entry.report->kv);
    if (!entry.problem.empty()) {
      if (!entry.report->has_window) ++failures;
      (entry.report->has_window ? warn : report_error)(entry.name + ": " + entry.problem);
    }
  }
  if (options.json) {
    std::fputs(pretty_json(to_json(*table)).c_str(), stdout);
  } else if (csv) {
    std::fputs(render_compare_csv(*table).c_str(), stdout);
  } else {
    fmt::print("tasks/min inside the active window (KV usage above {}%)\n\n{}\n", options.threshold,
               render_compare_markdown(*table, false));
    fmt::print("steps/s inside the active window (KV usage above {}%)\n\n{}", options.threshold,
               render_compare_markdown(*table, true));
    fmt::print(
        "\nwinner: the best mean, when its range over seeds clears the others' (one seed: "
        "when no value shown equals it); otherwise a tie, and why\n");
  }
  if (failures > 0) {
    std::fflush(stdout);
    throw CommandFailure{
        fmt::format("{} of {} run(s) have no active window", failures, table->entries.size())};
  }
}

// ------------------------------------------------------------------------------------ stuck

void print_stuck(const StuckReport& r) {
  fmt::print("{}\n", r.run_dir.string());
  fmt::print("diagnosis       {}\n", r.diagnosis);
  fmt::print(
      "tasks           {} finished (FINISHED SIMULATION), {} ended ({} with status=error){}\n",
      r.tasks_finished, r.tasks_ended, r.tasks_errored,
      r.expected_total ? fmt::format(" of {} expected", *r.expected_total) : "");
  if (r.tasks_missing) {
    fmt::print("never finished  {}: {} started and unfinished, {} never started\n",
               *r.tasks_missing, r.unfinished.size(), r.never_started.value_or(0));
  } else {
    fmt::print("never finished  {} started and unfinished (give --expected-total N for the rest)\n",
               r.unfinished.size());
  }
  fmt::print("run completed   {}\n",
             r.run_completed ? "yes" : "no (no 'Global evaluation complete')");
  fmt::print("last good task  {}\n", when(r.last_good_task_unix));
  fmt::print("last step       {}\n", when(r.last_step_unix));
  fmt::print("last event      {}\n", when(r.last_event_unix));
  fmt::print("last KV sample  {}\n", when(r.kv.last_sample_unix));
  if (r.last_good_task_unix) {
    fmt::print("after last good task: {} events, {} steps; stall {:.1f} s\n",
               r.events_after_last_good_task, r.steps_after_last_good_task,
               r.stall_seconds.value_or(0));
    auto span = [&](const char* label, const KvSpanStats& s) {
      if (s.n == 0) {
        fmt::print("{}: no samples\n", label);
      } else {
        fmt::print("{}: {} samples, min {:.1f}%, mean {:.1f}%, max {:.1f}%, {} above {}%\n", label,
                   s.n, s.min * 100, s.mean * 100, s.max * 100, s.above_threshold,
                   r.threshold_percent);
      }
    };
    span(fmt::format("KV within {:.0f} s of last good task", r.around_seconds).c_str(),
         r.kv_around);
    span("KV during the stall (after it)", r.kv_during_stall);
    if (!r.samples_around.empty()) {
      TextTable samples({"<sample (UTC)", "port", "usage %"});
      for (const auto& s : r.samples_around)
        samples.add_row({when(s.unix_time), std::to_string(s.port), fixed(s.usage * 100, 1)});
      fmt::print("\n{}", samples.render());
    }
  }
  if (!r.unfinished.empty()) {
    TextTable tasks({"<unfinished task", "<last event (UTC)", "<type", "step", "steps"});
    for (const auto& t : r.unfinished) {
      tasks.add_row({t.task, when(t.last_event_unix), t.last_event_type,
                     std::to_string(t.last_step), std::to_string(t.steps)});
    }
    fmt::print("\n{}", tasks.render());
  }
}

void run_stuck(const CommonOptions& options, const std::string& run_argument,
               std::optional<long> expected_total, double around) {
  const NamedRun run = parse_named_run(run_argument);
  auto report = analyze_stuck(run.dir, options.threshold, expected_total, around);
  if (!report) throw CommandFailure{fmt::format("{}: {}", run.name, report.error().message)};
  warn_about_inputs(run.name, report->driver_log);
  warn_about_inputs(run.name, report->kv);
  if (options.json) {
    json::object out = to_json(*report);
    out["name"] = run.name;
    std::fputs(pretty_json(out).c_str(), stdout);
  } else {
    print_stuck(*report);
  }
}

// --------------------------------------------------------------------------------- manifest

void run_manifest(const CommonOptions& options) {
  RunLoop loop = for_each_run(
      options, [&](const NamedRun& run) { return build_manifest(run.name, run.dir); },
      [&](const NamedRun& run, const RunManifest& manifest_value, bool&) {
        const RunManifest* manifest = &manifest_value;
        // The window at this threshold, so the manifest states which figures the files give.
        auto window = analyze_window(run.dir, options.threshold);
        json::object entry = to_json(*manifest);
        if (window) {
          entry["window"] = json::object{
              {"threshold_percent", options.threshold},
              {"has_window", window->has_window},
              {"window_start_unix",
               window->has_window ? json_number(window->window_start_unix) : json::value(nullptr)},
              {"window_end_unix",
               window->has_window ? json_number(window->window_end_unix) : json::value(nullptr)},
              {"tasks_in_window", window->tasks_in_window},
              {"steps_in_window", window->steps_in_window},
              {"tasks_per_min", json_number(window->tasks_per_min)},
              {"steps_per_s", json_number(window->steps_per_s)}};
        } else {
          entry["window"] = json::object{{"error", window.error().message}};
        }
        if (options.json) return entry;
        fmt::print("{} ({})\n", run.name, run.dir.string());
        TextTable files({"<file", "bytes", "lines", "<sha256"});
        for (const auto& f : manifest->files) {
          if (f.present) {
            files.add_row(
                {f.path.string(), std::to_string(f.bytes), std::to_string(f.lines), f.sha256});
          } else {
            files.add_row({f.path.string(), "-", "-", "(absent)"});
          }
        }
        fmt::print("{}", files.render());
        fmt::print("summary  {}\n",
                   manifest->summary_line.value_or("(no 'Global evaluation complete' line)"));
        if (window && window->has_window) {
          fmt::print(
              "window   {} .. {} UTC above {}%: {} tasks, {} steps, {} tasks/min, {} steps/s\n",
              when(window->window_start_unix), when(window->window_end_unix), options.threshold,
              window->tasks_in_window, window->steps_in_window, fixed(window->tasks_per_min),
              fixed(window->steps_per_s));
        } else {
          fmt::print("window   {}\n", window ? window_problem(*window) : window.error().message);
        }
        fmt::print("\n");
        return entry;
      });
  finish(options, loop);
}

const RegisterCommand registration(50, [](CLI::App& root) {
  auto* analyze = root.add_subcommand(
      "analyze",
      "Active-window throughput, breakdowns, bottlenecks, stuck runs, manifests and plots of "
      "run folders (ours or the reference driver's); see docs/analysis.md");
  analyze->require_subcommand(1);
  const char* runs_help = "Run folders, as PATH or NAME=PATH";

  add_runs_subcommand(analyze, "window",
                      "Per run: active window, tasks and steps inside it, tasks/min and steps/s",
                      runs_help, run_window);

  auto compare_csv = std::make_shared<bool>(false);
  add_runs_subcommand(analyze, "compare",
                      "tasks/min and steps/s tables: rows = concurrency, columns = systems, last "
                      "= winner. Name runs like thunderreact_c64 (folder name) or TR64=PATH",
                      "Runs as NAME=PATH or PATH (named after the folder)",
                      [compare_csv](const CommonOptions& o) { run_compare(o, *compare_csv); })
      ->add_flag("--csv", *compare_csv, "Print one CSV row per run instead of the tables");

  add_runs_subcommand(
      analyze, "breakdown",
      "Tasks and steps before, inside and after the window; first task, window, last task",
      runs_help, run_breakdown);

  auto whole_run = std::make_shared<bool>(false);
  add_runs_subcommand(analyze, "bottleneck",
                      "Inside the window: steps/s per role edge, llm_call/user_sim/expert_call "
                      "latencies, slowest llm_calls",
                      runs_help,
                      [whole_run](const CommonOptions& o) { run_bottleneck(o, *whole_run); })
      ->add_flag("--whole-run", *whole_run,
                 "Latencies over the whole run instead of the active window");

  auto stuck_options = std::make_shared<CommonOptions>();
  auto stuck_run = std::make_shared<std::string>();
  auto expected_total = std::make_shared<long>(-1);
  auto around = std::make_shared<double>(60.0);
  auto* stuck = analyze->add_subcommand(
      "stuck",
      "Tasks that never finished, last good task, KV usage around it and during the stall");
  // One run, so one positional (`run TEXT REQUIRED`), not the other commands' list.
  stuck
      ->add_option("--threshold", stuck_options->threshold,
                   "KV usage in percent; the active window spans the samples strictly above it")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  stuck->add_flag("--json", stuck_options->json, "Print JSON instead of tables");
  stuck->add_option("run", *stuck_run, "The run folder, as PATH or NAME=PATH")->required();
  stuck
      ->add_option("--expected-total", *expected_total,
                   "Tasks the run should finish (default: the driver's total_tasks)")
      ->check(kNonNegativeNumber);
  stuck->add_option("--around", *around, "Seconds of KV samples shown around the last good task")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
  stuck->callback([stuck_options, stuck_run, expected_total, around] {
    run_stuck(*stuck_options, *stuck_run,
              *expected_total >= 0 ? std::optional<long>(*expected_total) : std::nullopt, *around);
  });

  add_runs_subcommand(
      analyze, "manifest",
      "Per run: input files with size, lines and sha256, the summary line, and the window",
      runs_help, run_manifest);
});

}  // namespace
}  // namespace agentsched::cli
