// The vectorised elementwise math, written once and compiled three times:
// VectorMathBaseline.c, VectorMathAVX2.c and VectorMathAVX512.c include this
// file inside a `#pragma clang attribute push(target(...))` region (none for
// the baseline), after defining
//
//   CK_ISA  the suffix of the public names (baseline, avx2, avx512)
//   CK_W    the vector width in bytes (16, 32, 64)
//   CK_FMA  1 where fused multiply-adds may be used
//
// Note [Vector math methods]
// Each function reduces its argument (Cody–Waite: the constant split into a
// part with trailing zeros, so that n·hi is exact, and a remainder) and
// evaluates a polynomial on the small interval; the coefficients are
// Chebyshev fits (Scripts/vector-math-coefficients.py prints them).
//   exp:  x = n ln2 + r, |r| <= ln2/2; e^r = 1 + r + r^2 P(r); 2^n applied
//         as 2^(n/2) 2^(n - n/2), so results in the subnormal range are
//         rounded once, and overflow gives inf.
//   log:  x = 2^e m, m in [sqrt(1/2), sqrt(2)); with f = m - 1,
//         s = f / (2 + f), log1p(f) = f - f^2/2 + s (f^2/2 + s^2 P(s^2)).
//   tanh: |x| < 0.55: x + x^3 P(x^2); else 1 - 2 / (e^(2|x|) + 1), sign of x.
//   sigmoid: with e = e^(-|x|): 1 / (1 + e) for x >= 0, e / (1 + e) else.
//   sin, cos: x = n pi/2 + r, pi/2 in three parts (33, 33 and 53 bits, so
//         n·P1 and n·P2 are exact for |x| <= 2^20; x - n·P1 - n·P2 summed
//         exactly as a pair, then the third part); polynomials for sin r
//         and cos r, chosen and signed by n mod 4. Arguments beyond 2^20
//         and non-finite ones are computed by libm (its Payne–Hanek
//         reduction), element by element. Float sin and cos are computed in
//         double and rounded once.
//
// Note [Vector math chunk independence]
// Every element goes through the same vector code: the tail of an array is
// copied into a zero-padded vector, computed and copied out. The libm
// fallback of sin and cos is decided per element. So an element's result
// depends on its value and the path only, never on where a chunk begins.

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "CKVectorMath.h"

#pragma clang fp contract(off)

#define CK_CAT2(a, b) a##_##b
#define CK_CAT(a, b) CK_CAT2(a, b)
#define CK_NAME(f) CK_CAT(f, CK_ISA)

typedef float vf __attribute__((vector_size(CK_W)));
typedef int32_t vi __attribute__((vector_size(CK_W)));
typedef double vd __attribute__((vector_size(CK_W)));
typedef int64_t vl __attribute__((vector_size(CK_W)));
typedef uint64_t vul __attribute__((vector_size(CK_W)));
// Half as many floats as a vector holds: float sin and cos run in double.
typedef float vfh __attribute__((vector_size(CK_W / 2)));

#define NF ((long)(CK_W / sizeof(float)))
#define ND ((long)(CK_W / sizeof(double)))

#define VF(c) ((vf){0} + (float)(c))
#define VD(c) ((vd){0} + (double)(c))

#if CK_FMA
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#else
#define FMA(a, b, c) ((a) * (b) + (c))
#endif

#define CK_INLINE static inline __attribute__((always_inline))

CK_INLINE vf self(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }
CK_INLINE vd seld(vl m, vd a, vd b) { return (vd)((m & (vl)a) | (~m & (vl)b)); }
CK_INLINE vf absf(vf x) { return (vf)((vi)x & 0x7fffffff); }
CK_INLINE vd absd(vd x) { return (vd)((vl)x & 0x7fffffffffffffffLL); }

// Horner's rule over a coefficient list, highest power first.
#define HORNER_F(z, ...)                                                     \
    ({                                                                       \
        static const float c_[] = {__VA_ARGS__};                            \
        vf p_ = VF(c_[0]);                                                   \
        for (unsigned k_ = 1; k_ < sizeof c_ / sizeof c_[0]; k_++)           \
            p_ = FMA(p_, (z), VF(c_[k_]));                                   \
        p_;                                                                  \
    })
