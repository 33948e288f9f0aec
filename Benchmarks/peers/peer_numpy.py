#!/usr/bin/env python3
"""The benchmark workloads in NumPy with hand-written gradients; JSON Lines out.

  python3 Benchmarks/peers/peer_numpy.py [--workloads S1,S2,...] [--threads 1,2]
                                          [--repetitions N] [--quick] [--s1-nodes N,...]

- S1: a hand-written tape in Python loops over Python floats (`math.sin`,
  `math.tanh`, `math.cos`; NumPy scalars would be slower). The node list and
  the cone of omega are built once (`build_ms`, not timed); the timed part is
  forward + backward over the cone, like the hand-written tape in
  Benchmarks/Sources/RuntimeBenchmarks (mode "replay"). ns_per_node divides by N.
- S2: forward, hand-written backward (3 + 5 matmuls) and the SGD update, float32.
- S3: per level, gather both parents for all 64 nodes at once, tanh(a*b + a);
  the backward pass by hand, scattering parent gradients row by row. float32.
- S4: one epoch of minibatch SGD with the lecture's gradient
  grad J_B = -(1/|B|) sum (y - sigma(w.x)) x. float64.
- S5: one epoch (24 steps) of the small MLP: forward, hand-written backward and
  Adam, float32; each epoch from the initial weights (untimed reset).
- Shapes: hand-written forward and backward loops in Python over floats.
Threads only matter where BLAS runs (S2, S4, S5): OPENBLAS_NUM_THREADS etc., set by
harness.setup before NumPy loads.
"""

from __future__ import annotations

import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (stdlib only)

ARGS = harness.setup("numpy")

import numpy as np  # noqa: E402

import workloads as W  # noqa: E402


# MARK: S1

def s1(args):
    for n in harness.s1_sizes(args, [10_000, 1_000_000]):
        t0 = time.perf_counter()
        graph = W.S1Graph(n)
        cone = graph.cone()
        a, b, kind = graph.a.tolist(), graph.b.tolist(), graph.kind.tolist()
        ops = [(i, kind[i], a[i], b[i]) for i in cone]
        rops = ops[::-1]
        outputs = graph.outputs
        inputs = graph.inputs
        build_ms = (time.perf_counter() - t0) * 1e3
        tanh, sin, cos = math.tanh, math.sin, math.cos
        result = {}

        def run():
            v = [0.0] * n
            v[:64] = inputs
            for i, k, x, y in ops:
                if k == 0:
                    v[i] = tanh(v[x] + v[y])
                elif k == 1:
                    v[i] = v[x] * v[y]
                else:
                    v[i] = sin(v[x])
            omega = 0.0
            for o in outputs:
                omega += v[o]
            adj = [0.0] * n
            for o in outputs:
                adj[o] = 1.0
            for i, k, x, y in rops:
                g = adj[i]
                if k == 0:
                    d = g * (1.0 - v[i] * v[i])
                    adj[x] += d
                    adj[y] += d
                elif k == 1:
                    adj[x] += g * v[y]
                    adj[y] += g * v[x]
                else:
                    adj[x] += g * cos(v[x])
            result["omega"], result["grads"] = omega, adj[:64]

        t = harness.measure(run, harness.reps(args, 20 if n <= 10_000 else 3))
        harness.emit(args, "S1", t, W.s1_check(n, result["omega"], result["grads"]),
                     nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="replay",
                     cone=len(cone), build_ms=build_ms)


# MARK: S2

def mlp3_forward(x, w1, b1, w2, b2, w3, b3):
    """A three-layer ReLU MLP's forward pass and its softmax's pieces (S2, S5):
    pre-activations, activations, logits z, their row maxima, exp(z - max)
    and its row sums."""
    h1 = x @ w1 + b1
    r1 = np.maximum(h1, 0)
    h2 = r1 @ w2 + b2
    r2 = np.maximum(h2, 0)
    z = r2 @ w3 + b3
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    return h1, r1, h2, r2, z, zmax, e, s


