#!/usr/bin/env python3
"""Engine counters of a `sim sweep --vary host-kv-gib=...` (or any folder of sim runs), per
(host-kv-gib, system, C), mean over seeds: what the host tier did (docs/host-tier.md).

usage: scripts/host_tier_counters.py SWEEP_DIR [CEILING_DIR]
CEILING_DIR: a `sim limit` output's ceiling/ folder, for the compute-bound reference."""
import json
import pathlib
import re
import sys
from collections import defaultdict


def runs(folder):
    for summary in sorted(pathlib.Path(folder).glob("**/agentsched/summary.json")):
        run = summary.parent.parent
        m = re.match(r"(.+)_c(\d+)_s(\d+)$", run.name)
        if not m:
            continue
        gib = re.search(r"host-kv-gib=([\d.]+)", str(run))
        s = json.loads(summary.read_text())
        b = s["backends"][0]
        yield (float(gib.group(1)) if gib else 0.0, m.group(1), int(m.group(2)), s, b)


def table(folder):
    cells = defaultdict(list)
    for gib, system, c, s, b in runs(folder):
        ok = s["ok"]
        elapsed = s["elapsed_s"]
        row = {
            "tasks_min": 60 * ok / elapsed,
            "busy": b["busy_s"] / elapsed,
            "computed_Mtok": b["prompt_tokens_computed"] / 1e6,
            "preempt": b["preemptions"],
            "loads": b.get("host_loads", 0),
            "loaded_Mtok": b.get("host_hit_tokens", 0) / 1e6,
            "load_ms": 1e3 * b.get("host_load_wait_s", 0) / max(b.get("host_loads", 0), 1),
            "link": b.get("host_link_busy_s", 0) / elapsed,
            "host_evict": b.get("host_evictions", 0),
            "tok_step": b["generation_tokens"] / b["steps"],
            "steps_s": b["steps"] / elapsed,
        }
        cells[(gib, system, c)].append(row)
    return cells


def main():
    cells = table(sys.argv[1])
    keys = ["tasks_min", "busy", "computed_Mtok", "preempt", "loads", "loaded_Mtok", "load_ms",
            "link", "host_evict", "tok_step", "steps_s"]
    head = ("| host GiB | system | C | tasks/min | GPU busy | prompt tokens computed (M) | "
            "preemptions | loads | tokens loaded (M) | mean load (ms) | link busy | host evictions | "
            "output tokens/step | steps/s |")
    print(head)
    print("|---:|---|" + "---:|" * (len(keys) + 1))
    order = {"baseline": 0, "continuum": 1, "thunderreact": 2, "ours": 3, "cap": 4}
    for key in sorted(cells, key=lambda k: (k[0], order.get(k[1], 9), k[2])):
        rows = cells[key]
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
        print(f"| {key[0]:g} | {key[1]} | {key[2]} | {mean['tasks_min']:.2f} | "
              f"{100 * mean['busy']:.0f}% | {mean['computed_Mtok']:.1f} | {mean['preempt']:.0f} | "
              f"{mean['loads']:.0f} | {mean['loaded_Mtok']:.1f} | {mean['load_ms']:.1f} | "
              f"{100 * mean['link']:.1f}% | {mean['host_evict']:.0f} | {mean['tok_step']:.1f} | "
              f"{mean['steps_s']:.2f} |")
    if len(sys.argv) > 2:
        print()
        print("ceiling (baseline, KV never runs out):")
        ceil = table(sys.argv[2])
        for key in sorted(ceil, key=lambda k: k[2]):
            rows = ceil[key]
            mean = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
            print(f"| ceiling | {key[1]} | {key[2]} | {mean['tasks_min']:.2f} | "
                  f"{100 * mean['busy']:.0f}% | {mean['computed_Mtok']:.1f} | "
                  f"{mean['preempt']:.0f} | - | - | - | - | - | {mean['tok_step']:.1f} | "
                  f"{mean['steps_s']:.2f} |")


if __name__ == "__main__":
    main()