#define HORNER_D(z, ...)                                                     \
    ({                                                                       \
        static const double c_[] = {__VA_ARGS__};                           \
        vd p_ = VD(c_[0]);                                                   \
        for (unsigned k_ = 1; k_ < sizeof c_ / sizeof c_[0]; k_++)           \
            p_ = FMA(p_, (z), VD(c_[k_]));                                   \
        p_;                                                                  \
    })

// MARK: polynomial coefficients (Scripts/vector-math-coefficients.py)

#define EXP_F32_COEFFS                                                          \
    0x1.6d15f8p-10f, 0x1.12105cp-7f, 0x1.555516p-5f, 0x1.5554d8p-3f, 0x1.0p-1f
#define LOG_F32_COEFFS 0x1.dddbaap-3f, 0x1.245c08p-2f, 0x1.9999ecp-2f, 0x1.555556p-1f
#define TANH_F32_COEFFS                                                         \
    0x1.4b239ap-9f, -0x1.176410p-7f, 0x1.657936p-6f, -0x1.ba142ep-5f,           \
        0x1.111104p-3f, -0x1.555556p-2f
#define SIN_F32_COEFFS                                                          \
    0x1.6db8ab1fea483p-19, -0x1.a01396fd185c8p-13, 0x1.11110de2ddb31p-7,       \
        -0x1.5555555458f67p-3
#define COS_F32_COEFFS                                                          \
    -0x1.2520b9507cc18p-22, 0x1.a015b96a25cf2p-16, -0x1.6c16bf4cae666p-10,     \
        0x1.55555555011d3p-5
#define EXP_F64_COEFFS                                                          \
    0x1.1f75a3caadff5p-29, 0x1.af5282aacdb2ep-26, 0x1.27e4da1e12fb1p-22,       \
        0x1.71ddfff6573d6p-19, 0x1.a01a01a74077ap-16, 0x1.a01a01ac9de9ep-13,   \
        0x1.6c16c16c16214p-10, 0x1.111111110ff8bp-7, 0x1.5555555555556p-5,     \
        0x1.5555555555557p-3, 0x1.0p-1
#define LOG_F64_COEFFS                                                          \
    0x1.2b6776a1bf0b9p-3, 0x1.39fd25d62ab23p-3, 0x1.7462be245eae3p-3,          \
        0x1.c71c62c42db89p-3, 0x1.2492492e0b70cp-2, 0x1.99999999951f5p-2,      \
        0x1.5555555555558p-1
#define TANH_F64_COEFFS                                                         \
    0x1.08378067f032ap-17, -0x1.1adede7706052p-15, 0x1.8c93b7d5aba25p-14,      \
        -0x1.f41d11ba745a0p-13, 0x1.3547bfaa42508p-11, -0x1.7da25da5066b5p-10, \
        0x1.d6d3c60009e9cp-9, -0x1.226e3539b9272p-7, 0x1.664f48822e9a5p-6,     \
        -0x1.ba1ba1ba1a732p-5, 0x1.1111111111109p-3, -0x1.5555555555555p-2
#define SIN_F64_COEFFS                                                          \
    0x1.5e0711724951fp-33, -0x1.ae5fffc91a3e2p-26, 0x1.71de378bbd711p-19,      \
        -0x1.a01a019e7b518p-13, 0x1.1111111110b8fp-7, -0x1.5555555555555p-3
#define COS_F64_COEFFS                                                          \
    -0x1.907999e6897e2p-37, 0x1.1eeb634b132cdp-29, -0x1.27e4fa1272706p-22,     \
        0x1.a01a019f4a826p-16, -0x1.6c16c16c16955p-10, 0x1.5555555555555p-5

// MARK: exp

