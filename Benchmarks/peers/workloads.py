"""The benchmark workloads of ../../shared/workloads.md, for the Python peers.

One generator (the LCG below) and one function per workload's data, so that
JAX, PyTorch and NumPy build exactly the graphs that
`Sources/BackpropWorkloads/Workloads.swift` builds: same seeds, same order of
draws, same elementary functions (`math.sin` is glibc's, as Foundation's is).

This module imports NumPy; peer scripts must fix their thread environment
(`threadenv.apply`) before importing it.
"""

from __future__ import annotations

import math

import numpy as np

MASK64 = (1 << 64) - 1
LCG_A = 6364136223846793005
LCG_C = 1442695040888963407


class LCG:
    """s <- s * A + C (mod 2^64); draw64 = (s >> 33) & 63; unit = (s >> 11) * 2^-53."""

    def __init__(self, seed: int):
        self.s = seed & MASK64

    def advance(self) -> int:
        self.s = (self.s * LCG_A + LCG_C) & MASK64
        return self.s

    def draw64(self) -> int:
        return (self.advance() >> 33) & 63

    def unit(self) -> float:
        return (self.advance() >> 11) * 2.0**-53

    # Bulk versions: the next n states by jump-ahead, in blocks, with NumPy's
    # wrapping uint64 arithmetic. Identical to n scalar calls.
    _BLOCK = 1 << 16
    _jump_cache: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def _jumps(cls) -> tuple[np.ndarray, np.ndarray]:
        # s_k = a_k * s_0 + c_k for k = 1..BLOCK.
        if cls._jump_cache is None:
            a = np.empty(cls._BLOCK, dtype=np.uint64)
            c = np.empty(cls._BLOCK, dtype=np.uint64)
            ak, ck = 1, 0
            for k in range(cls._BLOCK):
                ak = (ak * LCG_A) & MASK64
                ck = (ck * LCG_A + LCG_C) & MASK64
                a[k] = ak
                c[k] = ck
            cls._jump_cache = (a, c)
        return cls._jump_cache

    def states(self, n: int) -> np.ndarray:
        a, c = self._jumps()
        out = np.empty(n, dtype=np.uint64)
        done = 0
        while done < n:
            m = min(self._BLOCK, n - done)
            s0 = np.uint64(self.s)
            out[done : done + m] = a[:m] * s0 + c[:m]  # wraps mod 2^64
            self.s = int(out[done + m - 1])
            done += m
        return out

    def draws64(self, n: int) -> np.ndarray:
        return ((self.states(n) >> np.uint64(33)) & np.uint64(63)).astype(np.int64)

    def units(self, n: int) -> np.ndarray:
        # s >> 11 < 2^53, so the conversion is exact.
        return (self.states(n) >> np.uint64(11)).astype(np.float64) * 2.0**-53


# MARK: S1 scalar-dag

S1_REFERENCE = {
    # N: (omega, d/dx0, d/dx1, d/dx2, sum of input gradients); hand-written C tape.
    1_000: (0.81597338610317993, 0.24397428524982984, -0.020235861445790555,
            -0.6972946436023203, 25.897094198783829),
    10_000: (-5.1645323464801249, -0.63116699862764447, 0.087732312989213537,
             0.66433859914131266, 40.120774106251524),
    1_000_000: (1.8395473110283582, 0.14743471741359093, 0.18100297666414247,
                0.53678342870397655, 30.987680928531496),
}


class S1Graph:
    """S1's node list. Nodes 0..63 are inputs x_i = sin(i + 1); node i >= 64
    has a = i - 64 + draw64(), b = draw64() (an input) and kind i mod 3:
    0: tanh(a + b), 1: a * b, 2: sin(a). omega = sum of the last 64 nodes."""

    def __init__(self, nodes: int):
        if nodes < 128:
            raise ValueError("S1 needs at least 128 nodes")
        self.nodes = nodes
        self.inputs = [math.sin(i + 1) for i in range(64)]
        d = LCG(42).draws64(2 * (nodes - 64)).reshape(-1, 2)
        idx = np.arange(64, nodes)
        self.a = np.zeros(nodes, dtype=np.int64)
        self.b = np.zeros(nodes, dtype=np.int64)
        self.a[64:] = idx - 64 + d[:, 0]
        self.b[64:] = d[:, 1]
        self.kind = np.arange(nodes) % 3
        self.outputs = list(range(nodes - 64, nodes))

    def cone(self) -> list[int]:
        """The non-input nodes omega depends on, in order."""
        live = np.zeros(self.nodes, dtype=bool)
        live[self.nodes - 64 :] = True
        a, b, kind = self.a, self.b, self.kind
        for i in range(self.nodes - 1, 63, -1):
            if live[i]:
                live[a[i]] = True
                if kind[i] != 2:
                    live[b[i]] = True
        return [int(i) for i in np.nonzero(live[64:])[0] + 64]

    def reference(self):
        return S1_REFERENCE.get(self.nodes)