def s2(args):
    weights, biases, x, labels = W.mlp_data()
    ws = [w.copy() for w in weights]
    bs = [b.copy() for b in biases]
    batch = x.shape[0]
    onehot = np.zeros((batch, 10), dtype=np.float32)
    onehot[np.arange(batch), labels] = 1
    lr = np.float32(0.01)

    def step():
        w1, w2, w3 = ws
        b1, b2, b3 = bs
        h1, r1, h2, r2, z, zmax, e, s = mlp3_forward(x, w1, b1, w2, b2, w3, b3)
        lse = np.log(s) + zmax
        loss = float(np.mean(lse[:, 0] - z[np.arange(batch), labels]))
        dz = (e / s - onehot) / np.float32(batch)
        dw3 = r2.T @ dz
        db3 = dz.sum(axis=0)
        dh2 = (dz @ w3.T) * (h2 > 0)
        dw2 = r1.T @ dh2
        db2 = dh2.sum(axis=0)
        dh1 = (dh2 @ w2.T) * (h1 > 0)
        dw1 = x.T @ dh1
        db1 = dh1.sum(axis=0)
        for p, g in ((w1, dw1), (w2, dw2), (w3, dw3), (b1, db1), (b2, db2), (b3, db3)):
            p -= lr * g
        return loss

    loss0 = step()  # the warm-up; its loss is at the initial weights
    t = harness.measure(step, harness.reps(args, 20), warmup=0)
    harness.emit(args, "S2", t, {"loss": loss0}, mode="hand-written",
                 gflops=W.MLP_FLOPS_PER_STEP / (t["median_ms"] * 1e6))


# MARK: S3

def s3(args):
    length = 4096 if args.quick else 16_384
    x, draws = W.wide_dag_data(length=length)
    width, levels = x.shape[0], draws.shape[0]
    result = {}

    def run():
        ts, prev = [], x
        for lv in range(levels):
            ia, ib = draws[lv, :, 0], draws[lv, :, 1]
            a = prev[ia]
            u = a * prev[ib]
            u += a
            np.tanh(u, out=u)
            ts.append(u)
            prev = u
        omega = np.float32(0)
        for j in range(width):
            omega += prev[j].mean()
        g = np.full((width, length), np.float32(1 / length), dtype=np.float32)
        for lv in range(levels - 1, -1, -1):
            ia, ib = draws[lv, :, 0], draws[lv, :, 1]
            t = ts[lv]
            below = ts[lv - 1] if lv > 0 else x
            du = g * (1 - t * t)
            a, b = below[ia], below[ib]
            da = du * (b + 1)
            db = du * a
            g = np.zeros_like(below)
            for j in range(width):
                g[ia[j]] += da[j]
                g[ib[j]] += db[j]
        result["omega"], result["grads"] = float(omega), g

    t = harness.measure(run, harness.reps(args, 5))
    harness.emit(args, "S3", t,
                 {"omega": result["omega"], "grad_sum": float(result["grads"].sum(dtype=np.float64))},
                 gbps=W.wide_dag_bytes(length=length) / (t["median_ms"] * 1e6), length=length,
                 mode="hand-written")


# MARK: S4

def s4(args):
    samples = 8192 if args.quick else 65_536
    x, y = W.logistic_data(samples=samples)
    batch, lr = W.S4_BATCH, W.S4_LEARNING_RATE
    steps = samples // batch
    result = {}

    def epoch():
        w = np.zeros(x.shape[1])
        for k in range(steps):
            xb = x[k * batch:(k + 1) * batch]
            yb = y[k * batch:(k + 1) * batch]
            p = 1 / (1 + np.exp(-(xb @ w)))
            grad = -(xb.T @ (yb - p)) / batch
            w -= lr * grad
        result["w"] = w

    t = harness.measure(epoch, harness.reps(args, 5))
    harness.emit(args, "S4", t, {"final_loss": W.log_loss_np(x, y, result["w"])},
                 samples=samples, steps=steps, mode="hand-written")


# MARK: S5