CK_INLINE vf exp_f32(vf x) {
    const float magic = 0x1.8p23f;
    vf xc = self(x > 89.0f, VF(89.0f), x);
    xc = self(xc < -104.0f, VF(-104.0f), xc);
    const vf t = FMA(xc, VF(0x1.715476p+0f), VF(magic));
    const vf n = t - magic;
    const vi ni = (vi)t - (vi)VF(magic);
    vf r = FMA(n, VF(-0x1.62e4p-1f), xc);
    r = FMA(n, VF(-0x1.7f7d1cp-20f), r);
    const vf p = HORNER_F(r, EXP_F32_COEFFS);
    const vf e = 1.0f + FMA(r * r, p, r);
    const vi n1 = ni >> 1, n2 = ni - n1;
    const vf y = e * (vf)((n1 + 127) << 23) * (vf)((n2 + 127) << 23);
    return self(x != x, x, y);
}

CK_INLINE vd exp_f64(vd x) {
    const double magic = 0x1.8p52;
    vd xc = seld(x > 710.0, VD(710.0), x);
    xc = seld(xc < -746.0, VD(-746.0), xc);
    const vd t = FMA(xc, VD(0x1.71547652b82fep+0), VD(magic));
    const vd n = t - magic;
    const vl ni = (vl)t - (vl)VD(magic);
    vd r = FMA(n, VD(-0x1.62e42fefa38p-1), xc);
    r = FMA(n, VD(-0x1.ef35793c7673p-45), r);
    const vd p = HORNER_D(r, EXP_F64_COEFFS);
    const vd e = 1.0 + FMA(r * r, p, r);
    // n1 = floor(n / 2) through the bias too: SSE2 and AVX2 have no 64-bit
    // arithmetic shift.
    const vl n1 = (vl)((n * 0.5 - 0.25) + magic) - (vl)VD(magic), n2 = ni - n1;
    const vd y = e * (vd)((n1 + 1023) << 52) * (vd)((n2 + 1023) << 52);
    return seld(x != x, x, y);
}

// MARK: log

CK_INLINE vf log_f32(vf x) {
    const vi tiny = x < 0x1p-126f;
    const vf xs = self(tiny, x * 0x1p23f, x);
    const vi bits = (vi)xs;
    const vi k = (bits - 0x3f3504f3) >> 23;
    const vf f = (vf)(bits - (k << 23)) - 1.0f;
    const vf e = __builtin_convertvector(k + (tiny & -23), vf);
    const vf s = f / (2.0f + f);
    const vf z = s * s;
    const vf R = z * HORNER_F(z, LOG_F32_COEFFS);
    const vf h = 0.5f * f * f;
    vf y = FMA(e, VF(0x1.62e4p-1f), -((h - FMA(s, h + R, e * 0x1.7f7d1cp-20f)) - f));
    y = self(x == 0.0f, VF(-INFINITY), y);
    y = self(x < 0.0f, VF(NAN), y);
    y = self(x == INFINITY, x, y);
    return self(x != x, x, y);
}

CK_INLINE vd log_f64(vd x) {
    const vl tiny = x < 0x1p-1022;
    const vd xs = seld(tiny, x * 0x1p54, x);
    const vl bits = (vl)xs;
    // (bits - c) >> 52 as a logical shift of a biased value (SSE2 and AVX2
    // have no 64-bit arithmetic shift).
    const vl k = (vl)((vul)(bits - 0x3fe6a09e667f3bcdLL + 0x4000000000000000LL) >> 52) - 0x400;
    const vd f = (vd)(bits - (k << 52)) - 1.0;
    // k is small: exact through the 1.5·2^52 bias instead of a conversion
    // the baseline lacks.
    const vd e = (vd)(k + (tiny & -54) + (vl)VD(0x1.8p52)) - 0x1.8p52;
    const vd s = f / (2.0 + f);
    const vd z = s * s;
    const vd R = z * HORNER_D(z, LOG_F64_COEFFS);
    const vd h = 0.5 * f * f;
    vd y = FMA(e, VD(0x1.62e42fefa38p-1), -((h - FMA(s, h + R, e * 0x1.ef35793c7673p-45)) - f));
    y = seld(x == 0.0, VD(-INFINITY), y);
    y = seld(x < 0.0, VD(NAN), y);
    y = seld(x == INFINITY, x, y);
    return seld(x != x, x, y);
}

// MARK: tanh

