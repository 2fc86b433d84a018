#include "analysis/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace agentsched::analysis {

NamedRun parse_named_run(std::string_view argument) {
  const std::size_t eq = argument.find('=');
  if (eq != std::string_view::npos && eq > 0) {
    return {std::string(argument.substr(0, eq)), std::filesystem::path(argument.substr(eq + 1))};
  }
  std::filesystem::path dir(argument);
  std::filesystem::path base = dir;
  // "runs/x/" names the run "x", not "".
  while (!base.empty() && base.filename().empty()) base = base.parent_path();
  return {base.filename().string(), dir};
}

SystemAndConcurrency split_run_name(std::string_view name) {
  std::size_t digits_begin = name.size();
  while (digits_begin > 0 && name[digits_begin - 1] >= '0' && name[digits_begin - 1] <= '9')
    --digits_begin;
  if (digits_begin == name.size() || name.size() - digits_begin > 6) return {std::string(name), {}};
  int concurrency = 0;
  std::from_chars(name.data() + digits_begin, name.data() + name.size(), concurrency);
  std::string_view system = name.substr(0, digits_begin);
  // "_c64", "-c64", "c64", "_64": drop the separator and the 'c' of "concurrency".
  if (!system.empty() && (system.back() == 'c' || system.back() == 'C') && system.size() > 1 &&
      (system[system.size() - 2] == '_' || system[system.size() - 2] == '-'))
    system.remove_suffix(1);
  while (!system.empty() && (system.back() == '_' || system.back() == '-')) system.remove_suffix(1);
  if (system.empty()) return {std::string(name), {}};
  return {std::string(system), concurrency};
}

const CompareEntry* CompareTable::find(int concurrency, const std::string& system) const {
  for (const auto& entry : entries) {
    if (entry.concurrency == concurrency && entry.system == system) return &entry;
  }
  return nullptr;
}

std::string CompareTable::winner(int concurrency, bool steps) const {
  double best = -1;
  std::vector<std::string> best_systems;
  for (const auto& system : systems) {
    const CompareEntry* entry = find(concurrency, system);
    if (entry == nullptr) continue;
    const double value = steps ? entry->steps_per_s : entry->tasks_per_min;
    if (std::isnan(value)) continue;
    if (value > best) {
      best = value;
      best_systems = {system};
    } else if (value == best) {
      best_systems.push_back(system);
    }
  }
  if (best_systems.empty()) return "-";
  if (best_systems.size() == 1) return best_systems.front();
  return fmt::format("tie: {}", fmt::join(best_systems, ", "));
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
    entry.dir = run.dir;
    entry.tasks_per_min = report->tasks_per_min;
    entry.steps_per_s = report->steps_per_s;
    entry.problem = window_problem(*report);
    if (table.find(entry.concurrency, entry.system) != nullptr) {
      return make_error(fmt::format("two runs for system {} at concurrency {} ({} and {})",
                                    entry.system, entry.concurrency,
                                    table.find(entry.concurrency, entry.system)->name, run.name));
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
  return table;
}

namespace {

std::string cell(double value) {
  return std::isnan(value) ? "n/a" : fmt::format("{:.2f}", value);
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
  for (int c : table.concurrencies) {
    std::vector<std::string> cells{std::to_string(c)};
    for (const auto& system : table.systems) {
      const CompareEntry* entry = table.find(c, system);
      cells.push_back(entry == nullptr ? "-"
                                       : cell(steps ? entry->steps_per_s : entry->tasks_per_min));
    }
    cells.push_back(table.winner(c, steps));
    row(cells);
  }
  return out;
}

std::string render_compare_csv(const CompareTable& table) {
  std::string out =
      "concurrency,system,name,tasks_per_min,steps_per_s,window_seconds,tasks_in_window,"
      "steps_in_window\n";
  auto number = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{}", v); };
  for (int c : table.concurrencies) {
    for (const auto& system : table.systems) {
      const CompareEntry* entry = table.find(c, system);
      if (entry == nullptr) continue;
      const WindowReport& r = *entry->report;
      out += fmt::format("{},{},{},{},{},{},{},{}\n", c, system, entry->name,
                         number(entry->tasks_per_min), number(entry->steps_per_s),
                         r.has_window ? number(r.window_seconds) : std::string(), r.tasks_in_window,
                         r.steps_in_window);
    }
  }
  return out;
}

}  // namespace agentsched::analysis
