#!/usr/bin/env python3
"""S5 small-mlp's data, drawn with a plain scalar LCG: the values
Tests/BackpropTests/WorkloadTests.swift (smallMLPDataMatchesPython) pins.

Standard library only, written from ../../shared/workloads.md alone (not from
workloads.py), so that it is an independent check of both the Swift and the
NumPy generation: seed 5; weights layer by layer, row-major [fan_in][fan_out],
(unit() - 0.5) * 2 / sqrt(fan_in), rounded to float32; then 1,536 samples,
each x = (2 unit() - 1, 2 unit() - 1) followed by its label draw64() mod 3.

Run: python3 Benchmarks/peers/s5_reference.py
"""
import math
import struct

MASK = (1 << 64) - 1
s = 5


def advance():
    global s
    s = (s * 6364136223846793005 + 1442695040888963407) & MASK
    return s


def unit():
    return (advance() >> 11) * 2.0**-53


def draw64():
    return (advance() >> 33) & 63


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


layers = [2, 64, 64, 3]
weights = []
for fan_in, fan_out in zip(layers, layers[1:]):
    scale = 2 / math.sqrt(fan_in)
    weights.append([f32((unit() - 0.5) * scale) for _ in range(fan_in * fan_out)])
x, labels = [], []
for _ in range(1536):
    x.append((2 * unit() - 1, 2 * unit() - 1))
    labels.append(draw64() % 3)

print("W1[0][0]", repr(weights[0][0]), "W1[1][63]", repr(weights[0][127]))
print("W2[0][0]", repr(weights[1][0]), "W2[63][63]", repr(weights[1][4095]))
print("W3[0][0]", repr(weights[2][0]), "W3[63][2]", repr(weights[2][191]))
for i in (0, 1, 1535):
    print(f"x[{i}]", repr(x[i][0]), repr(x[i][1]), "label", labels[i])
print("labels per class", [labels.count(c) for c in range(3)])
print("sum of x", repr(math.fsum(v for row in x for v in row)))
print("state after all draws", s)
