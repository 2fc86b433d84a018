#include "analysis/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace agentsched::analysis {

NamedRun parse_named_run(std::string_view argument) {
  const std::size_t eq = argument.find('=');
  // `sim sweep` writes folders named knob=value: an argument that exists as a path, or whose
  // part before the '=' holds a '/', is a path, not NAME=PATH.
  std::error_code ec;
  const bool is_path =
      std::filesystem::exists(std::filesystem::path(argument), ec) ||
      (eq != std::string_view::npos && argument.substr(0, eq).find('/') != std::string_view::npos);
  if (eq != std::string_view::npos && eq > 0 && !is_path) {
    return {std::string(argument.substr(0, eq)), std::filesystem::path(argument.substr(eq + 1))};
  }
  std::filesystem::path dir(argument);
  std::filesystem::path base = dir;
  // "runs/x/" names the run "x", not "".
  while (!base.empty() && base.filename().empty()) base = base.parent_path();
  return {base.filename().string(), dir};
}

namespace {

// Strips a trailing "_s<N>" or "-s<N>" (the seed suffix of `sim matrix --seeds`) off `name`.
std::optional<std::uint64_t> take_seed(std::string_view& name) {
  std::size_t digits_begin = name.size();
  while (digits_begin > 0 && name[digits_begin - 1] >= '0' && name[digits_begin - 1] <= '9')
    --digits_begin;
  const std::size_t digits = name.size() - digits_begin;
  // The separator is required, so "TRs64" or "runs2" stay names with a number.
  if (digits == 0 || digits > 9 || digits_begin < 3) return std::nullopt;
  if (name[digits_begin - 1] != 's' && name[digits_begin - 1] != 'S') return std::nullopt;
  if (name[digits_begin - 2] != '_' && name[digits_begin - 2] != '-') return std::nullopt;
  std::uint64_t seed = 0;
  std::from_chars(name.data() + digits_begin, name.data() + name.size(), seed);
  name = name.substr(0, digits_begin - 2);
  return seed;
}

}  // namespace

SystemAndConcurrency split_run_name(std::string_view full_name) {
  std::string_view name = full_name;
  const std::optional<std::uint64_t> seed = take_seed(name);
  std::size_t digits_begin = name.size();
  while (digits_begin > 0 && name[digits_begin - 1] >= '0' && name[digits_begin - 1] <= '9')
    --digits_begin;
  if (digits_begin == name.size() || name.size() - digits_begin > 6)
    return {std::string(name), {}, seed};
  int concurrency = 0;
  std::from_chars(name.data() + digits_begin, name.data() + name.size(), concurrency);
  std::string_view system = name.substr(0, digits_begin);
  // "_c64", "-c64", "c64", "_64": drop the separator and the 'c' of "concurrency".
  if (!system.empty() && (system.back() == 'c' || system.back() == 'C') && system.size() > 1 &&
      (system[system.size() - 2] == '_' || system[system.size() - 2] == '-'))
    system.remove_suffix(1);
  while (!system.empty() && (system.back() == '_' || system.back() == '-')) system.remove_suffix(1);
  if (system.empty()) return {std::string(name), {}, seed};
  return {std::string(system), concurrency, seed};
}

const CompareEntry* CompareTable::find(int concurrency, const std::string& system) const {
  for (const auto& entry : entries) {
    if (entry.concurrency == concurrency && entry.system == system) return &entry;
  }
  return nullptr;
}

std::vector<const CompareEntry*> CompareTable::cell_runs(int concurrency,
                                                         const std::string& system) const {
  std::vector<const CompareEntry*> out;
  for (const auto& entry : entries) {
    if (entry.concurrency == concurrency && entry.system == system) out.push_back(&entry);
  }
  return out;
}

bool CompareTable::row_whole_run(int concurrency) const {
  for (const auto& entry : entries) {
    if (entry.concurrency != concurrency) continue;
    if (!std::isfinite(entry.tasks_per_min) || !std::isfinite(entry.steps_per_s)) return true;
  }
  return false;
}

Spread CompareTable::cell(int concurrency, const std::string& system, bool steps) const {
  const bool whole = row_whole_run(concurrency);
  std::vector<double> values;
  for (const CompareEntry* e : cell_runs(concurrency, system)) {
    if (whole)
      values.push_back(steps ? e->whole_steps_per_s : e->whole_tasks_per_min);
    else
      values.push_back(steps ? e->steps_per_s : e->tasks_per_min);
  }
  return spread_of(values);
}

std::string CompareTable::winner(int concurrency, bool steps) const {
  std::vector<Candidate> candidates;
  for (const auto& system : systems)
    candidates.push_back({system, cell(concurrency, system, steps)});
  return decide_winner(candidates, true, 2).text("-");
}

