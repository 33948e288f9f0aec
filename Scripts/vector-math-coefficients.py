#!/usr/bin/env python3
"""Polynomial coefficients of Sources/CKernels/VectorMathBody.h.

Each kernel reduces its argument to a small interval and evaluates there a
polynomial in r (exp) or z = r*r (log, tanh, sin, cos). The polynomials are
Chebyshev fits (near-minimax in absolute error) of the correction terms,
computed with mpmath at 120 bits and printed as C hex-float literals:

    exp:  e^r = 1 + r + r^2 P(r),            |r| <= 0.35 (ln 2 / 2 + margin)
    log:  log1p(f) = f - h + s (h + z P(z)), s = f / (2 + f), z = s^2 <= 0.0295
    tanh: tanh x = x + x z P(z),             z = x^2 <= 0.3025 (|x| <= 0.55)
    sin:  sin r = r + r z P(z),              z <= 0.62 (|r| <= pi/4 + margin)
    cos:  cos r = 1 - z/2 + z^2 P(z)

Run: python3 Scripts/vector-math-coefficients.py
"""
import mpmath as mp
import numpy as np

mp.mp.prec = 120


def as_hex(c, single):
    v = float(c)
    if single:
        v = float(np.float32(v))
        return v.hex() + "f"
    return v.hex()


def emit(name, f, a, b, degree, single):
    coeffs, err = mp.chebyfit(f, [a, b], degree + 1, error=True)
    kind = "f32" if single else "f64"
    print(f"// {name} {kind}: degree {degree} in its variable, fit error {mp.nstr(err, 3)}")
    print(f"#define {name.upper()}_{kind.upper()}_COEFFS " + ", ".join(as_hex(c, single) for c in coeffs))


def exp_p(r):
    if abs(r) < mp.mpf("1e-30"):
        return mp.mpf(1) / 2
    return (mp.exp(r) - 1 - r) / r**2


def log_p(z):
    if z < mp.mpf("1e-40"):
        return mp.mpf(2) / 3
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) / s - 2) / z


def tanh_p(z):
    if z < mp.mpf("1e-40"):
        return -mp.mpf(1) / 3
    x = mp.sqrt(z)
    return (mp.tanh(x) / x - 1) / z


def sin_p(z):
    if z < mp.mpf("1e-40"):
        return -mp.mpf(1) / 6
    x = mp.sqrt(z)
    return (mp.sin(x) / x - 1) / z


def cos_p(z):
    if z < mp.mpf("1e-40"):
        return mp.mpf(1) / 24
    x = mp.sqrt(z)
    return (mp.cos(x) - 1 + z / 2) / z**2


for single, d_exp, d_log, d_tanh, d_sin, d_cos in ((True, 4, 3, 5, 4, 4), (False, 10, 6, 11, 5, 5)):
    emit("exp", exp_p, -0.35, 0.35, d_exp, single)
    emit("log", log_p, 0, 0.0295, d_log, single)
    emit("tanh", tanh_p, 0, 0.3025, d_tanh, single)
    # Float sin and cos are evaluated in double: float-accuracy polynomials,
    # double coefficients.
    if not single:
        emit("sin", sin_p, 0, 0.62, d_sin, False)
        emit("cos", cos_p, 0, 0.62, d_cos, False)
    else:
        print("// sin/cos for float: double coefficients, float-accuracy degree")
        coeffs, err = mp.chebyfit(sin_p, [0, 0.62], 4, error=True)
        print(f"// sinf: degree 3, fit error {mp.nstr(err, 3)}")
        print("#define SIN_F32_COEFFS " + ", ".join(float(c).hex() for c in coeffs))
        coeffs, err = mp.chebyfit(cos_p, [0, 0.62], 4, error=True)
        print(f"// cosf: degree 3, fit error {mp.nstr(err, 3)}")
        print("#define COS_F32_COEFFS " + ", ".join(float(c).hex() for c in coeffs))
