#!/usr/bin/env python3
"""The benchmark workloads in JAX (jit), CPU; JSON Lines out.

  python3 Benchmarks/peers/peer_jax.py [--workloads S1,S2,...] [--threads 1,2]
                                        [--repetitions N] [--quick] [--s1-nodes N,...]
                                        [--compile-budget SECONDS]

Everything timed is a compiled (jitted) function; tracing + lowering
(`trace_ms`) and XLA compilation (`compile_ms`) are measured separately and
never part of median_ms.
- S1: the graph unrolled into one jitted value_and_grad over the 64 inputs
  (mode "compiled": forward + backward of the compiled function; XLA drops the
  nodes omega does not depend on). Tracing and compiling grow with N: at
  N = 10^4 they take tens of seconds. Larger N run in a child process, only if
  a linear extrapolation from the smaller N fits --compile-budget (default
  300 s), and are killed past twice the budget; otherwise a record with
  "skipped" says why.
- S2: one jitted train step: value_and_grad of the softmax cross-entropy,
  then the SGD update (lr 0.01), parameters donated.
- S3: per level, gather both parents of all 64 nodes, tanh(a*b + a); one
  jitted value_and_grad (XLA fuses the elementwise work).
- S4: one jitted epoch: lax.scan over the 1,024 minibatches of jax.grad of the
  mean log loss plus the update. Also reported: a Python loop over a jitted
  step (`step_loop_median_ms`), and the largest difference between the
  autodiff gradient and the lecture's hand formula on one minibatch.
- S5: one jitted train step (value_and_grad of the softmax cross-entropy, then
  Adam by hand with Backprop's float64-computed bias corrections as float32
  arguments), parameters and moments donated, called from a Python loop over
  the 24 minibatches (pre-sliced device arrays); each epoch from the initial
  weights (untimed reset). The losses are read after the epoch.
- chain: lax.fori_loop over N - 1 additions (a scan; unrolling 10^6 scalar ops
  does not compile in reasonable time), value_and_grad, jitted.
- wavefront: lax.scan over the 126 anti-diagonals, 64 lanes each (mode
  "diagonals"). The grid unrolled into 4,096 scalar nodes (--wavefront-unrolled)
  compiles in about 15 s but the compiled code is pathological: 3.6 ms at
  48 x 48, 20 s at 56 x 56, minutes at 64 x 64 (forward alone).
- random-levels: per level, gather up to 4 parents for all 256 nodes (masked),
  lax.scan over the 255 levels (mode "vectorized"; the 65,536-node graph
  unrolled takes minutes to compile).
Threads: XLA_FLAGS="--xla_cpu_multi_thread_eigen=<t>1> intra_op_parallelism_threads=<t>"
set before JAX loads (harness.setup), but jaxlib 0.10 ignores them: the process
is also confined to t cores (sched_setaffinity), which is what limits XLA's
thread pool. Several counts run as child processes.
float64 is enabled (jax_enable_x64) for S1, S4 and the shapes; S2, S3 and S5 are float32.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (stdlib only)

_parser = harness.parser("jax")
_parser.add_argument("--compile-budget", type=float, default=300.0,
                     help="seconds of trace + compile allowed per S1 size (default 300)")
_parser.add_argument("--wavefront-unrolled", action="store_true",
                     help="wavefront as 4,096 unrolled scalar nodes (compiles in ~15 s, but "
                          "the compiled code runs for minutes: see README)")
_parser.add_argument("--s1-child", action="store_true", help=argparse.SUPPRESS)
ARGS = harness.setup("jax", _parser)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import workloads as W  # noqa: E402


def ready(x):
    return jax.block_until_ready(x)


def compile_timed(fn, *example):
    """jit(fn) lowered and compiled, with the time of each phase in ms."""
    t0 = time.perf_counter()
    lowered = jax.jit(fn).lower(*example)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    return compiled, (t1 - t0) * 1e3, (t2 - t1) * 1e3


# MARK: S1

def s1_function(graph: W.S1Graph):
    n = graph.nodes
    a, b, kind = graph.a.tolist(), graph.b.tolist(), graph.kind.tolist()

    def omega(x):
        v = [x[i] for i in range(64)]
        for i in range(64, n):
            k = kind[i]
            if k == 0:
                v.append(jnp.tanh(v[a[i]] + v[b[i]]))
            elif k == 1:
                v.append(v[a[i]] * v[b[i]])
            else:
                v.append(jnp.sin(v[a[i]]))
        s = v[n - 64]
        for i in range(n - 63, n):
            s = s + v[i]
        return s

    return omega


def s1_one(args, n):
    graph = W.S1Graph(n)
    x = jnp.array(graph.inputs, dtype=jnp.float64)
    compiled, trace_ms, compile_ms = compile_timed(jax.value_and_grad(s1_function(graph)), x)
    result = {}

    def run():
        result["out"] = ready(compiled(x))

    t = harness.measure(run, harness.reps(args, 50 if n <= 10_000 else 5))
    omega, grads = result["out"]
    harness.emit(args, "S1", t, W.s1_check(n, float(omega), np.asarray(grads)),
                 nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="compiled",
                 trace_ms=trace_ms, compile_ms=compile_ms)
    return trace_ms + compile_ms


def s1(args):
    if args.s1_child:
        for n in harness.s1_sizes(args, [10_000]):
            s1_one(args, n)
        return
    seen = None  # (N, seconds of trace + compile)
    for n in sorted(harness.s1_sizes(args, [10_000, 1_000_000])):
        budget = args.compile_budget
        if n <= 10_000:
            seen = (n, s1_one(args, n) / 1e3)
            continue
        if seen is not None and seen[1] * n / seen[0] > budget:
            predicted = seen[1] * n / seen[0]
            skip(args, n, f"not compiled: tracing + compiling N={seen[0]} took {seen[1]:.0f} s, "
                          f"so N={n} would take at least {predicted:.0f} s (linear extrapolation; "
                          f"it grows faster), over the --compile-budget of {budget:.0f} s")
            continue
        # One size per child process, so that a runaway compile can be stopped.
        cmd = [sys.executable, os.path.abspath(__file__), "--workloads", "S1", "--s1-child",
               "--s1-nodes", str(n), "--threads", str(args.thread_count)]
        if args.repetitions is not None:
            cmd += ["--repetitions", str(args.repetitions)]
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=2 * budget)
        except subprocess.TimeoutExpired:
            skip(args, n, f"stopped after {2 * budget:.0f} s (twice --compile-budget) "
                          f"while tracing/compiling")
            continue
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        if r.returncode != 0 or not lines:
            skip(args, n, f"child failed (rc {r.returncode}) after "
                          f"{time.perf_counter() - t0:.0f} s: {r.stderr.strip()[-300:]}")
            continue
        for ln in lines:
            print(ln, flush=True)
            rec = json.loads(ln)
            seen = (n, (rec.get("trace_ms", 0) + rec.get("compile_ms", 0)) / 1e3)


def skip(args, n, reason):
    print(json.dumps({"workload": "S1", "threads": args.thread_count, "nodes": n,
                      "skipped": reason, "check": {}, "peer": "jax"}), flush=True)


# MARK: S2

def s2(args):
    weights, biases, x_np, labels_np = W.mlp_data()
    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in zip(weights, biases)]
    x, labels = jnp.asarray(x_np), jnp.asarray(labels_np)

    def loss_fn(params, x, labels):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    def step(params, x, labels):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, labels)
        new = jax.tree.map(lambda p, g: p - 0.01 * g, params, grads)
        return loss, new

    t0 = time.perf_counter()
    lowered = jax.jit(step, donate_argnums=0).lower(params, x, labels)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    state = {"p": params}

    def run():
        loss, state["p"] = compiled(state["p"], x, labels)
        ready((loss, state["p"]))
        return loss

    loss0 = float(run())  # warm-up, at the initial weights
    t = harness.measure(run, harness.reps(args, 30), warmup=0)
    harness.emit(args, "S2", t, {"loss": loss0},
                 gflops=W.MLP_FLOPS_PER_STEP / (t["median_ms"] * 1e6), mode="jit step",
                 trace_ms=(t1 - t0) * 1e3, compile_ms=(t2 - t1) * 1e3)


# MARK: S3

def s3(args):
    length = 4096 if args.quick else 16_384
    x_np, draws = W.wide_dag_data(length=length)
    x = jnp.asarray(x_np)

    def omega(x):
        prev = x
        for lv in range(draws.shape[0]):
            a = prev[draws[lv, :, 0]]
            b = prev[draws[lv, :, 1]]
            prev = jnp.tanh(a * b + a)
        return jnp.sum(jnp.mean(prev, axis=1))

    compiled, trace_ms, compile_ms = compile_timed(jax.value_and_grad(omega), x)
    result = {}

    def run():
        result["out"] = ready(compiled(x))

    t = harness.measure(run, harness.reps(args, 10))
    om, g = result["out"]
    harness.emit(args, "S3", t,
                 {"omega": float(om), "grad_sum": float(np.asarray(g, dtype=np.float64).sum())},
                 gbps=W.wide_dag_bytes(length=length) / (t["median_ms"] * 1e6), length=length,
                 mode="jit, per level", trace_ms=trace_ms, compile_ms=compile_ms)


# MARK: S4

def s4(args):
    samples = 8192 if args.quick else 65_536
    x_np, y_np = W.logistic_data(samples=samples)
    batch, lr = W.S4_BATCH, W.S4_LEARNING_RATE
    steps = samples // batch
    xs = jnp.asarray(x_np.reshape(steps, batch, -1))
    ys = jnp.asarray(y_np.reshape(steps, batch))
    w0 = jnp.zeros(x_np.shape[1], dtype=jnp.float64)

    def batch_loss(w, xb, yb):
        # softplus(z) - y z: its derivative is sigma(z) - y everywhere. The
        # stable form max(z, 0) - z y + log1p(exp(-|z|)) has a kink at z = 0,
        # where every sample sits at the first step (w = 0), and JAX's
        # gradient of maximum at a tie is not sigma(0) - y there.
        z = xb @ w
        return jnp.mean(jax.nn.softplus(z) - z * yb)

    def epoch(w, xs, ys):
        def body(w, xy):
            return w - lr * jax.grad(batch_loss)(w, *xy), None
        return lax.scan(body, w, (xs, ys))[0]

    compiled, trace_ms, compile_ms = compile_timed(epoch, w0, xs, ys)
    result = {}

    def run():
        result["w"] = ready(compiled(w0, xs, ys))

    t = harness.measure(run, harness.reps(args, 10))
    w = np.asarray(result["w"])

    # The same epoch as a Python loop over a jitted step (per-step dispatch).
    step = jax.jit(lambda w, xb, yb: w - lr * jax.grad(batch_loss)(w, xb, yb))
    loop = {}

    def run_loop():
        w = w0
        for k in range(steps):
            w = step(w, xs[k], ys[k])
        loop["w"] = ready(w)

    t_loop = harness.measure(run_loop, max(1, harness.reps(args, 10) // 2))

    # Autodiff against the lecture's hand formula, on the first minibatch at
    # the trained weights.
    auto = np.asarray(jax.grad(batch_loss)(jnp.asarray(w), xs[0], ys[0]))
    xb, yb = x_np[:batch], y_np[:batch]
    hand = -(xb.T @ (yb - 1 / (1 + np.exp(-(xb @ w))))) / batch
    harness.emit(args, "S4", t,
                 {"final_loss": W.log_loss_np(x_np, y_np, w),
                  "final_loss_step_loop": W.log_loss_np(x_np, y_np, np.asarray(loop["w"])),
                  "grad_max_abs_diff_vs_hand": float(np.max(np.abs(auto - hand)))},
                 samples=samples, steps=steps, mode="lax.scan",
                 step_loop_median_ms=t_loop["median_ms"],
                 trace_ms=trace_ms, compile_ms=compile_ms)


# MARK: S5

def s5(args):
    weights, biases, x_np, labels_np = W.small_mlp_data()
    batch = W.S5_BATCH
    steps = x_np.shape[0] // batch
    xs = [jnp.asarray(x_np[k * batch:(k + 1) * batch]) for k in range(steps)]
    ys = [jnp.asarray(labels_np[k * batch:(k + 1) * batch].astype(np.int32)) for k in range(steps)]
    constants = [tuple(jnp.float32(c) for c in W.adam_constants(t + 1)) for t in range(steps)]
    b1, b2 = (jnp.float32(b) for b in W.S5_BETAS)
    c1, c2 = jnp.float32(1 - W.S5_BETAS[0]), jnp.float32(1 - W.S5_BETAS[1])
    eps = jnp.float32(W.S5_EPSILON)
    initial = [p for pair in zip(weights, biases) for p in pair]

    def loss_fn(params, x, labels):
        h = x
        for i in range(3):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < 2:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    def step(params, ms, vs, x, labels, step_size, inverse_root):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, labels)
        ms = [b1 * m + c1 * g for m, g in zip(ms, grads)]
        vs = [b2 * v + c2 * (g * g) for v, g in zip(vs, grads)]
        params = [p - step_size * (m / (jnp.sqrt(v) * inverse_root + eps))
                  for p, m, v in zip(params, ms, vs)]
        return loss, params, ms, vs

    def fresh():
        params = [jnp.asarray(p) for p in initial]
        zeros = [jnp.zeros_like(p) for p in params]
        return params, zeros, [jnp.zeros_like(p) for p in params]

    t0 = time.perf_counter()
    lowered = jax.jit(step, donate_argnums=(0, 1, 2)).lower(
        *fresh(), xs[0], ys[0], *constants[0])
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    state = {}

    def reset():
        state["s"] = fresh()
        ready(state["s"])

    def epoch():
        params, ms, vs = state["s"]
        losses = []
        for k in range(steps):
            loss, params, ms, vs = compiled(params, ms, vs, xs[k], ys[k], *constants[k])
            losses.append(loss)
        ready((losses, params))
        state["s"] = (params, ms, vs)
        state["loss"] = sum(float(v) for v in losses) / steps

    t = harness.measure(epoch, harness.reps(args, 20), setup=reset)
    harness.emit(args, "S5", t, {"final_loss": state["loss"]}, steps=steps,
                 us_per_step=t["median_ms"] * 1e3 / steps, mode="jit step, Python loop",
                 trace_ms=(t1 - t0) * 1e3, compile_ms=(t2 - t1) * 1e3)


# MARK: Shapes

def chain(args):
    n = W.chain_nodes(args.quick)

    def f(x):
        return lax.fori_loop(0, n - 1, lambda i, v: v + 1.0, x)

    x = jnp.float64(0.0)
    compiled, trace_ms, compile_ms = compile_timed(jax.value_and_grad(f), x)
    result = {}

    def run():
        result["out"] = ready(compiled(x))

    t = harness.measure(run, harness.reps(args, 5))
    om, g = result["out"]
    harness.emit(args, "chain", t, {"omega": float(om), "grad_sum": float(g)},
                 nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="fori_loop",
                 trace_ms=trace_ms, compile_ms=compile_ms)


def wavefront(args):
    side = W.WAVEFRONT_SIDE
    # x: row 0 (side values), then column 0 below it (side - 1 values).
    x = jnp.full(2 * side - 1, 1.0 / side, dtype=jnp.float64)

    def unrolled(x):
        row = [x[j] for j in range(side)]
        for i in range(1, side):
            new = [x[side - 1 + i]]
            for j in range(1, side):
                new.append((row[j] + new[j - 1]) * 0.5)
            row = new
        return row[-1]

    # Anti-diagonal d holds the cells (i, d - i), indexed by i. A cell off the
    # border is (up + left) * 0.5 = (D_{d-1}[i-1] + D_{d-1}[i]) * 0.5; border
    # cells are inputs. One lax.scan step per diagonal, 64 lanes each.
    steps = 2 * side - 2
    interior = np.zeros((steps, side), dtype=bool)
    is_input = np.zeros((steps, side), dtype=bool)
    input_index = np.zeros((steps, side), dtype=np.int64)
    for d in range(1, 2 * side - 1):
        for i in range(side):
            j = d - i
            if not 0 <= j < side:
                continue
            if i == 0 or j == 0:
                is_input[d - 1, i] = True
                input_index[d - 1, i] = j if i == 0 else side - 1 + i
            else:
                interior[d - 1, i] = True

    def diagonals(x):
        first = jnp.zeros(side, dtype=x.dtype).at[0].set(x[0])

        def body(diag, t):
            inner, inp, idx = t
            up = jnp.concatenate([jnp.zeros(1, dtype=x.dtype), diag[:-1]])
            return jnp.where(inner, (up + diag) * 0.5, jnp.where(inp, x[idx], 0.0)), None

        last = lax.scan(body, first, (jnp.asarray(interior), jnp.asarray(is_input),
                                      jnp.asarray(input_index)))[0]
        return last[side - 1]

    mode = "unrolled" if args.wavefront_unrolled else "diagonals"
    fn = unrolled if args.wavefront_unrolled else diagonals
    compiled, trace_ms, compile_ms = compile_timed(jax.value_and_grad(fn), x)
    result = {}

    def run():
        result["out"] = ready(compiled(x))

    t = harness.measure(run, harness.reps(args, 50))
    om, g = result["out"]
    n = side * side
    harness.emit(args, "wavefront", t,
                 {"omega": float(om), "grad_sum": float(np.asarray(g).sum())},
                 nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode=mode,
                 trace_ms=trace_ms, compile_ms=compile_ms)


def random_levels(args):
    levels, width = 256, 256
    parents = W.random_levels(levels, width)
    idx = np.zeros((levels - 1, width, 4), dtype=np.int64)
    mask = np.zeros((levels - 1, width, 4), dtype=np.float64)
    for lv, level in enumerate(parents):
        for j, ps in enumerate(level):
            idx[lv, j, :len(ps)] = ps
            mask[lv, j, :len(ps)] = 1.0
    idx_j, mask_j = jnp.asarray(idx), jnp.asarray(mask)

    def f(x):
        def body(prev, im):
            i, m = im
            s = prev[i[:, 0]]
            for k in range(1, 4):  # adding masked-out parents adds exact zeros
                s = s + m[:, k] * prev[i[:, k]]
            return s * 0.5, None
        last = lax.scan(body, x, (idx_j, mask_j))[0]
        return jnp.sum(last)

    x = jnp.asarray(np.array(W.random_levels_inputs(width)))
    compiled, trace_ms, compile_ms = compile_timed(jax.value_and_grad(f), x)
    result = {}

    def run():
        result["out"] = ready(compiled(x))

    t = harness.measure(run, harness.reps(args, 20))
    om, g = result["out"]
    n = levels * width
    harness.emit(args, "random-levels", t,
                 {"omega": float(om), "grad_sum": float(np.asarray(g).sum())},
                 nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="vectorized",
                 trace_ms=trace_ms, compile_ms=compile_ms)


RUNNERS = {"S1": s1, "S2": s2, "S3": s3, "S4": s4, "S5": s5, "chain": chain,
           "wavefront": wavefront, "random-levels": random_levels}

if __name__ == "__main__":
    for name in ARGS.workload_list:
        harness.log(ARGS, "running", name)
        RUNNERS[name](ARGS)