def s1_check(nodes: int, omega: float, grads) -> dict:
    """S1's check record, with the relative error against the reference table."""
    grads = [float(g) for g in grads]
    check = {"nodes": nodes, "omega": float(omega), "grad_sum": math.fsum(grads),
             "grad_0": grads[0], "grad_1": grads[1], "grad_2": grads[2]}
    ref = S1_REFERENCE.get(nodes)
    if ref is not None:
        got = (check["omega"], grads[0], grads[1], grads[2], check["grad_sum"])
        check["max_rel_err_vs_reference"] = max(
            abs(g - r) / max(abs(r), 1e-300) for g, r in zip(got, ref))
    return check


# MARK: S2 mlp

MLP_LAYERS = (784, 512, 512, 10)
MLP_FLOPS_PER_STEP = 410_800_000.0  # 2 m n k per matmul, 3 forward + 5 backward


def mlp_weights(g, layers):
    """Weights W_l (fan_in x fan_out, float32) = (unit() - 0.5) * 2 / sqrt(fan_in)
    drawn from `g`, layer by layer, row by row; biases 0."""
    weights, biases = [], []
    for fan_in, fan_out in zip(layers[:-1], layers[1:]):
        scale = 2 / math.sqrt(fan_in)
        w = ((g.units(fan_in * fan_out) - 0.5) * scale).astype(np.float32)
        weights.append(w.reshape(fan_in, fan_out))
        biases.append(np.zeros(fan_out, dtype=np.float32))
    return weights, biases


def mlp_data(batch: int = 128, layers=MLP_LAYERS):
    """Weights W_l (fan_in x fan_out, float32) = (unit() - 0.5) * 2 / sqrt(fan_in),
    layer by layer, row by row; biases 0; then inputs unit() (batch x 784); then
    labels draw64() mod 10. Seed 7."""
    g = LCG(7)
    weights, biases = mlp_weights(g, layers)
    x = g.units(batch * layers[0]).astype(np.float32).reshape(batch, layers[0])
    labels = g.draws64(batch) % 10
    return weights, biases, x, labels


# MARK: S3 wide-dag

def wide_dag_data(width: int = 64, levels: int = 32, length: int = 16_384):
    """Inputs x_i[k] = sin(i * length + k + 1) (float32, width x length) and the
    parent draws (levels x width x 2: a then b, each draw64() mod width). Seed 3."""
    x = np.array([math.sin(v) for v in range(1, width * length + 1)],
                 dtype=np.float64).astype(np.float32).reshape(width, length)
    draws = LCG(3).draws64(levels * width * 2).reshape(levels, width, 2) % width
    return x, draws


def wide_dag_bytes(width: int = 64, levels: int = 32, length: int = 16_384) -> float:
    return float(width * levels * 9 * 4 * length)


# MARK: S4 logreg-sgd

S4_LEARNING_RATE = 0.1
S4_BATCH = 64


def logistic_data(samples: int = 65_536, features: int = 256):
    """Rows x_ik = 2 unit() - 1 (row by row), then one unit() per row for the
    label y_i = [w* . x_i + (unit() - 0.5) > 0], w*_k = sin(k + 1). Seed 11.
    The dot product is summed in order k = 0, 1, ... as the Swift code does."""
    u = LCG(11).units(samples * (features + 1)).reshape(samples, features + 1)
    x = 2 * u[:, :features] - 1
    truth = np.array([math.sin(k + 1) for k in range(features)])
    dot = np.cumsum(x * truth, axis=1)[:, -1]  # sequential, left to right
    y = (dot + (u[:, features] - 0.5) > 0).astype(np.float64)
    return np.ascontiguousarray(x), y