CK_INLINE vf tanh_f32(vf x) {
    const vf ax = absf(x);
    const vf z = x * x;
    const vf small = FMA(x * z, HORNER_F(z, TANH_F32_COEFFS), x);
    const vf ac = self(ax > 20.0f, VF(20.0f), ax);
    const vf big = 1.0f - 2.0f / (exp_f32(ac + ac) + 1.0f);
    const vf signed_big = (vf)((vi)big | ((vi)x & (int32_t)0x80000000));
    vf y = self(ax < 0.55f, small, signed_big);
    y = self(x == 0.0f, x, y);
    return self(x != x, x, y);
}

CK_INLINE vd tanh_f64(vd x) {
    const vd ax = absd(x);
    const vd z = x * x;
    const vd small = FMA(x * z, HORNER_D(z, TANH_F64_COEFFS), x);
    const vd ac = seld(ax > 40.0, VD(40.0), ax);
    const vd big = 1.0 - 2.0 / (exp_f64(ac + ac) + 1.0);
    const vd signed_big = (vd)((vl)big | ((vl)x & (int64_t)0x8000000000000000ULL));
    vd y = seld(ax < 0.55, small, signed_big);
    y = seld(x == 0.0, x, y);
    return seld(x != x, x, y);
}

// MARK: sigmoid

CK_INLINE vf sigmoid_f32(vf x) {
    const vf e = exp_f32(-absf(x));
    const vf y = self(x >= 0.0f, VF(1.0f), e) / (1.0f + e);
    return self(x != x, x, y);
}

CK_INLINE vd sigmoid_f64(vd x) {
    const vd e = exp_f64(-absd(x));
    const vd y = seld(x >= 0.0, VD(1.0), e) / (1.0 + e);
    return seld(x != x, x, y);
}

// MARK: sin, cos

// sin x (quadrant offset 0) or cos x (offset 1) in double, for |x| <= 2^20;
// `single` selects the float-accuracy polynomials.
CK_INLINE vd sincos_core(vd x, int64_t offset, int single) {
    const double magic = 0x1.8p52;
    const vd t = x * 0x1.45f306dc9c883p-1 + magic;
    const vd n = t - magic;
    const vl q = ((vl)t + offset) & 3;
    // x - n·P1 and n·P2 are exact; their difference is kept as a sum of
    // two (2Sum), so that r is rounded relative to itself, not to x - n·P1
    // (which matters where x is close to a multiple of pi/2).
    const vd a = x - n * 0x1.921fb544p+0, b = n * -0x1.0b4611a6p-34;
    const vd hi = a + b, bv = hi - a;
    const vd lo = (a - (hi - bv)) + (b - bv);
    const vd r = hi + FMA(n, VD(-0x1.3198a2e037073p-69), lo);
    const vd z = r * r;
    vd s, c;
    const vd hz = 0.5 * z, w = 1.0 - hz;
    if (single) {
        s = FMA(r * z, HORNER_D(z, SIN_F32_COEFFS), r);
        c = w + (((1.0 - w) - hz) + z * z * HORNER_D(z, COS_F32_COEFFS));
    } else {
        s = FMA(r * z, HORNER_D(z, SIN_F64_COEFFS), r);
        c = w + (((1.0 - w) - hz) + z * z * HORNER_D(z, COS_F64_COEFFS));
    }
    const vd y = seld((q & 1) != 0, c, s);
    return (vd)((vl)y ^ ((q & 2) << 62));
}

// Elements the vector reduction does not cover, by libm.
#define SINCOS_LIMIT 0x1p20

CK_INLINE vd sin_f64(vd x) {
    const vd y = sincos_core(x, 0, 0);
    return seld(x == 0.0, x, y);
}
CK_INLINE vd cos_f64(vd x) { return sincos_core(x, 1, 0); }

CK_INLINE vfh sin_f32(vfh x) {
    const vd xd = __builtin_convertvector(x, vd);
    const vd y = seld(xd == 0.0, xd, sincos_core(xd, 0, 1));
    return __builtin_convertvector(y, vfh);
}
CK_INLINE vfh cos_f32(vfh x) {
    return __builtin_convertvector(sincos_core(__builtin_convertvector(x, vd), 1, 1), vfh);
}

// MARK: pow (float)

