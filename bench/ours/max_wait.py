#!/usr/bin/env python3
"""What admit's optional hold bound buys: throughput against p99 task completion time.

usage: bench/ours/max_wait.py BINARY OUT [-c 128] [--seeds 1,2,3] [--values 60,300,900,0]

Runs `sim matrix --systems ours -c C --seeds S --param max_wait_s=V` once per value (0: no
bound, admit's default) and `sim matrix --systems baseline` once for reference, into
OUT/max_wait_<V>s/ (OUT/max_wait_off/ for 0) and OUT/baseline/, then writes OUT/max_wait.md (the table),
OUT/max_wait.csv (exactly what is drawn) and OUT/max_wait.svg: tasks/min in the active
window against p99 task completion time, mean over seeds with min-max bars on both axes,
one point per value. Task completion time and tasks/min come from `analyze tasks` and
`analyze window` on the run folders.
"""
import argparse
import json
import math
import statistics
import subprocess
from pathlib import Path


def run_json(binary, *args):
    out = subprocess.run([binary, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def figures(binary, folder):
    runs = sorted(str(p) for p in folder.iterdir() if p.is_dir() and "_c" in p.name)
    w = run_json(binary, "analyze", "window", *runs)["runs"]
    t = run_json(binary, "analyze", "tasks", *runs)
    holds = [json.loads((Path(r) / "agentsched" / "summary.json").read_text()).get("max_gateway_hold_s", 0)
             for r in runs]
    return {
        "tpm": [r["tasks_per_min"] for r in w if r["has_window"]],
        "p99": [r["whole_run"]["p99_s"] for r in t],
        "max": [r["whole_run"]["max_s"] for r in t],
        "p50": [r["whole_run"]["p50_s"] for r in t],
        "hold": holds,
    }


def svg(points, path, c):
    W, H, L, R, T, B = 720, 420, 70, 170, 40, 55
    xs = [v for p in points for v in (min(p["p99"]), max(p["p99"]))]
    ys = [v for p in points for v in (min(p["tpm"]), max(p["tpm"]))]
    x0, x1 = 0, math.ceil(max(xs) * 1.05 / 500) * 500
    y0, y1 = max(0.0, math.floor(min(ys) * 2) / 2 - 0.5), math.ceil(max(ys) * 2) / 2 + 0.5
    X = lambda v: L + (v - x0) / (x1 - x0) * (W - L - R)
    Y = lambda v: H - B - (v - y0) / (y1 - y0) * (H - T - B)
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W/2}" y="20" text-anchor="middle" font-size="14">admit (ours) at C = {c}: '
         f'throughput against p99 task completion time, by max_wait_s</text>',
         f'<line x1="{L}" y1="{H-B}" x2="{W-R}" y2="{H-B}" stroke="black"/>',
         f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="black"/>',
         f'<text x="{(L+W-R)/2}" y="{H-12}" text-anchor="middle">p99 task completion time, whole run (s)</text>',
         f'<text x="16" y="{(T+H-B)/2}" text-anchor="middle" transform="rotate(-90 16 {(T+H-B)/2})">'
         f'tasks/min, active window</text>']
    xstep = 500 if x1 <= 3000 else 1000
    for xv in range(0, int(x1) + 1, xstep):
        o.append(f'<line x1="{X(xv):.1f}" y1="{H-B}" x2="{X(xv):.1f}" y2="{H-B+5}" stroke="black"/>'
                 f'<text x="{X(xv):.1f}" y="{H-B+18}" text-anchor="middle">{xv}</text>')
    for k in range(int(round((y1 - y0) * 2)) + 1):
        yv = y0 + k / 2
        o.append(f'<line x1="{L-5}" y1="{Y(yv):.1f}" x2="{L}" y2="{Y(yv):.1f}" stroke="black"/>'
                 f'<text x="{L-8}" y="{Y(yv)+4:.1f}" text-anchor="end">{yv:.1f}</text>'
                 f'<line x1="{L}" y1="{Y(yv):.1f}" x2="{W-R}" y2="{Y(yv):.1f}" stroke="#eee"/>')
    # Labels in the right margin, top to bottom in the points' order, each tied to its point
    # by a thin line, so that close points keep readable labels.
    label_y, last = {}, T - 4
    for p in sorted(points, key=lambda p: -statistics.fmean(p["tpm"])):
        last = max(Y(statistics.fmean(p["tpm"])) + 4, last + 16)
        label_y[p["label"]] = last
    for p in points:
        col = "#888" if p["label"] == "baseline" else "#1f77b4"
        mx, my = statistics.fmean(p["p99"]), statistics.fmean(p["tpm"])
        o.append(f'<line x1="{X(min(p["p99"])):.1f}" y1="{Y(my):.1f}" x2="{X(max(p["p99"])):.1f}" '
                 f'y2="{Y(my):.1f}" stroke="{col}"/>')
        o.append(f'<line x1="{X(mx):.1f}" y1="{Y(min(p["tpm"])):.1f}" x2="{X(mx):.1f}" '
                 f'y2="{Y(max(p["tpm"])):.1f}" stroke="{col}"/>')
        o.append(f'<circle cx="{X(mx):.1f}" cy="{Y(my):.1f}" r="5" fill="{col}"/>')
        ly = label_y[p["label"]]
        o.append(f'<line x1="{X(mx):.1f}" y1="{Y(my):.1f}" x2="{W-R+6}" y2="{ly-4:.1f}" stroke="{col}" '
                 f'stroke-width="0.5" stroke-dasharray="2,2"/>')
        o.append(f'<text x="{W-R+10}" y="{ly:.1f}" fill="{col}">{p["label"]}</text>')
    o.append("</svg>")
    path.write_text("\n".join(o) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("out")
    ap.add_argument("-c", default="128")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--values", default="60,300,900,0")
    ap.add_argument("--no-run", action="store_true", help="tabulate and draw existing run folders")
    a = ap.parse_args()
    out = Path(a.out)
    common = ["-c", a.c, "--seeds", a.seeds, "--no-plots", "--force"]
    points = []
    for v in a.values.split(","):
        folder = out / (f"max_wait_{v}s" if float(v) > 0 else "max_wait_off")
        if not a.no_run:
            subprocess.run([a.binary, "sim", "matrix", "--systems", "ours", "--param", f"max_wait_s={v}",
                            "--out", str(folder), *common], check=True, stdout=subprocess.DEVNULL)
        points.append({"label": f"max_wait_s={v}" if float(v) > 0 else "max_wait_s=off (default)",
                       "value": v, **figures(a.binary, folder)})
    folder = out / "baseline"
    if not a.no_run:
        subprocess.run([a.binary, "sim", "matrix", "--systems", "baseline", "--out", str(folder), *common],
                       check=True, stdout=subprocess.DEVNULL)
    points.append({"label": "baseline", "value": "", **figures(a.binary, folder)})

    def ms(v):
        return f"{statistics.fmean(v):.2f} ({min(v):.2f}-{max(v):.2f})"

    def m0(v):
        return f"{statistics.fmean(v):.0f} ({min(v):.0f}-{max(v):.0f})"

    lines = [f"`bench/ours/max_wait.py {a.binary} {a.out} -c {a.c} --seeds {a.seeds} --values {a.values}`", "",
             f"C = {a.c}, seeds {a.seeds}; mean (min-max) over seeds; task times over the whole run.", "",
             "| system | tasks/min, window | task time p50 s | task time p99 s | task time max s | longest hold s |",
             "|---|---:|---:|---:|---:|---:|"]
    csv = ["label,tasks_per_min_mean,tasks_per_min_min,tasks_per_min_max,p99_s_mean,p99_s_min,p99_s_max"]
    for p in points:
        lines.append(f"| {'ours, ' + p['label'] if p['label'] != 'baseline' else 'baseline'} | {ms(p['tpm'])} | "
                     f"{m0(p['p50'])} | {m0(p['p99'])} | {m0(p['max'])} | {max(p['hold']):.0f} |")
        csv.append(f"{p['label']},{statistics.fmean(p['tpm'])},{min(p['tpm'])},{max(p['tpm'])},"
                   f"{statistics.fmean(p['p99'])},{min(p['p99'])},{max(p['p99'])}")
    (out / "max_wait.md").write_text("\n".join(lines) + "\n")
    (out / "max_wait.csv").write_text("\n".join(csv) + "\n")
    svg(points, out / "max_wait.svg", a.c)
    print("\n".join(lines))
    print(f"written: {out}/max_wait.md, max_wait.csv, max_wait.svg")


if __name__ == "__main__":
    main()
