#!/usr/bin/env python3
"""Reference values for the vectorised math (VectorMathAccuracyTests).

For each function (exp, log, tanh, sigmoid, sin, cos) and element type
(float32, float64), `--count` inputs are drawn with the package's
WorkloadGenerator (the 64-bit LCG of Sources/Backprop/Tensor/
WorkloadGenerator.swift, seeded per function and type; see `inputs`), so the
Swift test regenerates them bit for bit. Their correctly rounded results
are computed with mpmath at 256 bits, rounded once to the type (subnormals
and overflow included), and stored compactly:

  vector-math-reference.bin  for each function in the order above, float32
      then float64, `count` little-endian UInt16: the LOW 16 BITS of each
      correctly rounded result's bit pattern. The test recovers the full
      value as the one with these low bits nearest to libm's result, which
      is exact as long as libm is within 2^15 ulps (the random ranges keep
      results finite and nonzero, so no sign or class is crossed).
  vector-math-pow.bin        pow with a constant exponent: for float32 then
      float64, for each exponent of POW_EXPONENTS, `--pow-count` UInt16, the
      low 16 bits as above (inputs: `pow_inputs`; NaN results, from x < 0
      and a non-integer p, as 0).
  vector-math-edges.txt      special and edge inputs with full bit patterns:
      `function dtype input-bits result-bits` (hex; NaN results as the
      canonical quiet NaN).

Run (about a minute; the committed file has 10^4 points per pair, and
10^3 per exponent and type for pow; `--pow-only` writes pow's file alone):
    python3 Scripts/vector-math-reference.py --count 10000 --out Tests/VectorMathReference
The accuracy table of docs/ops.md uses 10^5 points:
    python3 Scripts/vector-math-reference.py --count 100000 --out /tmp/vm-ref
    VECTOR_MATH_REFERENCE=/tmp/vm-ref swift test --filter VectorMathAccuracyTests
"""
import argparse
import math
import os
import struct

import mpmath as mp
import numpy as np

mp.mp.prec = 256

FUNCTIONS = ["exp", "log", "tanh", "sigmoid", "sin", "cos"]
DTYPES = ["float32", "float64"]
MASK64 = (1 << 64) - 1


class WorkloadGenerator:
    """Sources/Backprop/Tensor/WorkloadGenerator.swift, step for step."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def advance(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK64
        return self.state

    def unit(self):
        return float(self.advance() >> 11) * 2.0**-53

    def uniform(self, lo, hi):
        return lo + (hi - lo) * self.unit()

    def int(self, n):
        return (self.advance() >> 33) % n


def seed(fi, di):
    """The generator's seed for function index fi and dtype index di."""
    return 0x5EED0000 + 16 * fi + di


def inputs(function, dtype, count):
    """The test inputs as Python floats (float32 values for float32): point
    i uses range `i % 3` of the function's three (VectorMathAccuracyTests
    mirrors this)."""
    single = dtype == "float32"
    g = WorkloadGenerator(seed(FUNCTIONS.index(function), DTYPES.index(dtype)))
    out = []
    for i in range(count):
        mode = i % 3
        # The uniform ranges (lo, hi) of the three modes; log's second mode
        # is m * 2^k instead. One draw per point (two for log's m * 2^k).
        if function == "exp":
            ranges = [(-10, 10), (-103.9, 88.7) if single else (-745.0, 709.7), (-0.5, 0.5)]
        elif function == "log":
            ranges = [(0.5, 2), None, (0, 10)]
        elif function == "tanh":
            ranges = [(-1, 1), (-20, 20) if single else (-40, 40), (-3, 3)]
        elif function == "sigmoid":
            ranges = [(-20, 20), (-104, 104) if single else (-745, 745), (-3, 3)]
        else:
            ranges = [(-10, 10), (-1e4, 1e4), (-(2.0**20), 2.0**20)]
        if function == "log" and mode == 1:
            m = g.uniform(1, 2)
            k = g.int(277) - 149 if single else g.int(2098) - 1074
            x = m * math.ldexp(1.0, k)
        else:
            x = g.uniform(*ranges[mode])
        out.append(float(np.float32(x)) if single else x)
    return out