def s5(args):
    weights, biases, x, labels = W.small_mlp_data()
    batch = W.S5_BATCH
    steps = x.shape[0] // batch
    onehots = []
    for k in range(steps):
        o = np.zeros((batch, 3), dtype=np.float32)
        o[np.arange(batch), labels[k * batch:(k + 1) * batch]] = 1
        onehots.append(o)
    b1, b2 = (np.float32(b) for b in W.S5_BETAS)
    c1, c2 = np.float32(1 - W.S5_BETAS[0]), np.float32(1 - W.S5_BETAS[1])
    eps = np.float32(W.S5_EPSILON)
    constants = [tuple(np.float32(c) for c in W.adam_constants(t + 1)) for t in range(steps)]
    state = {}

    def reset():
        params = [p.copy() for pair in zip(weights, biases) for p in pair]
        state["params"] = params
        state["m"] = [np.zeros_like(p) for p in params]
        state["v"] = [np.zeros_like(p) for p in params]

    def epoch():
        params, ms, vs = state["params"], state["m"], state["v"]
        w1, c_1, w2, c_2, w3, c_3 = params
        total = 0.0
        for k in range(steps):
            xb = x[k * batch:(k + 1) * batch]
            h1, r1, h2, r2, z, zmax, e, s = mlp3_forward(xb, w1, c_1, w2, c_2, w3, c_3)
            onehot = onehots[k]
            total += float(np.mean(np.log(s) + zmax - (z * onehot).sum(axis=1, keepdims=True)))
            dz = (e / s - onehot) / np.float32(batch)
            dh2 = (dz @ w3.T) * (h2 > 0)
            dh1 = (dh2 @ w2.T) * (h1 > 0)
            grads = (xb.T @ dh1, dh1.sum(axis=0), r1.T @ dh2, dh2.sum(axis=0),
                     r2.T @ dz, dz.sum(axis=0))
            step_size, inverse_root = constants[k]
            for p, g, m, v in zip(params, grads, ms, vs):
                m *= b1
                m += c1 * g
                v *= b2
                v += c2 * (g * g)
                p -= step_size * (m / (np.sqrt(v) * inverse_root + eps))
        state["loss"] = total / steps

    t = harness.measure(epoch, harness.reps(args, 20), setup=reset)
    harness.emit(args, "S5", t, {"final_loss": state["loss"]}, steps=steps,
                 us_per_step=t["median_ms"] * 1e3 / steps, mode="hand-written")


# MARK: Shapes

def chain(args):
    n = W.chain_nodes(args.quick)
    result = {}

    def run():
        v = [0.0] * n
        for i in range(1, n):
            v[i] = v[i - 1] + 1.0
        adj = [0.0] * n
        adj[n - 1] = 1.0
        for i in range(n - 1, 0, -1):
            adj[i - 1] += adj[i]
        result["omega"], result["grad"] = v[n - 1], adj[0]

    t = harness.measure(run, harness.reps(args, 5))
    harness.emit(args, "chain", t, {"omega": result["omega"], "grad_sum": result["grad"]},
                 nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="Python loops")


def wavefront(args):
    side = W.WAVEFRONT_SIDE
    result = {}

    def run():
        v = [[1.0 / side] * side for _ in range(side)]
        for i in range(1, side):
            up, row = v[i - 1], v[i]
            for j in range(1, side):
                row[j] = (up[j] + row[j - 1]) * 0.5
        adj = [[0.0] * side for _ in range(side)]
        adj[side - 1][side - 1] = 1.0
        for i in range(side - 1, 0, -1):
            up, row = adj[i - 1], adj[i]
            for j in range(side - 1, 0, -1):
                d = row[j] * 0.5
                up[j] += d
                row[j - 1] += d
        grad_sum = sum(adj[0]) + sum(adj[i][0] for i in range(1, side))
        result["omega"], result["grad_sum"] = v[side - 1][side - 1], grad_sum

    t = harness.measure(run, harness.reps(args, 30))
    n = side * side
    harness.emit(args, "wavefront", t, dict(result), nodes=n, ns_per_node=t["median_ms"] * 1e6 / n,
                 mode="Python loops")


def random_levels(args):
    levels, width = 256, 256
    parents = W.random_levels(levels, width)
    inputs = W.random_levels_inputs(width)
    result = {}

    def run():
        prev = inputs
        for level in parents:
            cur = []
            for ps in level:
                s = prev[ps[0]]
                for p in ps[1:]:
                    s = s + prev[p]
                cur.append(s * 0.5)
            prev = cur
        omega = prev[0]
        for j in range(1, width):
            omega = omega + prev[j]
        g = [1.0] * width
        for lv in range(len(parents) - 1, -1, -1):
            below = [0.0] * width
            for ps, gj in zip(parents[lv], g):
                d = gj * 0.5
                for p in ps:
                    below[p] += d
            g = below
        result["omega"], result["grad_sum"] = omega, math.fsum(g)

    t = harness.measure(run, harness.reps(args, 5))
    n = levels * width
    harness.emit(args, "random-levels", t, dict(result), nodes=n,
                 ns_per_node=t["median_ms"] * 1e6 / n, mode="Python loops")


RUNNERS = {"S1": s1, "S2": s2, "S3": s3, "S4": s4, "S5": s5, "chain": chain,
           "wavefront": wavefront, "random-levels": random_levels}

if __name__ == "__main__":
    for name in ARGS.workload_list:
        harness.log(ARGS, "running", name)
        RUNNERS[name](ARGS)
