#!/usr/bin/env python3
"""S4 logreg-sgd in NumPy: the reference for Backprop's training tests.

Generates S4's data exactly as shared/workloads.md defines it (the LCG,
d = 256, n = 65,536, seed 11, true weights sin(k + 1), rows 2*unit() - 1,
one unit() of label noise after each row), trains the lecture's logistic
regression f_w(x) = sigmoid(w . x) with minibatch SGD (batch 64 in order,
learning rate 0.1, w = 0, one epoch of 1,024 steps) using the hand-derived
gradient  grad J_B = -(1/|B|) sum (y - f_w(x)) x,  and prints the final mean
training log loss over all samples (in Python's shortest round-trip form),
the training accuracy and the epoch time.

Run: python3 Benchmarks/peers/s4_logreg_numpy.py
The printed loss is hard-coded in Tests/BackpropTests/TrainingTests.swift
(TrainingTests.s4NumPyLoss).
"""
import math
import time

import numpy as np

MASK = (1 << 64) - 1
A, C = 6364136223846793005, 1442695040888963407


def s4_data(samples=65536, features=256, seed=11):
    s = seed
    truth = [math.sin(k + 1) for k in range(features)]
    x = np.empty((samples, features))
    y = np.empty(samples)
    for i in range(samples):
        row = [0.0] * features
        dot = 0.0
        for k in range(features):
            s = (s * A + C) & MASK
            v = 2 * ((s >> 11) * 2.0**-53) - 1
            row[k] = v
            dot += truth[k] * v
        s = (s * A + C) & MASK
        y[i] = 1.0 if dot + ((s >> 11) * 2.0**-53 - 0.5) > 0 else 0.0
        x[i] = row
    return x, y


def log_loss(z, y):
    # Stable form of -y log sigmoid(z) - (1 - y) log(1 - sigmoid(z)).
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def main():
    x, y = s4_data()
    n, d = x.shape
    batch, lr = 64, 0.1
    w = np.zeros(d)
    start = time.perf_counter()
    for b in range(n // batch):
        xb, yb = x[b * batch:(b + 1) * batch], y[b * batch:(b + 1) * batch]
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = -(xb.T @ (yb - p)) / batch
        w = w - lr * grad
    elapsed = time.perf_counter() - start
    z = x @ w
    print("final mean training log loss:", repr(float(np.mean(log_loss(z, y)))))
    print("training accuracy:", repr(float(np.mean((z > 0) == (y > 0.5)))))
    print("w[0..3]:", [repr(float(v)) for v in w[:4]])
    print("epoch: %.1f ms (NumPy %s)" % (elapsed * 1000, np.__version__))


if __name__ == "__main__":
    main()