def exact(function, x):
    v = mp.mpf(x)
    if function == "exp":
        return mp.exp(v)
    if function == "log":
        return mp.log(v)
    if function == "tanh":
        return mp.tanh(v)
    if function == "sigmoid":
        return 1 / (1 + mp.exp(-v))
    if function == "sin":
        return mp.sin(v)
    return mp.cos(v)


def rounded(v, dtype):
    """v rounded once to the type: a Python float (inf on overflow)."""
    p, emin, emax = (24, -126, 127) if dtype == "float32" else (53, -1022, 1023)
    if v == 0:
        return 0.0
    _, e = mp.frexp(v)  # |v| in [2^(e-1), 2^e)
    quantum = max(int(e) - 1, emin) - (p - 1)
    r = mp.nint(mp.ldexp(v, -quantum))
    value = mp.ldexp(r, quantum)
    if abs(value) >= mp.ldexp(1, emax + 1):
        return math.copysign(math.inf, float(v))
    return float(value)


def bits(value, dtype):
    if dtype == "float32":
        return struct.unpack("<I", struct.pack("<f", value))[0]
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def reference(function, dtype, x):
    """The correctly rounded result's bits (canonical quiet NaN for NaN)."""
    if math.isnan(x):
        return 0x7FC00000 if dtype == "float32" else 0x7FF8000000000000
    if math.isinf(x):
        special = {
            "exp": (math.inf, 0.0), "log": (math.inf, math.nan), "tanh": (1.0, -1.0),
            "sigmoid": (1.0, 0.0), "sin": (math.nan, math.nan), "cos": (math.nan, math.nan),
        }[function][0 if x > 0 else 1]
        return reference_value(special, dtype)
    if function == "log" and x <= 0:
        return reference_value(-math.inf if x == 0 else math.nan, dtype)
    if x == 0 and function in ("sin", "tanh"):
        return bits(x, dtype)  # keeps the sign of zero
    return bits(rounded(exact(function, x), dtype), dtype)


def reference_value(value, dtype):
    if math.isnan(value):
        return 0x7FC00000 if dtype == "float32" else 0x7FF8000000000000
    return bits(value, dtype)


def edges(function, dtype):
    single = dtype == "float32"
    f = np.float32 if single else np.float64
    info = np.finfo(f)
    tiny_sub = float(np.nextafter(f(0), f(1)))
    values = [0.0, -0.0, tiny_sub, -tiny_sub, float(info.tiny), -float(info.tiny),
              float(info.tiny) - tiny_sub, 1.0, -1.0, 0.5, 2.0, float(info.max), -float(info.max),
              math.inf, -math.inf, math.nan, 1e-30, -1e-30]

    def around(center, k=3):
        c = f(center)
        out = [float(c)]
        up, down = c, c
        for _ in range(k):
            up, down = np.nextafter(up, f(math.inf)), np.nextafter(down, f(-math.inf))
            out += [float(up), float(down)]
        return out

    hi = float(mp.log(mp.mpf(float(info.max))))
    if function == "exp":
        lo_normal = float(mp.log(mp.mpf(float(info.tiny))))
        lo_zero = float(mp.log(mp.mpf(tiny_sub) / 2))
        values += around(hi) + around(lo_normal) + around(lo_zero) + [-50.0, 50.0, 100.0, -1000.0, 1000.0]
    elif function == "log":
        values += around(1.0) + [float(info.tiny) / 3, 3e-39, -5.0, 10.0, 1e10, 1e30]
    elif function == "tanh":
        values += around(0.55) + around(-0.55) + [9.0, -9.0, 10.0, 20.0, -20.0, 40.0, -40.0, 100.0, 1e30, -1e30]
    elif function == "sigmoid":
        values += [20.0, -20.0, 50.0, -50.0, 88.0, -88.0, 104.0, -104.0, 110.0, -110.0, 745.0, -745.0,
                   800.0, -800.0, 1e30, -1e30]
    else:
        values += around(2.0**20) + around(-(2.0**20)) + [math.pi, math.pi / 2, -math.pi / 4, 1e6, 1e7,
                                                          1e22, -1e22, 3e38, 1e30]
        # Close to multiples of pi/2, where the reduction cancels most.
        values += [float(mp.pi / 2 * k) for k in (1, 2, 3, 4, 1000, 12345, 600000, -77777)]
        if not single:
            values += [1e300, -1e300, 1e100]
    out = []
    for v in values:
        x = float(f(v)) if not math.isnan(v) else v
        if math.isinf(x) and not math.isinf(v):
            continue
        out.append(x)
    return out