def log_loss_np(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Mean binary log loss of sigma(x w), in the stable form
    max(z, 0) - z y + log1p(exp(-|z|))."""
    z = x @ w
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


# MARK: S5 small-mlp

S5_LAYERS = (2, 64, 64, 3)
S5_BATCH = 64
S5_SAMPLES = 1536
S5_LEARNING_RATE = 0.01
S5_BETAS = (0.9, 0.999)
S5_EPSILON = 1e-8


def small_mlp_data(samples: int = S5_SAMPLES, layers=S5_LAYERS):
    """Seed 5: weights W_l (fan_in x fan_out, float32) = (unit() - 0.5) * 2 /
    sqrt(fan_in), layer by layer, row-major; biases 0; then per sample
    x = (2 unit() - 1, 2 unit() - 1) followed by its label draw64() mod 3.
    Every epoch starts from these weights with Adam's state at zero
    (Note [S5 epochs start afresh] in Sources/BackpropWorkloads/SmallMLPTraining.swift)."""
    g = LCG(5)
    weights, biases = mlp_weights(g, layers)
    x = np.empty((samples, 2), dtype=np.float64)
    labels = np.empty(samples, dtype=np.int64)
    for i in range(samples):
        x[i, 0] = 2 * g.unit() - 1
        x[i, 1] = 2 * g.unit() - 1
        labels[i] = g.draw64() % 3
    return weights, biases, x.astype(np.float32), labels


def adam_constants(step: int):
    """Adam's bias-corrected constants of step t (from 1), computed in float64
    as Backprop does: lr / (1 - b1^t) and 1 / sqrt(1 - b2^t)."""
    b1, b2 = S5_BETAS
    return (S5_LEARNING_RATE / (1 - b1 ** step), 1 / math.sqrt(1 - b2 ** step))


# MARK: Scheduler shapes

def chain_nodes(quick: bool = False) -> int:
    """Linear chain: x_0 input (0.0), x_i = x_{i-1} + 1; N nodes in all."""
    return 100_000 if quick else 1_000_000


WAVEFRONT_SIDE = 64
# Wavefront: a side x side grid; (i, j) with i == 0 or j == 0 is an input of
# value 1/side, otherwise (i, j) = ((i-1, j) + (i, j-1)) * 0.5; output (side-1, side-1).


def random_levels(levels: int = 256, width: int = 256):
    """Level 0: inputs x_j = j / width. Levels 1..levels-1: node = 0.5 * (sum of
    1 + draw64() % 4 parents, each level[draw64() * width // 64]); seed 5.
    omega = sum of the last level. Returns the parent lists, level by level."""
    g = LCG(5)
    parents = []
    for _ in range(1, levels):
        level = []
        for _ in range(width):
            count = 1 + g.draw64() % 4
            level.append([g.draw64() * width // 64 for _ in range(count)])
        parents.append(level)
    return parents


def random_levels_inputs(width: int = 256) -> list[float]:
    return [j / width for j in range(width)]


# Logical node counts, the denominator of ns_per_node for the shapes.
def shape_nodes(workload: str, size: int | None = None, levels: int = 256, width: int = 256) -> int:
    if workload == "chain":
        return size if size is not None else 1_000_000
    if workload == "wavefront":
        return WAVEFRONT_SIDE * WAVEFRONT_SIDE
    if workload == "random-levels":
        return levels * width
    raise KeyError(workload)


def self_test() -> None:
    """The bulk generator equals the scalar one, for every seed the workloads use."""
    for seed in (3, 5, 7, 11, 42):
        g1, g2 = LCG(seed), LCG(seed)
        bulk = g1.units(70_000)
        scalar = [g2.unit() for _ in range(70_000)]
        assert np.array_equal(bulk, np.array(scalar)), seed
        assert g1.s == g2.s
        d1, d2 = LCG(seed), LCG(seed)
        assert list(d1.draws64(1000)) == [d2.draw64() for _ in range(1000)], seed


if __name__ == "__main__":
    self_test()
    print("workloads.py: LCG bulk == scalar: ok")
