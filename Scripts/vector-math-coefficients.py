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
(and `--pow-tables Sources/CKernels/VectorMathPowTables.h` to write pow's tables)
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
    line = f"#define {name.upper()}_{kind.upper()}_COEFFS " + ", ".join(as_hex(c, single) for c in coeffs)
    print(line)
    return line


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


# MARK: pow
#
# pow (Note [Vector math methods], "pow"): ln x = k ln 2 + ln c_i + log1p(r)
# with r = z invc_i - 1, then e^t = 2^(j/128) 2^k e^r. The tables are
# written to Sources/CKernels/VectorMathPowTables.h (`--pow-tables FILE`);
# the polynomials are printed with the others.
#
#   log table: z = x / 2^k in [asdouble(POW_OFF), 2 asdouble(POW_OFF)) split
#       into 128 buckets by the 7 mantissa bits after POW_OFF; invc_i is 1/c_i
#       (c_i the bucket's midpoint) rounded to 20 bits, so that z_hi invc_i
#       (z_hi: z's top 33 bits) and z_lo invc_i are exact products and r is
#       exact as their sum; 1's bucket has invc = 1 (ln 1 = 0 exactly).
#       ln c_i = -ln invc_i as hi + lo.
#   exp table: 2^(j/128) rounded, and its relative rounding error.
POW_OFF = 0x3FE6900000000000
POW_N = 128


def from_bits(b):
    import struct
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def round_bits(v, bits):
    """v rounded to `bits` significant bits."""
    m, e = mp.frexp(v)
    return mp.ldexp(mp.nint(mp.ldexp(m, bits)), e - bits)


def pow_log_table():
    rows, rmax = [], mp.mpf(0)
    for i in range(POW_N):
        lo = mp.mpf(from_bits(POW_OFF + (i << 45)))
        hi = mp.mpf(from_bits(POW_OFF + ((i + 1) << 45)))
        if lo <= 1 < hi:
            invc = mp.mpf(1)
        else:
            invc = round_bits(2 / (lo + hi), 20)
        rmax = max(rmax, abs(lo * invc - 1), abs(hi * invc - 1))
        logc = -mp.log(invc)
        h = float(logc)
        rows.append((float(invc), h, float(logc - h)))
    return rows, rmax


def pow_exp_table():
    rows = []
    for j in range(POW_N):
        v = mp.power(2, mp.mpf(j) / POW_N)
        t = float(v)
        rows.append((t, float((v - t) / t)))
    return rows


def log1p_p3(r):
    # (log1p(r) - r + r^2/2) / r^3
    if abs(r) < mp.mpf("1e-30"):
        return mp.mpf(1) / 3
    return (mp.log1p(r) - r + r * r / 2) / r**3


def log1p_p2(r):
    # (log1p(r) - r) / r^2
    if abs(r) < mp.mpf("1e-30"):
        return -mp.mpf(1) / 2
    return (mp.log1p(r) - r) / r**2


_log_rows, _rmax = pow_log_table()
_rexp = mp.log(2) / (2 * POW_N) * mp.mpf("1.01")
print(f"// pow: |r| <= {mp.nstr(_rmax, 6)} (log), {mp.nstr(_rexp, 6)} (exp)")
# Double coefficients for both types (float's pow is computed in double);
# float32's are the lower degrees.
def log2n_p(r):
    # 128 log2(1 + r) / r: float32's logarithm in units of 2^(1/128)
    if abs(r) < mp.mpf("1e-30"):
        return POW_N / mp.log(2)
    return POW_N * mp.log1p(r) / (mp.log(2) * r)


def exp2n_p(r):
    # (2^(r/128) - 1) / r, |r| <= 1/2
    if abs(r) < mp.mpf("1e-30"):
        return mp.log(2) / POW_N
    return mp.expm1(r * mp.log(2) / POW_N) / r


_pow_polys = [
    emit("pow_log", log1p_p3, -_rmax, _rmax, 5, False),
    emit("pow_exp", exp_p, -_rexp, _rexp, 3, False),
    emit("powf_log2n", log2n_p, -_rmax, _rmax, 4, False),
    emit("powf_exp2n", exp2n_p, -0.5, 0.5, 2, False),
]
_ln2n = mp.log(2) / POW_N
_ln2n_hi = round_bits(_ln2n, 35)
_ln2_hi = round_bits(mp.log(2), 40)
_pow_defines = [
    "// ln 2 / 128 (hi: 35 bits) and ln 2 (hi: 40 bits), hi + lo; 128 / ln 2.",
    f"#define POW_LN2N_HI {float(_ln2n_hi).hex()}",
    f"#define POW_LN2N_LO {float(_ln2n - _ln2n_hi).hex()}",
    f"#define POW_INV_LN2N {float(1 / _ln2n).hex()}",
    f"#define POW_LN2_HI {float(_ln2_hi).hex()}",
    f"#define POW_LN2_LO {float(mp.log(2) - _ln2_hi).hex()}",
    "// float64: log1p(r) = r - r^2/2 + r^3 P(r), e^r = 1 + r + r^2 E(r);",
    "// float32: 128 log2(1 + r) = r P(r), 2^(r/128) = 1 + r E(r), |r| <= 1/2.",
] + _pow_polys
print("\n".join(_pow_defines[1:6]))

if __name__ == "__main__":
    import sys

    if "--pow-tables" in sys.argv:
        path = sys.argv[sys.argv.index("--pow-tables") + 1]
        with open(path, "w") as out:
            out.write("// The tables of pow (VectorMathBody.h, Note [Vector math methods]),\n")
            out.write("// generated by Scripts/vector-math-coefficients.py --pow-tables.\n\n")
            out.write(f"#define POW_N {POW_N}\n#define POW_OFF 0x{POW_OFF:016x}LL\n")
            out.write("\n".join(_pow_defines) + "\n\n")
            out.write(f"// 1/c_i (20 bits), ln c_i as hi + lo, for bucket i.\n")
            for name, k in (("POW_INVC", 0), ("POW_LOGC_HI", 1), ("POW_LOGC_LO", 2)):
                out.write(f"static const double {name}[{POW_N}] = {{\n")
                for i in range(0, POW_N, 3):
                    out.write("    " + ", ".join(r[k].hex() for r in _log_rows[i:i + 3]) + ",\n")
                out.write("};\n")
            out.write("// Pairs 1/c_i, 128 log2 c_i (float32's logarithm, in units of 2^(1/128)).\n")
            out.write(f"static const double POWF_LOG[{2 * POW_N}] = {{\n")
            for i in range(0, POW_N, 2):
                vals = []
                for r in _log_rows[i:i + 2]:
                    vals += [r[0], float(-POW_N * mp.log(mp.mpf(r[0])) / mp.log(2))]
                out.write("    " + ", ".join(v.hex() for v in vals) + ",\n")
            out.write("};\n")
            out.write("\n// 2^(j/128) rounded, and its relative rounding error.\n")
            for name, k in (("POW_EXP2", 0), ("POW_EXP2_TAIL", 1)):
                out.write(f"static const double {name}[{POW_N}] = {{\n")
                for i in range(0, POW_N, 3):
                    out.write("    " + ", ".join(r[k].hex() for r in pow_exp_table()[i:i + 3]) + ",\n")
                out.write("};\n")
