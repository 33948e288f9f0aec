#!/usr/bin/env python3
"""The benchmark workloads in PyTorch eager autograd, CPU; JSON Lines out.

  python3 Benchmarks/peers/peer_torch.py [--workloads S1,S2,...] [--threads 1,2]
                                          [--repetitions N] [--quick] [--s1-nodes N,...]
                                          [--chain-nodes N]

Eager mode: every timed repetition records the graph again (autograd's tape)
and runs backward, so S1 and the shapes measure build + forward + backward
(mode "eager"), about microseconds per scalar op.
- S1: one 0-d float64 tensor per node (the 64 inputs are views of one leaf),
  N = 10^4 by default (10^6 takes minutes per repetition; --s1-nodes to try).
  Every node is computed (eager mode cannot know the cone); backward visits
  only the cone.
- S2: forward, F.cross_entropy, backward, SGD update under no_grad (lr 0.01).
- S3: per level, index both parents of all 64 nodes at once, tanh(a*b + a).
- S4: 1,024 eager steps of F.binary_cross_entropy_with_logits (mean),
  backward, update under no_grad; also the largest difference between the
  autodiff gradient and the lecture's hand formula on one minibatch.
- S5: 24 eager steps of the small MLP per epoch: F.cross_entropy, backward,
  torch.optim.Adam (lr 0.01, betas (0.9, 0.999), eps 1e-8); each epoch from
  the initial weights with a fresh optimizer (untimed reset).
- Shapes: 0-d tensors, one op per node; the chain is capped at
  --chain-nodes (default 100,000; ns_per_node is per node of the capped chain).
Threads: torch.set_num_threads(t) and set_num_interop_threads(t), plus the
OpenMP/MKL environment (harness.setup); several counts run as child processes.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (stdlib only)

_parser = harness.parser("torch")
_parser.add_argument("--chain-nodes", type=int, default=None,
                     help="length of the linear chain (default 100,000; 10,000 with --quick)")
ARGS = harness.setup("torch", _parser)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(ARGS.thread_count)
try:
    torch.set_num_interop_threads(ARGS.thread_count)
except RuntimeError:
    pass

import workloads as W  # noqa: E402

f64 = torch.float64


# MARK: S1

def s1(args):
    for n in harness.s1_sizes(args, [10_000]):
        graph = W.S1Graph(n)
        a, b, kind = graph.a.tolist(), graph.b.tolist(), graph.kind.tolist()
        x = torch.tensor(graph.inputs, dtype=f64, requires_grad=True)
        result = {}

        def run():
            x.grad = None
            v = list(x.unbind())
            for i in range(64, n):
                k = kind[i]
                if k == 0:
                    v.append(torch.tanh(v[a[i]] + v[b[i]]))
                elif k == 1:
                    v.append(v[a[i]] * v[b[i]])
                else:
                    v.append(torch.sin(v[a[i]]))
            omega = v[n - 64]
            for i in range(n - 63, n):
                omega = omega + v[i]
            omega.backward()
            result["omega"] = omega.item()

        t = harness.measure(run, harness.reps(args, 10 if n <= 10_000 else 2))
        harness.emit(args, "S1", t, W.s1_check(n, result["omega"], x.grad.tolist()),
                     nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="eager")


# MARK: S2

def s2(args):
    weights, biases, x_np, labels_np = W.mlp_data()
    params = []
    for w, b in zip(weights, biases):
        params += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    x = torch.from_numpy(x_np)
    labels = torch.from_numpy(labels_np)

    def step():
        h = x
        for i in range(3):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < 2:
                h = torch.relu(h)
        loss = F.cross_entropy(h, labels)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 0.01 * p.grad
                p.grad = None
        return loss.item()

    loss0 = step()  # warm-up, at the initial weights
    t = harness.measure(step, harness.reps(args, 30), warmup=0)
    harness.emit(args, "S2", t, {"loss": loss0},
                 gflops=W.MLP_FLOPS_PER_STEP / (t["median_ms"] * 1e6), mode="eager")


# MARK: S3

def s3(args):
    length = 4096 if args.quick else 16_384
    x_np, draws = W.wide_dag_data(length=length)
    x = torch.tensor(x_np, requires_grad=True)
    ia = [torch.from_numpy(draws[lv, :, 0].copy()) for lv in range(draws.shape[0])]
    ib = [torch.from_numpy(draws[lv, :, 1].copy()) for lv in range(draws.shape[0])]
    result = {}

    def run():
        x.grad = None
        prev = x
        for lv in range(len(ia)):
            a = prev[ia[lv]]
            prev = torch.tanh(a * prev[ib[lv]] + a)
        omega = prev.mean(dim=1).sum()
        omega.backward()
        result["omega"] = omega.item()

    t = harness.measure(run, harness.reps(args, 5))
    harness.emit(args, "S3", t,
                 {"omega": result["omega"], "grad_sum": float(x.grad.double().sum())},
                 gbps=W.wide_dag_bytes(length=length) / (t["median_ms"] * 1e6), length=length,
                 mode="eager, per level")


# MARK: S4

def s4(args):
    samples = 8192 if args.quick else 65_536
    x_np, y_np = W.logistic_data(samples=samples)
    batch, lr = W.S4_BATCH, W.S4_LEARNING_RATE
    steps = samples // batch
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    result = {}

    def epoch():
        w = torch.zeros(x.shape[1], dtype=f64, requires_grad=True)
        for k in range(steps):
            xb, yb = x[k * batch:(k + 1) * batch], y[k * batch:(k + 1) * batch]
            loss = F.binary_cross_entropy_with_logits(xb @ w, yb)
            loss.backward()
            with torch.no_grad():
                w -= lr * w.grad
            w.grad = None
        result["w"] = w.detach()

    t = harness.measure(epoch, harness.reps(args, 5))
    w = result["w"].numpy()
    wt = result["w"].clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(x[:batch] @ wt, y[:batch]).backward()
    xb, yb = x_np[:batch], y_np[:batch]
    hand = -(xb.T @ (yb - 1 / (1 + np.exp(-(xb @ w))))) / batch
    harness.emit(args, "S4", t,
                 {"final_loss": W.log_loss_np(x_np, y_np, w),
                  "grad_max_abs_diff_vs_hand": float(np.max(np.abs(wt.grad.numpy() - hand)))},
                 samples=samples, steps=steps, mode="eager")


# MARK: S5

def s5(args):
    weights, biases, x_np, labels_np = W.small_mlp_data()
    batch = W.S5_BATCH
    steps = x_np.shape[0] // batch
    xs = [torch.from_numpy(x_np[k * batch:(k + 1) * batch].copy()) for k in range(steps)]
    ys = [torch.from_numpy(labels_np[k * batch:(k + 1) * batch].copy()) for k in range(steps)]
    initial = [torch.from_numpy(p) for pair in zip(weights, biases) for p in pair]
    params = [p.clone().requires_grad_(True) for p in initial]
    state = {}

    def reset():
        with torch.no_grad():
            for p, p0 in zip(params, initial):
                p.copy_(p0)
                p.grad = None
        state["opt"] = torch.optim.Adam(params, lr=W.S5_LEARNING_RATE, betas=W.S5_BETAS,
                                        eps=W.S5_EPSILON)

    def epoch():
        opt = state["opt"]
        total = 0.0
        for k in range(steps):
            h = xs[k]
            for i in range(3):
                h = h @ params[2 * i] + params[2 * i + 1]
                if i < 2:
                    h = torch.relu(h)
            loss = F.cross_entropy(h, ys[k])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        state["loss"] = total / steps

    t = harness.measure(epoch, harness.reps(args, 20), setup=reset)
    harness.emit(args, "S5", t, {"final_loss": state["loss"]}, steps=steps,
                 us_per_step=t["median_ms"] * 1e3 / steps, mode="eager, torch.optim.Adam")


# MARK: Shapes

def chain(args):
    n = args.chain_nodes or (10_000 if args.quick else 100_000)
    x = torch.tensor(0.0, dtype=f64, requires_grad=True)
    result = {}

    def run():
        x.grad = None
        v = x
        for _ in range(1, n):
            v = v + 1.0
        v.backward()
        result["omega"] = v.item()

    t = harness.measure(run, harness.reps(args, 3))
    harness.emit(args, "chain", t, {"omega": result["omega"], "grad_sum": x.grad.item()},
                 nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="eager",
                 note=f"chain capped at {n} nodes (the workload has {W.chain_nodes()})"
                 if n != W.chain_nodes() else None)


def wavefront(args):
    side = W.WAVEFRONT_SIDE
    x = torch.full((2 * side - 1,), 1.0 / side, dtype=f64, requires_grad=True)
    result = {}

    def run():
        x.grad = None
        xs = x.unbind()
        row = list(xs[:side])
        for i in range(1, side):
            new = [xs[side - 1 + i]]
            for j in range(1, side):
                new.append((row[j] + new[j - 1]) * 0.5)
            row = new
        row[-1].backward()
        result["omega"] = row[-1].item()

    t = harness.measure(run, harness.reps(args, 10))
    n = side * side
    harness.emit(args, "wavefront", t, {"omega": result["omega"], "grad_sum": float(x.grad.sum())},
                 nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="eager")


def random_levels(args):
    levels, width = 256, 256
    parents = W.random_levels(levels, width)
    x = torch.tensor(W.random_levels_inputs(width), dtype=f64, requires_grad=True)
    result = {}

    def run():
        x.grad = None
        prev = x.unbind()
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
        omega.backward()
        result["omega"] = omega.item()

    t = harness.measure(run, harness.reps(args, 3))
    n = levels * width
    harness.emit(args, "random-levels", t,
                 {"omega": result["omega"], "grad_sum": float(x.grad.sum())},
                 nodes=n, ns_per_node=t["median_ms"] * 1e6 / n, mode="eager")


RUNNERS = {"S1": s1, "S2": s2, "S3": s3, "S4": s4, "S5": s5, "chain": chain,
           "wavefront": wavefront, "random-levels": random_levels}

if __name__ == "__main__":
    for name in ARGS.workload_list:
        harness.log(ARGS, "running", name)
        RUNNERS[name](ARGS)
