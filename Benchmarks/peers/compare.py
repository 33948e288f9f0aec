#!/usr/bin/env python3
"""Runs `backprop bench --json` and the Python peers in one session and writes
a Markdown report with ratios, checks side by side and two plots.

  python3 Benchmarks/peers/compare.py [--backprop .build/release/backprop]
      [--peers jax,torch,numpy] [--workloads S1,S2,...] [--threads 1,2]
      [--repetitions N] [--rounds R] [--quick]
      [--output docs/benchmarks-peers.md] [--time-plot docs/img/peers-time.png]
      [--scaling-plot docs/img/peers-scaling.png] [--save-raw FILE] [--from-raw FILE]

Each round runs every system once (all workloads, all thread counts), in an
order rotated from round to round, so that drift on a shared machine does not
always hit the same system. Rounds are combined as the median of the rounds'
medians (min of mins, max of maxes). --from-raw rebuilds the report from a
file written by --save-raw without running anything.

Ratios are ours / theirs of the time per unit of work: below 1, Backprop is
faster. For S1 and the shapes the unit is a logical node of the workload
definition (N for S1, 10^6 for the chain, 64 x 64 for the wavefront,
256 x 256 for random levels), whatever a system reports as its own
ns_per_node, so that a capped run (PyTorch's chain) still compares per node.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

WORKLOADS = ["S1", "S2", "S3", "S4", "S5", "chain", "wavefront", "random-levels"]
PEERS = {"jax": "peer_jax.py", "torch": "peer_torch.py", "numpy": "peer_numpy.py"}
PEER_MODULES = {"jax": "jax", "torch": "torch", "numpy": "numpy"}
OURS = "backprop"

# S1's reference table (workloads.md), to tell N from omega where a record lacks it.
S1_REFERENCE = {
    1_000: (0.81597338610317993, 25.897094198783829),
    10_000: (-5.1645323464801249, 40.120774106251524),
    1_000_000: (1.8395473110283582, 30.987680928531496),
}
LOGICAL_NODES = {"chain": 1_000_000, "wavefront": 64 * 64, "random-levels": 256 * 256}
MLP_FLOPS = 410_800_000.0
S3_BYTES_PER_ELEMENT = 64 * 32 * 9 * 4  # times the vector length

# Agreement tolerances for the checks, against the reference column.
TOLERANCE = {"S1": 1e-12, "S2": 1e-5, "S3": 1e-4, "S4": 1e-10, "S5": 1e-5,
             "chain": 1e-12, "wavefront": 1e-12, "random-levels": 1e-12}


# MARK: Running

def run_lines(cmd: list[str], timeout: float) -> tuple[list[dict], str]:
    """Runs cmd; returns its JSON lines and a note on failure."""
    print("$ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return parse_lines(out), f"timed out after {timeout:.0f} s"
    except OSError as e:
        return [], f"could not run: {e}"
    note = "" if r.returncode == 0 else f"exit status {r.returncode}: {r.stderr.strip()[-400:]}"
    print(f"  ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    return parse_lines(r.stdout), note


def parse_lines(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return records


def ours_command(args) -> list[str]:
    cmd = [args.backprop, "bench"]
    if args.workloads != ",".join(WORKLOADS):
        cmd += [w for w in args.workloads.split(",") if w]
    cmd += ["--threads", args.threads]
    if args.repetitions is not None:
        cmd += ["--repetitions", str(args.repetitions)]
    cmd += ["--json"]
    cmd += shlex.split(args.backprop_args)
    return cmd


def peer_command(args, peer: str) -> list[str]:
    cmd = [sys.executable, os.path.join(HERE, PEERS[peer]),
           "--workloads", args.workloads, "--threads", args.threads]
    if args.repetitions is not None:
        cmd += ["--repetitions", str(args.repetitions)]
    if args.quick:
        cmd += ["--quick"]
    cmd += shlex.split(args.peer_args)
    return cmd


def available_peers(requested: str) -> tuple[list[str], list[str]]:
    peers, missing = [], []
    for p in [p.strip() for p in requested.split(",") if p.strip()]:
        if p not in PEERS:
            raise SystemExit(f"unknown peer {p!r}; known: {', '.join(PEERS)}")
        (peers if importlib.util.find_spec(PEER_MODULES[p]) else missing).append(p)
    return peers, missing


def collect(args) -> tuple[list[dict], list[str], list[str]]:
    peers, missing = available_peers(args.peers)
    systems = ([OURS] if not args.no_ours else []) + peers
    notes = [f"{p}: not installed (`pip install {p}`), skipped" for p in missing]
    commands, records = [], []
    for rnd in range(args.rounds):
        k = rnd % len(systems)
        for system in systems[k:] + systems[:k]:
            cmd = ours_command(args) if system == OURS else peer_command(args, system)
            if rnd == 0:
                commands.append(" ".join(shlex.quote(c) for c in cmd))
            got, note = run_lines(cmd, args.timeout)
            if note:
                notes.append(f"{system}, round {rnd + 1}: {note}")
            for r in got:
                r.setdefault("peer", OURS if system == OURS else system)
                r["round"] = rnd + 1
            records += got
    return records, notes, commands


# MARK: Combining

def s1_nodes(r: dict) -> int | None:
    for n in (r.get("nodes"), (r.get("check") or {}).get("nodes")):
        if isinstance(n, int):
            return n
    omega = (r.get("check") or {}).get("omega")
    if isinstance(omega, (int, float)):
        for n, (ref, _) in S1_REFERENCE.items():
            if abs(omega - ref) <= 1e-9 * max(1, abs(ref)):
                return n
    return None


def logical_nodes(r: dict) -> int | None:
    w = r["workload"]
    if w == "S1":
        return s1_nodes(r)
    if w == "chain":
        # A peer's record says how long its chain was (PyTorch's is capped);
        # ours may count graph nodes instead, so its omega (= N - 1) decides.
        if r.get("peer") not in (None, OURS) and isinstance(r.get("nodes"), int):
            return r["nodes"]
        omega = (r.get("check") or {}).get("omega")
        if isinstance(omega, (int, float)) and omega >= 1:
            return int(round(omega)) + 1  # x_i = x_{i-1} + 1 from x_0 = 0
        return r.get("nodes") or LOGICAL_NODES[w]
    return LOGICAL_NODES.get(w)


def workload_key(r: dict) -> str:
    if r["workload"] == "S1":
        n = s1_nodes(r)
        return f"S1 N={n:,}" if n else "S1"
    return r["workload"]


def key_order(key: str) -> tuple:
    base = key.split(" ")[0]
    n = s1_nodes_from_key(key)
    return (WORKLOADS.index(base) if base in WORKLOADS else 99, n or 0, key)


def s1_nodes_from_key(key: str) -> int | None:
    if key.startswith("S1 N="):
        return int(key[5:].replace(",", ""))
    return None


def combine(records: list[dict]) -> dict:
    """(system, key, threads) -> combined entry."""
    groups: dict = {}
    for r in records:
        groups.setdefault((r["peer"], workload_key(r), r.get("threads", 1)), []).append(r)
    out = {}
    for gkey, rs in groups.items():
        timed = [r for r in rs if isinstance(r.get("median_ms"), (int, float))]
        entry = {"records": rs, "check": (timed or rs)[-1].get("check") or {},
                 "skipped": next((r["skipped"] for r in rs if r.get("skipped")), None),
                 "note": next((r["note"] for r in rs if r.get("note")), None),
                 "mode": next((r["mode"] for r in rs if r.get("mode")), None),
                 "quick": any(r.get("quick") for r in rs)}
        if timed:
            med = statistics.median(r["median_ms"] for r in timed)
            entry.update(median_ms=med, min_ms=min(r.get("min_ms", med) for r in timed),
                         max_ms=max(r.get("max_ms", med) for r in timed), rounds=len(timed))
            cpw = [r["cpu_per_wall"] for r in timed if isinstance(r.get("cpu_per_wall"), (int, float))]
            entry["cpu_per_wall"] = statistics.median(cpw) if cpw else None
            first = timed[0]
            w = first["workload"]
            if w == "S1" or w in LOGICAL_NODES:
                n = logical_nodes(first)
                entry["nodes"] = n
                entry["ns_per_node"] = med * 1e6 / n if n else first.get("ns_per_node")
                entry["unit_time"] = entry["ns_per_node"]
            elif w == "S2":
                flops = first["gflops"] * first["median_ms"] * 1e6 if first.get("gflops") else MLP_FLOPS
                entry["gflops"] = flops / (med * 1e6)
                entry["unit_time"] = 1 / entry["gflops"]
            elif w == "S3":
                work = (first["gbps"] * first["median_ms"] * 1e6 if first.get("gbps")
                        else S3_BYTES_PER_ELEMENT * first.get("length", 16_384))
                entry["gbps"] = work / (med * 1e6)
                entry["unit_time"] = 1 / entry["gbps"]
            else:  # S4 and S5: per training step (1,024 SGD or 24 Adam steps an epoch)
                entry["steps"] = first.get("steps") or (24 if w == "S5" else 1024)
                entry["us_per_step"] = med * 1e3 / entry["steps"]
                entry["unit_time"] = entry["us_per_step"]
            for extra in ("compile_ms", "trace_ms", "step_loop_median_ms"):
                vals = [r[extra] for r in timed if isinstance(r.get(extra), (int, float))]
                if vals:
                    entry[extra] = statistics.median(vals)
        out[gkey] = entry
    return out


# MARK: Report

def fmt(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, int):
        return f"{x:,}"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5 or a < 1e-3:
        return f"{x:.{digits}g}"
    if a >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def machine() -> list[str]:
    model, cores = "unknown", os.cpu_count()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [f"CPU: {model}; {cores} logical cores ({usable} usable by this process)",
            f"Memory: {mem}", f"OS: {platform.platform()}"]


def versions(backprop: str) -> list[str]:
    out = [f"Python {platform.python_version()}"]
    for dist in ("jax", "jaxlib", "torch", "numpy", "matplotlib"):
        try:
            out.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{dist}: not installed")
    try:
        import numpy as np
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out.append(f"NumPy BLAS: {blas.get('name')} {blas.get('version', '')}".strip())
    except Exception:  # noqa: BLE001  (older NumPy: no dict mode)
        pass
    for cmd, label in ((["swift", "--version"], "Swift"), ([backprop, "--version"], "backprop")):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            text = (r.stdout or r.stderr).strip().splitlines()
            if r.returncode == 0 and text:
                out.append(f"{label}: {text[0]}")
        except (OSError, subprocess.TimeoutExpired):
            out.append(f"{label}: unavailable")
    return out


def unit_label(key: str) -> str:
    base = key.split(" ")[0]
    return {"S2": "GFLOP/s", "S3": "GB/s", "S4": "µs/step", "S5": "µs/step"}.get(base, "ns/node")


def unit_value(e: dict, key: str):
    base = key.split(" ")[0]
    return {"S2": e.get("gflops"), "S3": e.get("gbps"),
            "S4": e.get("us_per_step"), "S5": e.get("us_per_step")}.get(base, e.get("ns_per_node"))


def check_reference(key: str, entries: dict) -> tuple[str, dict] | None:
    """The reference a workload's checks are compared with: S1's table, else
    the NumPy peer (hand-written gradients), else the first peer with checks."""
    n = s1_nodes_from_key(key)
    if key == "chain":
        return "analytic: omega = nodes - 1, gradient 1", {}
    if n in S1_REFERENCE:
        omega, grad_sum = S1_REFERENCE[n]
        return "workloads.md table", {"omega": omega, "grad_sum": grad_sum}
    for system in ("numpy", "jax", "torch", OURS):
        for (s, k, _), e in entries.items():
            if s == system and k == key and e.get("check"):
                return system, e["check"]
    return None


def agreement(key: str, check: dict, ref: dict) -> float | None:
    worst = None
    for name in ("omega", "grad_sum", "loss", "final_loss"):
        a, b = check.get(name), ref.get(name)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            err = abs(a - b) if key == "S4" else abs(a - b) / max(abs(b), 1e-300)
            worst = err if worst is None else max(worst, err)
    return worst


def write_report(args, records, notes, commands, combined) -> None:
    systems = [s for s in [OURS, "jax", "torch", "numpy"] if any(k[0] == s for k in combined)]
    keys = sorted({k[1] for k in combined}, key=key_order)
    threads = sorted({k[2] for k in combined})
    lines = ["# Backprop and its peers: JAX, PyTorch, NumPy", ""]
    lines += [f"Generated by `Benchmarks/peers/compare.py` on "
              f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}; "
              f"{args.rounds} round(s), systems in rotated order each round. "
              "Medians after a warm-up; ratios are **ours / theirs** of the time per unit "
              "of work (below 1: Backprop is faster). ns/node is per logical node of the "
              "workload definition (`../shared/workloads.md`: N for S1, 10^6 for the chain, "
              "64 × 64 for the wavefront, 256 × 256 for random levels). "
              "`cpu/wall` is the process's CPU time over wall time while timed: about 1 per "
              "thread kept busy, lower when the machine is shared.", ""]
    if any(e.get("quick") for e in combined.values()):
        lines += ["**Quick run** (`--quick`): smaller sizes for a smoke test; the figures are "
                  "not comparable with full runs, and ratios against a full-size run of ours "
                  "are meaningless.", ""]
    lines += ["## Machine", ""] + [f"- {m}" for m in machine()] + [""]
    lines += ["## Versions", ""] + [f"- {v}" for v in versions(args.backprop)] + [""]
    if commands:
        lines += ["## Commands", "", "```"] + commands + ["```", ""]

    lines += ["## Time per workload", ""]
    for key in keys:
        lines += [f"### {key}", ""]
        lines += [f"| system | mode | threads | median ms | min ms | max ms | {unit_label(key)} | "
                  "ours / theirs | cpu/wall | notes |", "|---|---|---|---|---|---|---|---|---|---|"]
        for system in systems:
            for t in threads:
                e = combined.get((system, key, t))
                if e is None:
                    continue
                ours = combined.get((OURS, key, t))
                ratio = None
                if (system != OURS and ours and ours.get("unit_time") and e.get("unit_time")):
                    ratio = ours["unit_time"] / e["unit_time"]
                extra = []
                if e.get("skipped"):
                    extra.append("skipped: " + e["skipped"])
                if e.get("note"):
                    extra.append(e["note"])
                if e.get("nodes") and key.split(" ")[0] in LOGICAL_NODES and not e.get("note") \
                        and e["nodes"] != LOGICAL_NODES[key.split(" ")[0]]:
                    extra.append(f"{e['nodes']:,} nodes")
                if e.get("compile_ms") is not None:
                    extra.append(f"compile {fmt(e['compile_ms'] / 1e3)} s, "
                                 f"trace {fmt(e.get('trace_ms', 0) / 1e3)} s")
                if e.get("step_loop_median_ms") is not None:
                    extra.append(f"Python loop over a jitted step: "
                                 f"{fmt(e['step_loop_median_ms'])} ms")
                lines.append(
                    f"| {system} | {e.get('mode') or '–'} | {t} | {fmt(e.get('median_ms'))} | "
                    f"{fmt(e.get('min_ms'))} | {fmt(e.get('max_ms'))} | "
                    f"{fmt(unit_value(e, key))} | {fmt(ratio)} | {fmt(e.get('cpu_per_wall'))} | "
                    f"{'; '.join(extra)} |")
        lines.append("")

    lines += ["## Checks side by side", "",
              "Each system's cross-check values at its lowest thread count, and the largest "
              "difference from the reference (relative; absolute for S4's final loss). "
              "Tolerances: S1 and the shapes 1e-12 (float64), S4 1e-10, S2 and S5 1e-5, S3 1e-4 "
              "(float32, and XLA's tanh is not the C library's).", ""]
    for key in keys:
        ref = check_reference(key, combined)
        names: list[str] = []
        for s in systems:
            for t in threads:
                for name in (combined.get((s, key, t)) or {}).get("check", {}):
                    if name not in names and name != "nodes":
                        names.append(name)
        if not names:
            continue
        lines += [f"### {key}" + (f" (reference: {ref[0]})" if ref else ""), ""]
        lines += ["| system | " + " | ".join(names) + " | difference | agrees |",
                  "|---|" + "---|" * (len(names) + 2)]
        for s in systems:
            e = next((combined[(s, key, t)] for t in threads if (s, key, t) in combined
                      and combined[(s, key, t)].get("check")), None)
            if e is None:
                continue
            c = e["check"]
            expected = ref[1] if ref else None
            if key == "chain" and e.get("nodes"):
                expected = {"omega": float(e["nodes"] - 1), "grad_sum": 1.0}
            diff = agreement(key.split(" ")[0], c, expected) if expected else None
            tol = TOLERANCE.get(key.split(" ")[0])
            if e.get("quick") and key.split(" ")[0] in ("S3", "S4"):
                ok = "quick size"
            else:
                ok = "–" if diff is None else ("yes" if diff <= tol else "**NO**")
            vals = [repr(c[n]) if isinstance(c.get(n), float) else str(c.get(n, "–")) for n in names]
            lines.append(f"| {s} | " + " | ".join(vals) + f" | {fmt(diff)} | {ok} |")
        lines.append("")

    rel = lambda p: os.path.relpath(p, os.path.dirname(os.path.abspath(args.output)))  # noqa: E731
    lines += ["## Plots", "",
              f"![time per workload]({rel(args.time_plot)})", "",
              f"![thread scaling]({rel(args.scaling_plot)})", ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    lines += ["The machine's load is not controlled: on a shared 2-core guest single runs vary "
              "by tens of percent, which is why the rounds alternate and `cpu/wall` is shown. "
              "What each peer implementation does, and its caveats, is in "
              "`Benchmarks/peers/README.md`.", ""]
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.output}", file=sys.stderr)


def plots(args, combined) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = [s for s in [OURS, "jax", "torch", "numpy"] if any(k[0] == s for k in combined)]
    keys = sorted({k[1] for k in combined}, key=key_order)
    threads = sorted({k[2] for k in combined})
    colors = {OURS: "#d62728", "jax": "#1f77b4", "torch": "#ff7f0e", "numpy": "#2ca02c"}
    width = 0.8 / max(1, len(systems))

    # Time per workload at the lowest thread count, log scale.
    t0 = threads[0]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(keys)), 4.8))
    extrapolated = False
    for i, s in enumerate(systems):
        xs, ys, hatches = [], [], []
        for j, key in enumerate(keys):
            e = combined.get((s, key, t0))
            x = j + (i - (len(systems) - 1) / 2) * width
            if e and e.get("skipped") and not e.get("median_ms"):
                ax.text(x, 0.02, "skipped", rotation=90, ha="center", va="bottom", fontsize=7,
                        color=colors.get(s), transform=ax.get_xaxis_transform())
                continue
            if not e or not e.get("median_ms"):
                continue
            ms = e["median_ms"]
            full = LOGICAL_NODES.get(key)
            if e.get("note") and full and e.get("nodes") and e["nodes"] != full:
                ms = e["ns_per_node"] * full / 1e6  # a capped run, scaled to the full size
                extrapolated = True
                hatches.append("//")
            else:
                hatches.append("")
            xs.append(x)
            ys.append(ms)
        bars = ax.bar(xs, ys, width, label=s, color=colors.get(s))
        for bar, h in zip(bars, hatches):
            bar.set_hatch(h)
    ax.set_yscale("log")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys, rotation=20, ha="right")
    ax.set_ylabel(f"median ms, {t0} thread{'s' if t0 > 1 else ''} (log)")
    ax.set_title("Forward + backward (S2: train step; S4, S5: epoch) per workload"
                 + ("\nhatched: a capped run scaled to the full size per node" if extrapolated else ""))
    ax.legend()
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.time_plot)), exist_ok=True)
    fig.savefig(args.time_plot, dpi=120)
    plt.close(fig)

    # Thread scaling: speed-up from the lowest to the highest thread count.
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(keys)), 4.5))
    lo, hi = threads[0], threads[-1]
    for i, s in enumerate(systems):
        xs, ys = [], []
        for j, key in enumerate(keys):
            a, b = combined.get((s, key, lo)), combined.get((s, key, hi))
            if a and b and a.get("median_ms") and b.get("median_ms") and lo != hi:
                xs.append(j + (i - (len(systems) - 1) / 2) * width)
                ys.append(a["median_ms"] / b["median_ms"])
        ax.bar(xs, ys, width, label=s, color=colors.get(s))
    ax.axhline(1, color="black", lw=0.8)
    if hi != lo:
        ax.axhline(hi / lo, color="gray", ls="--", lw=0.8, label=f"ideal ({hi / lo:g}×)")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys, rotation=20, ha="right")
    ax.set_ylabel(f"speed-up, {lo} → {hi} threads")
    ax.set_title(f"Thread scaling (median time at {lo} thread{'s' if lo > 1 else ''} / at {hi})")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.scaling_plot)), exist_ok=True)
    fig.savefig(args.scaling_plot, dpi=120)
    plt.close(fig)
    print(f"wrote {args.time_plot}, {args.scaling_plot}", file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backprop", default=".build/release/backprop", help="our CLI")
    p.add_argument("--backprop-args", default="", help="extra arguments for `backprop bench`")
    p.add_argument("--no-ours", action="store_true", help="run the peers only")
    p.add_argument("--peers", default="jax,torch,numpy")
    p.add_argument("--peer-args", default="", help="extra arguments for every peer script")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--repetitions", type=int, default=None)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="peers at their --quick sizes")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per system and round")
    p.add_argument("--output", default="docs/benchmarks-peers.md")
    p.add_argument("--time-plot", default="docs/img/peers-time.png")
    p.add_argument("--scaling-plot", default="docs/img/peers-scaling.png")
    p.add_argument("--save-raw", default=None, help="write every record (JSON Lines) here")
    p.add_argument("--from-raw", default=None, help="report from a --save-raw file; run nothing")
    args = p.parse_args()

    if args.from_raw:
        with open(args.from_raw) as f:
            saved = [json.loads(line) for line in f if line.strip()]
        meta = next((r for r in saved if r.get("meta")), {})
        records = [r for r in saved if not r.get("meta")]
        notes, commands = meta.get("notes", []), meta.get("commands", [])
        args.rounds = meta.get("rounds", args.rounds)
    else:
        records, notes, commands = collect(args)
        if args.save_raw:
            os.makedirs(os.path.dirname(os.path.abspath(args.save_raw)), exist_ok=True)
            with open(args.save_raw, "w") as f:
                f.write(json.dumps({"meta": True, "notes": notes, "commands": commands,
                                    "rounds": args.rounds}) + "\n")
                for r in records:
                    f.write(json.dumps(r) + "\n")
    if not records:
        raise SystemExit("no records: " + "; ".join(notes))
    combined = combine(records)
    write_report(args, records, notes, commands, combined)
    plots(args, combined)


if __name__ == "__main__":
    main()