Result<CompareTable> build_compare_table(const std::vector<NamedRun>& runs,
                                         double threshold_percent) {
  if (runs.empty()) return make_error("no runs to compare");
  CompareTable table;
  table.threshold_percent = threshold_percent;
  for (const auto& run : runs) {
    auto report = analyze_window(run.dir, threshold_percent);
    if (!report) return make_error(fmt::format("{}: {}", run.name, report.error().message));
    SystemAndConcurrency split = split_run_name(run.name);
    if (!split.concurrency) split.concurrency = report->max_concurrency;
    if (!split.concurrency) {
      return make_error(fmt::format(
          "{}: cannot tell the concurrency: name the run like thunderreact_c64 or TR64=PATH "
          "(its driver.log has no max_concurrency= line either)",
          run.name));
    }
    CompareEntry entry;
    entry.name = run.name;
    entry.system = split.system;
    entry.concurrency = *split.concurrency;
    entry.seed = split.seed;
    entry.dir = run.dir;
    entry.tasks_per_min = report->tasks_per_min;
    entry.steps_per_s = report->steps_per_s;
    entry.whole_tasks_per_min = entry.whole_steps_per_s = NAN;
    if (report->whole_run) {
      entry.whole_tasks_per_min = report->whole_run->tasks_per_min;
      if (report->whole_run->elapsed_s > 0)
        entry.whole_steps_per_s =
            static_cast<double>(report->steps_total) / report->whole_run->elapsed_s;
    }
    entry.problem = window_problem(*report);
    for (const CompareEntry* other : table.cell_runs(entry.concurrency, entry.system)) {
      if (other->seed != entry.seed) continue;
      return make_error(fmt::format(
          "two runs for system {} at concurrency {}{} ({} and {})", entry.system, entry.concurrency,
          entry.seed ? fmt::format(" seed {}", *entry.seed) : std::string(), other->name,
          run.name));
    }
    if (std::find(table.systems.begin(), table.systems.end(), entry.system) == table.systems.end())
      table.systems.push_back(entry.system);
    if (std::find(table.concurrencies.begin(), table.concurrencies.end(), entry.concurrency) ==
        table.concurrencies.end())
      table.concurrencies.push_back(entry.concurrency);
    entry.report = std::move(*report);
    table.entries.push_back(std::move(entry));
  }
  std::sort(table.concurrencies.begin(), table.concurrencies.end());
  std::vector<std::uint64_t> seeds;
  for (const auto& entry : table.entries)
    if (entry.seed && std::find(seeds.begin(), seeds.end(), *entry.seed) == seeds.end())
      seeds.push_back(*entry.seed);
  table.seed_count = seeds.size();
  return table;
}

namespace {

std::string cell_text(const Spread& s) {
  if (s.n == 0) return "n/a";
  if (s.n == 1) return fmt::format("{:.2f}", s.mean);
  return fmt::format("{:.2f} ({:.2f}-{:.2f})", s.mean, s.min, s.max);
}

}  // namespace

std::string render_compare_markdown(const CompareTable& table, bool steps) {
  std::string out;
  auto row = [&out](const std::vector<std::string>& cells) {
    out += "|";
    for (const auto& c : cells) out += " " + c + " |";
    out += "\n";
  };
  std::vector<std::string> header{"C"};
  for (const auto& system : table.systems) header.push_back(system);
  header.push_back("winner");
  row(header);
  std::vector<std::string> rule{"---:"};
  for (std::size_t i = 0; i < table.systems.size(); ++i) rule.push_back("---:");
  rule.push_back("---");
  row(rule);
  bool any_whole = false;
  for (int c : table.concurrencies) {
    const bool whole = table.row_whole_run(c);
    any_whole = any_whole || whole;
    std::vector<std::string> cells{whole ? fmt::format("{} (whole run)", c) : std::to_string(c)};
    for (const auto& system : table.systems) {
      cells.push_back(table.find(c, system) == nullptr ? "-"
                                                       : cell_text(table.cell(c, system, steps)));
    }
    cells.push_back(table.winner(c, steps));
    row(cells);
  }
  if (table.seed_count > 1)
    out += fmt::format("\nmean (min-max) over {} seeds; a winner must clear the others' ranges\n",
                       table.seed_count);
  if (any_whole)
    out +=
        "\n(whole run): some run of the row has no active-window rate, so the row shows "
        "whole-run figures (the driver's closing line) for every run\n";
  return out;
}

std::string render_compare_csv(const CompareTable& table) {
  std::string out =
      "concurrency,system,name,tasks_per_min,steps_per_s,window_seconds,tasks_in_window,"
      "steps_in_window,seed,whole_run_tasks_per_min,whole_run_steps_per_s\n";
  auto number = [](double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string(); };
  for (int c : table.concurrencies) {
    for (const auto& system : table.systems) {
      for (const CompareEntry* entry : table.cell_runs(c, system)) {
        const WindowReport& r = *entry->report;
        out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", c, system, entry->name,
                           number(entry->tasks_per_min), number(entry->steps_per_s),
                           r.has_window ? number(r.window_seconds) : std::string(),
                           r.tasks_in_window, r.steps_in_window,
                           entry->seed ? std::to_string(*entry->seed) : std::string(),
                           number(entry->whole_tasks_per_min), number(entry->whole_steps_per_s));
      }
    }
  }
  return out;
}

}  // namespace agentsched::analysis