# VectorMathPowTests.exponents; float32 uses each rounded to float32.
POW_EXPONENTS = [0.5, 3, -1.5, 2.5, -3, 1.0 / 3, 7, 0.1, -0.5, 1.5]


def pow_inputs(pi, dtype, count):
    """pow's inputs for exponent index pi: point i uses mode i % 4 (uniform
    on [0, 10], on [-10, 10], m 2^k with k in [-30, 29], and 1 + [-1/64,
    1/64], where the logarithm's accuracy matters most)."""
    single = dtype == "float32"
    g = WorkloadGenerator(0x5EED0200 + 16 * pi + DTYPES.index(dtype))
    out = []
    for i in range(count):
        mode = i % 4
        if mode == 0:
            x = g.uniform(0, 10)
        elif mode == 1:
            x = g.uniform(-10, 10)
        elif mode == 2:
            m = g.uniform(1, 2)
            x = m * math.ldexp(1.0, g.int(60) - 30)
        else:
            x = g.uniform(1 - 1 / 64, 1 + 1 / 64)
        out.append(float(np.float32(x)) if single else x)
    return out


def pow_reference(x, p, dtype):
    """x^p correctly rounded, as bits (0 for NaN)."""
    if x < 0 and p != math.floor(p):
        return 0
    if x == 0:
        return bits(0.0 if p > 0 else math.inf, dtype)
    v = mp.power(abs(mp.mpf(x)), mp.mpf(p))
    if x < 0 and int(p) % 2 == 1:
        v = -v
    return bits(rounded(v, dtype), dtype)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--out", default="Tests/VectorMathReference")
    parser.add_argument("--pow-count", type=int, default=1000)
    parser.add_argument("--pow-only", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "vector-math-pow.bin"), "wb") as data:
        for dtype in DTYPES:
            for pi, p in enumerate(POW_EXPONENTS):
                pe = float(np.float32(p)) if dtype == "float32" else p
                low = [pow_reference(x, pe, dtype) & 0xFFFF for x in pow_inputs(pi, dtype, args.pow_count)]
                data.write(struct.pack(f"<{len(low)}H", *low))
            print("pow", dtype, "done", flush=True)
    if args.pow_only:
        return
    with open(os.path.join(args.out, "vector-math-reference.bin"), "wb") as data:
        for function in FUNCTIONS:
            for dtype in DTYPES:
                low = [reference(function, dtype, x) & 0xFFFF for x in inputs(function, dtype, args.count)]
                data.write(struct.pack(f"<{len(low)}H", *low))
                print(function, dtype, "done", flush=True)
    with open(os.path.join(args.out, "vector-math-edges.txt"), "w") as text:
        text.write("# function dtype input-bits result-bits (Scripts/vector-math-reference.py)\n")
        for function in FUNCTIONS:
            for dtype in DTYPES:
                width = 8 if dtype == "float32" else 16
                for x in edges(function, dtype):
                    xb = reference_value(x, dtype) if math.isnan(x) else bits(x, dtype)
                    yb = reference(function, dtype, x)
                    text.write(f"{function} {dtype} {xb:0{width}x} {yb:0{width}x}\n")


if __name__ == "__main__":
    main()