// |x|^p for a constant p in double (log and exp above, rounded once to
// float: the exponent's error, |p log x| 2^-52, is far below float's ulp),
// with IEEE pow's signs: odd integer p keeps x's sign, and a finite x < 0
// with a non-integer p gives NaN. 0 and inf fall out of log and exp.
CK_INLINE vfh pow_f32(vfh x, double p, int odd, int integer) {
    const vd xd = __builtin_convertvector(x, vd);
    const vd ax = absd(xd);
    vd y = exp_f64(p * log_f64(ax));
    if (odd) y = (vd)((vl)y | ((vl)xd & (int64_t)0x8000000000000000ULL));
    if (!integer) y = seld((xd < 0.0) & (xd > -INFINITY), VD(NAN), y);
    return __builtin_convertvector(seld(xd != xd, xd, y), vfh);
}

// MARK: drivers (Note [Vector math chunk independence])

#define CK_DRIVER(fn, T, V, core, fixup)                                      \
    void CK_NAME(fn)(const T *x, T *y, long n) {                             \
        enum { lanes = sizeof(V) / sizeof(T) };                              \
        long i = 0;                                                          \
        for (; i + lanes <= n; i += lanes) {                                 \
            V a, v;                                                          \
            memcpy(&a, x + i, sizeof a);                                     \
            v = core(a);                                                     \
            fixup;                                                           \
            memcpy(y + i, &v, sizeof v);                                     \
        }                                                                    \
        if (i < n) {                                                         \
            V a = {0}, v;                                                    \
            memcpy(&a, x + i, (size_t)(n - i) * sizeof(T));                  \
            v = core(a);                                                     \
            fixup;                                                           \
            memcpy(y + i, &v, (size_t)(n - i) * sizeof(T));                  \
        }                                                                    \
    }

// The libm fallback of sin and cos (Note [Vector math methods]), lane by
// lane on the block's input a and result v.
#define CK_LIBM_FIXUP(libm, T)                                               \
    for (int l = 0; l < lanes; l++) {                                        \
        const T al = a[l];                                                   \
        if (!(al >= (T)-SINCOS_LIMIT && al <= (T)SINCOS_LIMIT)) v[l] = libm(al); \
    }

CK_DRIVER(ck_exp_f32, float, vf, exp_f32, )
CK_DRIVER(ck_exp_f64, double, vd, exp_f64, )
CK_DRIVER(ck_log_f32, float, vf, log_f32, )
CK_DRIVER(ck_log_f64, double, vd, log_f64, )
CK_DRIVER(ck_tanh_f32, float, vf, tanh_f32, )
CK_DRIVER(ck_tanh_f64, double, vd, tanh_f64, )
CK_DRIVER(ck_sigmoid_f32, float, vf, sigmoid_f32, )
CK_DRIVER(ck_sigmoid_f64, double, vd, sigmoid_f64, )
CK_DRIVER(ck_sin_f32, float, vfh, sin_f32, CK_LIBM_FIXUP(sinf, float))
CK_DRIVER(ck_sin_f64, double, vd, sin_f64, CK_LIBM_FIXUP(sin, double))
CK_DRIVER(ck_cos_f32, float, vfh, cos_f32, CK_LIBM_FIXUP(cosf, float))
CK_DRIVER(ck_cos_f64, double, vd, cos_f64, CK_LIBM_FIXUP(cos, double))

void CK_NAME(ck_pow_f32)(const float *x, float *y, long n, double p) {
    enum { lanes = sizeof(vfh) / sizeof(float) };
    const int integer = p == floor(p);
    const int odd = integer && fabs(p) < 0x1p53 && fmod(p, 2.0) != 0.0;
    long i = 0;
    for (; i + lanes <= n; i += lanes) {
        vfh a, v;
        memcpy(&a, x + i, sizeof a);
        v = pow_f32(a, p, odd, integer);
        memcpy(y + i, &v, sizeof v);
    }
    if (i < n) {
        vfh a = {0}, v;
        memcpy(&a, x + i, (size_t)(n - i) * sizeof(float));
        v = pow_f32(a, p, odd, integer);
        memcpy(y + i, &v, (size_t)(n - i) * sizeof(float));
    }
}
