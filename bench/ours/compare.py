#!/usr/bin/env python3
"""The Done-when table of issue 19 from a `sim limit` folder (docs/gateway.md, "admit").

usage: bench/ours/compare.py BINARY LIMIT_DIR [--ref baseline,continuum,thunderreact]

Reads LIMIT_DIR/limit.json (the best cap per C; without it, the best of the run folders
LIMIT_DIR/cap=<N>/cap_c<C>_s<seed>/ by whole-run mean, ties to the smaller cap, as `sim
limit` picks it -- for `sim matrix --backends 2` runs, which `sim limit` does not take) and
the run folders under LIMIT_DIR/systems/
(`<system>_c<C>_s<seed>`), asks BINARY `analyze window --json` and `analyze tasks --json`
for each, and prints per C: tasks/min in the active window and over the whole run (mean,
min-max over seeds), task completion time p99 and max and the llm_call p99 over every call
but each task's first (means over seeds), then the checks against the best cap, the best
reference system and baseline. Every figure comes from the run folders; nothing is tuned here.
"""
import json
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path


def run_json(binary, *args):
    # `analyze window` exits 1 when a run has no window, after printing every run's JSON.
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True)
    if not out.stdout.strip():
        sys.exit(f"{binary} {args[0]} {args[1]}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def best_cap_from_runs(binary, limit_dir):
    per = defaultdict(lambda: defaultdict(lambda: {"whole": [], "window": []}))  # C -> cap -> figures
    for cap_dir in limit_dir.glob("cap=*"):
        cap = int(cap_dir.name.split("=")[1])
        runs = sorted(p for p in cap_dir.iterdir() if p.is_dir())
        # NAME=PATH: the folder names hold '=' themselves.
        w = {r["run_dir"]: r for r in run_json(binary, "analyze", "window",
                                               *(f"{p.name}={p}" for p in runs))["runs"]}
        for run in runs:
            c = int(re.fullmatch(r"cap_c(\d+)_s\d+", run.name).group(1))
            s = json.loads((run / "agentsched" / "summary.json").read_text())
            per[c][cap]["whole"].append(s["ok"] / (s["elapsed_s"] / 60))
            if w[str(run)]["has_window"] and w[str(run)]["tasks_per_min"] is not None:
                per[c][cap]["window"].append(w[str(run)]["tasks_per_min"])
    best = {}
    for c, caps in per.items():
        cap = max(sorted(caps), key=lambda k: (statistics.fmean(caps[k]["whole"]), -k))
        f = caps[cap]
        best[c] = {"best_cap": cap,
                   "best_cap_whole_tasks_per_min": {"mean": statistics.fmean(f["whole"])},
                   "best_cap_window_tasks_per_min": {"mean": statistics.fmean(f["window"]) if f["window"]
                                                     else float("nan")}}
        print(f"C = {c}: " + ", ".join(f"cap {k}: {statistics.fmean(v['whole']):.2f} whole, "
                                       f"{statistics.fmean(v['window']) if v['window'] else float('nan'):.2f} window"
                                       for k, v in sorted(caps.items())))
    return best


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, limit_dir = sys.argv[1], Path(sys.argv[2])
    refs = ["baseline", "continuum", "thunderreact"]
    if "--ref" in sys.argv:
        refs = sys.argv[sys.argv.index("--ref") + 1].split(",")
    if (limit_dir / "limit.json").exists():
        limit = json.loads((limit_dir / "limit.json").read_text())
        best_cap = {c["concurrency"]: c for c in limit["per_concurrency"]}
    else:
        best_cap = best_cap_from_runs(binary, limit_dir)
    runs = sorted(p for p in (limit_dir / "systems").iterdir() if p.is_dir())
    windows = {r["run_dir"]: r for r in run_json(binary, "analyze", "window", *map(str, runs))["runs"]}
    tasks = {r["run"]: r for r in run_json(binary, "analyze", "tasks", *map(str, runs))}
    cell = defaultdict(lambda: defaultdict(list))  # (system, C) -> figure -> per-seed values
    for run in runs:
        # <system>_c<C>_s<seed>; a single-seed matrix names its folders <system>_c<C>.
        m = re.fullmatch(r"(.+)_c(\d+)(?:_s(\d+))?", run.name)
        if not m:
            continue
        system, c = m.group(1), int(m.group(2))
        s = json.loads((run / "agentsched" / "summary.json").read_text())
        w, t = windows[str(run)], tasks[str(run)]
        f = cell[(system, c)]
        f["window"].append(w["tasks_per_min"] if w["has_window"] and w["tasks_per_min"] is not None
                           else float("nan"))
        f["whole"].append(s["ok"] / (s["elapsed_s"] / 60))
        f["task_p99"].append(t["whole_run"]["p99_s"])
        f["task_max"].append(t["whole_run"]["max_s"])
        f["llm_p99_but_first"].append(t["llm_call_but_first"]["whole_run"]["p99_s"])
        f["max_hold"].append(s.get("max_gateway_hold_s", 0.0))

    if not cell:
        sys.exit(f"{limit_dir / 'systems'}: no run folders named <system>_c<C>[_s<seed>]")

    def mean(v):
        return statistics.fmean(v)

    def has_window(v):
        return all(x == x for x in v)  # no NaN: every run of the cell has a window

    def rng(v):
        if not has_window(v):
            return f"n/a ({sum(x == x for x in v)} of {len(v)} runs)"
        return f"{mean(v):.2f} ({min(v):.2f}-{max(v):.2f})"

    systems = [s for s in refs + ["ours"] if any(k[0] == s for k in cell)]
    cs = sorted({k[1] for k in cell})
    print("| C | system | tasks/min, window | tasks/min, whole run | task time p99 s | task time max s "
          "| llm_call p99 s (all but first) | longest hold s |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for c in cs:
        bc = best_cap[c]
        bw = bc["best_cap_window_tasks_per_min"]["mean"]
        print(f"| {c} | best cap ({bc['best_cap']}) | {'n/a' if bw is None or bw != bw else f'{bw:.2f}'} | "
              f"{bc['best_cap_whole_tasks_per_min']['mean']:.2f} | | | | |")
        for s in systems:
            f = cell[(s, c)]
            print(f"| {c} | {s} | {rng(f['window'])} | {rng(f['whole'])} | {mean(f['task_p99']):.0f} | "
                  f"{mean(f['task_max']):.0f} | {mean(f['llm_p99_but_first']):.1f} | {max(f['max_hold']):.0f} |")
    print()
    print("Ratios on tasks/min in the active window where every run of the cells compared has one, "
          "else on whole-run tasks/min (marked *whole*).")
    print()
    print("| C | ours / best cap (window, whole) | ours / best reference | task p99 ours / baseline "
          "| task max ours / baseline | llm_call p99 (all but first) ours / baseline |")
    print("|---:|---:|---:|---:|---:|---:|")
    ok = True
    for c in cs:
        o, b = cell[("ours", c)], cell[("baseline", c)]
        bc = best_cap[c]
        cap_window = bc["best_cap_window_tasks_per_min"]["mean"]
        cap_h = mean(o["whole"]) / bc["best_cap_whole_tasks_per_min"]["mean"]
        windowed = cap_window is not None and cap_window == cap_window and has_window(o["window"])
        cap_w = mean(o["window"]) / cap_window if windowed else cap_h
        ref_cells = [s for s in refs if (s, c) in cell]
        key = "window" if all(has_window(cell[(s, c)]["window"]) for s in ref_cells + ["ours"]) else "whole"
        best_ref = max((mean(cell[(s, c)][key]), s) for s in ref_cells)
        vs_ref = mean(o[key]) / best_ref[0]
        p99 = mean(o["task_p99"]) / mean(b["task_p99"])
        mx = mean(o["task_max"]) / mean(b["task_max"])
        llm = mean(o["llm_p99_but_first"]) / mean(b["llm_p99_but_first"])
        need_ref = 1.05 if c >= 64 else 1.0
        misses = [name for name, good in (("best cap", cap_w >= 0.97), ("reference", vs_ref >= need_ref),
                                          ("task p99", p99 <= 1), ("task max", mx <= 1), ("llm_call p99", llm <= 1))
                  if not good]
        ok &= not misses
        print(f"| {c} | {f'{cap_w:.3f}' if windowed else 'n/a'}, {cap_h:.3f} | {vs_ref:.3f} ({best_ref[1]}"
              f"{'' if key == 'window' else ', *whole*'}) | {p99:.2f} | {mx:.2f} | "
              f"{llm:.2f} |{' **miss: ' + ', '.join(misses) + '**' if misses else ''}")
    print()
    print("all bullets met" if ok else "some bullet missed")


if __name__ == "__main__":
    main()
