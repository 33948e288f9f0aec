"""Shared command line, thread control, timing and output for the peer scripts.

Standard library only: a peer script calls `harness.setup(peer)` before it
imports NumPy, JAX or PyTorch, because the thread count of OpenBLAS, MKL,
OpenMP and XLA is fixed when those libraries load.

Thread control:
- One thread count (`--threads 2`): the environment is set in this process,
  before any numerical library is imported: OMP_NUM_THREADS,
  OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, VECLIB_MAXIMUM_THREADS,
  NUMEXPR_NUM_THREADS = t, and for JAX
  XLA_FLAGS="--xla_cpu_multi_thread_eigen=<t > 1> intra_op_parallelism_threads=<t>".
  PyTorch additionally calls torch.set_num_threads(t) (and
  set_num_interop_threads(t)). JAX (jaxlib 0.10) ignores those XLA flags and
  sizes its CPU thread pool from the cores the process may run on, so for JAX
  the process is also confined to the first t of its cores
  (os.sched_setaffinity; the record says which, as "cpus") when t is below
  the number available.
- Several (`--threads 1,2`): the script runs itself once per thread count, as
  a child process with `--threads t`, and passes the children's JSON Lines
  through. Thread counts of a library that reads them at load time cannot be
  changed inside one process, so every peer does it this way.
Each record carries `cpu_per_wall` (process CPU time / wall time over the timed
repetitions), which shows how many cores the run actually kept busy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = ["S1", "S2", "S3", "S4", "S5", "chain", "wavefront", "random-levels"]

THREAD_ENV = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"]


def parser(peer: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=f"The benchmark workloads in {peer}; prints JSON Lines.")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated subset of " + ",".join(WORKLOADS))
    p.add_argument("--repetitions", type=int, default=None,
                   help="timed repetitions per workload after one warm-up "
                        "(default: per workload, see --help of each peer)")
    p.add_argument("--threads", default="1", help="thread counts, e.g. 1,2")
    p.add_argument("--quick", action="store_true",
                   help="smaller sizes, for smoke tests (not comparable figures)")
    p.add_argument("--s1-nodes", default=None,
                   help="comma-separated N for S1 (default: the peer's own)")
    p.add_argument("--verbose", action="store_true", help="progress on stderr")
    return p


def setup(peer: str, p: argparse.ArgumentParser | None = None, argv=None):
    """Parses the command line. With several thread counts, runs one child per
    count and exits; with one, sets the thread environment and returns args."""
    p = p or parser(peer)
    args = p.parse_args(argv)
    args.peer = peer
    args.workload_list = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for w in args.workload_list:
        if w not in WORKLOADS:
            p.error(f"unknown workload {w!r}; known: {', '.join(WORKLOADS)}")
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    if len(threads) > 1:
        raw = list(sys.argv[1:] if argv is None else argv)
        # Drop --threads X / --threads=X and run once per count.
        rest, skip = [], False
        for a in raw:
            if skip:
                skip = False
                continue
            if a == "--threads":
                skip = True
                continue
            if a.startswith("--threads="):
                continue
            rest.append(a)
        status = 0
        for t in threads:
            r = subprocess.run([sys.executable, sys.argv[0], *rest, "--threads", str(t)])
            status = status or r.returncode
        sys.exit(status)
    args.thread_count = threads[0]
    t = args.thread_count
    for name in THREAD_ENV:
        os.environ[name] = str(t)
    xla = os.environ.get("XLA_FLAGS", "")
    xla += (f" --xla_cpu_multi_thread_eigen={'true' if t > 1 else 'false'}"
            f" intra_op_parallelism_threads={t}")
    os.environ["XLA_FLAGS"] = xla.strip()
    args.cpus = None
    if pin_cpus(peer) and hasattr(os, "sched_getaffinity"):
        usable = sorted(os.sched_getaffinity(0))
        if t < len(usable):
            os.sched_setaffinity(0, usable[:t])
            args.cpus = usable[:t]
    return args


def pin_cpus(peer: str) -> bool:
    """Whether the peer's threads must be confined to t cores: jaxlib 0.10's CPU
    client sizes its thread pool from the cores it may run on and ignores the
    XLA flags above (measured: 2 cores busy at "1 thread" without this)."""
    return peer == "jax"


def log(args, *message) -> None:
    if getattr(args, "verbose", False):
        print(f"[{args.peer} t={args.thread_count}]", *message, file=sys.stderr, flush=True)


def measure(fn, repetitions: int, warmup: int = 1, setup=None) -> dict:
    """Runs fn warmup times, then repetitions timed times. fn must block until
    its result is ready. setup (if given) runs before each call of fn, untimed
    (S5's reset to the initial weights). Returns median/min/max in ms and
    cpu_per_wall (over the timed calls and setups)."""
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    times = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(repetitions):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    return {"median_ms": statistics.median(times), "min_ms": min(times),
            "max_ms": max(times), "repetitions": repetitions,
            "cpu_per_wall": round(cpu / wall, 3) if wall > 0 else None}


def emit(args, workload: str, timing: dict | None, check: dict, **extra) -> None:
    """One JSON line in the `backprop bench --json` schema, plus "peer" and extras."""
    record = {"workload": workload, "threads": args.thread_count}
    if timing is not None:
        record.update({k: timing[k] for k in ("median_ms", "min_ms", "max_ms")})
    record.update({k: v for k, v in extra.items() if v is not None})
    record["check"] = check
    record["peer"] = args.peer
    if timing is not None:
        record["repetitions"] = timing["repetitions"]
        record["cpu_per_wall"] = timing["cpu_per_wall"]
    if getattr(args, "cpus", None) is not None:
        record["cpus"] = args.cpus
    if args.quick:
        record["quick"] = True
    print(json.dumps(record), flush=True)


def reps(args, default: int) -> int:
    return args.repetitions if args.repetitions is not None else default


def s1_sizes(args, default: list[int]) -> list[int]:
    if args.s1_nodes:
        return [int(n) for n in args.s1_nodes.split(",")]
    return [10_000] if args.quick else default
