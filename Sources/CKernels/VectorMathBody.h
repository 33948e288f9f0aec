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
//   pow (x^p, p a constant): e^(p ln|x|) with table-driven logarithm and
//         exponential (VectorMathPowTables.h, made by
//         Scripts/vector-math-coefficients.py --pow-tables). |x| = 2^k z,
//         z in [0.705, 1.41) falls in one of 128 buckets (the 7 mantissa
//         bits after POW_OFF); c its midpoint, invc = 1/c rounded to 20 bits,
//         r = z invc - 1 in [-2^-8, 2^-8], exact (z's top 33 bits times invc
//         and the rest times invc are exact products, summed by 2Sum), and
//         ln|x| = k ln2 + ln c + log1p(r); 1's bucket has invc = 1, so
//         x = 1 gives 1 exactly. Then e^t = 2^(j/128) 2^m e^r' with t =
//         (128m + j) ln2/128 + r', |r'| <= ln2/256, a 128-entry table of
//         2^(j/128), and a short polynomial for e^r'.
//         float64: ln|x| as hi + lo (k ln2 and ln c each as hi + lo, the
//         large terms summed exactly, -r^2/2 exactly by a two-product, the
//         rest of log1p(r) by a degree-5 polynomial: about 2^-68 relative);
//         t = p ln|x| as a double-double (two-product); its low part is
//         added to r'; the result is rounded once in [1, 2] and scaled by
//         2^m in two exact steps (one rounding more where it is subnormal:
//         those can be 1 ulp off). Measured max error 1 ulp.
//         float32: in double, in units of 2^(1/128): L = 128 log2|x| =
//         128k + 128 log2 c + r P(r) (about 2^-40 relative), u = p L =
//         128m + j + r' (r' exact), 2^(u/128) = 2^m 2^(j/128) (1 + r' E(r')),
//         rounded once to float (so subnormal results are correctly
//         rounded and overflow gives inf). Measured max error 1 ulp (0 on
//         the reference set). Table lookups are lane by lane, or AVX2
//         gathers where they measured as fast.
//         Signs and special values as IEEE pow for a finite p != 0 (p = 0
//         gives 1 everywhere): odd integer p keeps x's sign, x < 0 finite
//         with a non-integer p gives NaN, 0 and inf by p's sign; the fix-ups
//         run only for vectors holding such a lane, so a lane's result
//         does not depend on its neighbours.
//
// Note [Vector math chunk independence]
// Every element goes through the same vector code: the tail of an array is
// copied into a zero-padded vector, computed and copied out. The libm
// fallback of sin and cos is decided per element; pow's special-value
// fix-ups, skipped for vectors without special lanes, leave other lanes'
// results as they were. So an element's result
// depends on its value and the path only, never on where a chunk begins.

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "CKVectorMath.h"
#include "VectorMathPowTables.h"

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
typedef int32_t vih __attribute__((vector_size(CK_W / 2)));
typedef uint32_t vuih __attribute__((vector_size(CK_W / 2)));

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
CK_INLINE vfh self_h(vih m, vfh a, vfh b) { return (vfh)((m & (vih)a) | (~m & (vih)b)); }
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

// MARK: pow

// Table lookups (Note [Vector math methods], pow): AVX2's gather (as fast
// as loads lane by lane on Zen 3), else lane by lane.
CK_INLINE vd lookup(const double *table, vl i) {
#if CK_W == 32 && CK_FMA
    return (vd)__builtin_ia32_gatherq_pd256((vd){0}, table, i, (vd)((vl){0} - 1), 8);
#else
    vd v;
    for (int l = 0; l < (int)ND; l++) v[l] = table[i[l]];
    return v;
#endif
}

// a + b = s + *e exactly, whatever their magnitudes (2Sum).
CK_INLINE vd two_sum(vd a, vd b, vd *e) {
    const vd s = a + b, bv = s - a;
    *e = (a - (s - bv)) + (b - bv);
    return s;
}

// a + b = s + *e exactly, given a = 0 or |a| >= |b| (Fast2Sum).
CK_INLINE vd fast_two_sum(vd a, vd b, vd *e) {
    const vd s = a + b;
    *e = (a - s) + b;
    return s;
}

// a b = p + *e exactly (barring overflow): a fused multiply-add, else
// Dekker's product of Veltkamp's 26-bit halves.
CK_INLINE vd two_prod(vd a, vd b, vd *e) {
    const vd p = a * b;
#if CK_FMA
    *e = FMA(a, b, -p);
#else
    const vd ca = a * 134217729.0, ah = ca - (ca - a), al = a - ah;
    const vd cb = b * 134217729.0, bh = cb - (cb - b), bl = b - bh;
    *e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
    return p;
}

// The reduction of pow's logarithm (both types): x = 2^k z, z in
// [asdouble(POW_OFF), 2 asdouble(POW_OFF)), its bucket i in the tables, for
// x > 0 normal (other lanes give garbage, in range).
CK_INLINE vd pow_reduce(vl ix, vl *i, vd *k) {
    const vl tmp = ix - POW_OFF;
    *i = (vl)((vul)tmp >> 45) & (POW_N - 1);
    // tmp >> 52 (arithmetic) through a bias; then exact as a double.
    const vl ki = (vl)((vul)(tmp + 0x4000000000000000LL) >> 52) - 0x400;
    *k = (vd)(ki + (vl)VD(0x1.8p52)) - 0x1.8p52;
    return (vd)(ix - (tmp & (int64_t)0xfff0000000000000ULL));
}

// ln x as hi + *lo (|lo| <= ulp(hi) / 2, error about 2^-68 |ln x|) for
// x > 0 finite, subnormals too.
CK_INLINE vd pow_log_f64(vd x, vd *lo) {
    const vl tiny = x < 0x1p-1022;
    vl i;
    vd k;
    const vd z = pow_reduce((vl)seld(tiny, x * 0x1p52, x), &i, &k);
    k = k - (vd)((vul)tiny & (vul)VD(52.0));
    const vd invc = lookup(POW_INVC, i);
    // r = z invc - 1 exactly, as the 2Sum of a and b: z_hi (z's top 33
    // bits) times invc (20 bits) is exact, and so is z_hi invc - 1
    // (Sterbenz); (z - z_hi) invc has at most 40 bits.
    const vd zh = (vd)((vl)z & (int64_t)0xfffffffffff00000ULL);
    const vd a = zh * invc - 1.0, b = (z - zh) * invc;
    vd rl;
    const vd r = two_sum(a, b, &rl);
    // ln x = k ln 2 + ln c + r - r^2/2 + r^3 P(r): the large terms summed
    // exactly, their errors and the small terms in lo.
    vd e1, e2, e3, l2;
    const vd t1 = fast_two_sum(k * POW_LN2_HI, lookup(POW_LOGC_HI, i), &e1);
    const vd t2 = two_sum(t1, r, &e2);
    const vd h2 = two_prod(r, -0.5 * r, &l2);
    const vd hi = fast_two_sum(t2, h2, &e3);
    const vd small = r * r * r * HORNER_D(r, POW_LOG_F64_COEFFS);
    // log1p(r + rl) = log1p(r) + rl (1 - r) + O(rl r^2).
    const vd l = ((k * POW_LN2_LO + lookup(POW_LOGC_LO, i)) + (e1 + e2 + e3 + l2 + (rl - r * rl)))
        + small;
    return fast_two_sum(hi, l, lo);
}

// e^(th + tl), |tl| <= ulp(th): 2^k 2^(j/128) e^r, the result scaled by
// 2^k in two steps so that subnormal results are rounded once (from the
// double rounded in [1, 2]) and overflow gives inf.
CK_INLINE vd pow_exp_f64(vd th, vd tl) {
    const double magic = 0x1.8p52;
    tl = seld((th > -760.0) & (th < 720.0), tl, VD(0.0));
    th = seld(th > 720.0, VD(720.0), th);
    th = seld(th < -760.0, VD(-760.0), th);
    const vd kt = th * POW_INV_LN2N + magic;
    const vd kd = kt - magic;
    const vl j = ((vl)kt - (vl)VD(magic)) & (POW_N - 1);
    // kd ln2/128's high part is exact, and so is th minus it.
    const vd r = ((th - kd * POW_LN2N_HI) - kd * POW_LN2N_LO) + tl;
    const vd q = FMA(r * r, HORNER_D(r, POW_EXP_F64_COEFFS), r);
    const vd t = lookup(POW_EXP2, j);
    const vd y = t + t * (lookup(POW_EXP2_TAIL, j) + q);
    // k = (kd - j) / 128 and n1 = floor(k / 2), through the bias.
    const vd k = (kd - ((vd)(j + (vl)VD(magic)) - magic)) * (1.0 / POW_N);
    const vl n1 = (vl)((k * 0.5 - 0.25) + magic) - (vl)VD(magic);
    const vl n2 = (vl)(k + magic) - (vl)VD(magic) - n1;
    return y * (vd)((n1 + 1023) << 52) * (vd)((n2 + 1023) << 52);
}

// IEEE pow's special values and signs for a finite p != 0, given y =
// |x|^p for finite |x| other than 0 and 1: odd integer p keeps x's sign, a
// finite x < 0 with a non-integer p gives NaN.
CK_INLINE vd pow_specials(vd x, vd ax, vd y, double p, int odd, int integer) {
    y = seld(ax == 0.0, VD(p > 0 ? 0.0 : INFINITY), y);
    y = seld(ax == INFINITY, VD(p > 0 ? INFINITY : 0.0), y);
    y = seld(ax == 1.0, VD(1.0), y);
    if (odd) y = (vd)((vl)y | ((vl)x & (int64_t)0x8000000000000000ULL));
    if (!integer) y = seld((x < 0.0) & (x > -INFINITY), VD(NAN), y);
    return seld(x != x, x, y);
}

CK_INLINE vd pow_f64(vd x, double p, int odd, int integer) {
    const vd ax = absd(x);
    vd lo, tl;
    const vd hi = pow_log_f64(ax, &lo);
    const vd th = two_prod(VD(p), hi, &tl);
    const vd y = pow_exp_f64(th, tl + p * lo);
    // Lanes other than finite x > 0, and 1 (exact here but for a huge p
    // without FMA), are rare: the fix-ups are skipped for vectors without.
    const vl special = ((vul)x - 1 >= (vul){0} + 0x7fefffffffffffffULL) | (x == 1.0);
    if (!__builtin_reduce_or(special)) return y;
    return pow_specials(x, ax, y, p, odd, integer);
}

// Lookups of the pairs (a, b) at 32-bit indices: one 16-byte load a lane.
CK_INLINE vd lookup_pairs(const double *table, vih i, vd *b) {
    vd a;
    for (int l = 0; l < (int)ND; l++) {
        double pair[2];
        memcpy(pair, table + 2 * i[l], sizeof pair);
        a[l] = pair[0];
        (*b)[l] = pair[1];
    }
    return a;
}

// Float pow in double, rounded once to float. In units of 2^(1/128):
// L = 128 log2 |x| = 128 k + 128 log2 c_i + r P(r) (r = z invc_i - 1 exact:
// z has 24 bits), relative error about 2^-40; u = p L = 128 k' + j + r'
// (|r'| <= 1/2, exact), 2^(u/128) = 2^k' 2^(j/128) (1 + r' E(r')). The
// reduction works on the float's bits.
CK_INLINE vfh pow_f32(vfh xf, double p, int odd, int integer) {
    const double magic = 0x1.8p52;
    const vih ab = (vih)xf & 0x7fffffff;
    const vih tiny = ab < 0x00800000;
    const vih xb = (vih)self_h(tiny, (vfh)ab * 0x1p23f, (vfh)ab);
    const vih tmp = xb - 0x3f348000;
    const vih i = (tmp >> 16) & (POW_N - 1);
    const vih k = (tmp >> 23) + (tiny & -23);
    const vd z = __builtin_convertvector((vfh)(xb - (tmp & (int32_t)0xff800000)), vd);
    vd log2c;
    const vd r = z * lookup_pairs(POWF_LOG, i, &log2c) - 1.0;
    const vd l = (__builtin_convertvector(k, vd) * POW_N + log2c)
        + r * HORNER_D(r, POWF_LOG2N_F64_COEFFS);
    vd u = p * l;
    u = seld(u > 16800.0, VD(16800.0), u);
    u = seld(u < -21000.0, VD(-21000.0), u);
    const vd kt = u + magic;
    const vl ki = (vl)kt - (vl)VD(magic), j = ki & (POW_N - 1);
    const vd re = u - (kt - magic);
    const vd q = re * HORNER_D(re, POWF_EXP2N_F64_COEFFS);
    // 2^k' 2^(j/128): k' added to the exponent field ((ki - j) << 45 = k' << 52).
    const vd s = (vd)((vl)lookup(POW_EXP2, j) + ((ki - j) << 45));
    vd y = FMA(s, q, s);
    // x = 1 gives 1 exactly here; the other special lanes (not finite x >
    // 0) are rare: the fix-ups are skipped for vectors without.
    const vih special = (vuih)xf - 1 >= (vuih){0} + 0x7f7fffffu;
    if (__builtin_reduce_or(special)) {
        const vd x = __builtin_convertvector(xf, vd);
        y = pow_specials(x, absd(x), y, p, odd, integer);
    }
    return __builtin_convertvector(y, vfh);
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

// pow: x^0 = 1 for every x; p's kind decided once.
#define CK_POW_DRIVER(fn, T, V, core)                                         \
    void CK_NAME(fn)(const T *x, T *y, long n, double p) {                   \
        enum { lanes = sizeof(V) / sizeof(T) };                              \
        if (p == 0) {                                                        \
            for (long i = 0; i < n; i++) y[i] = 1;                           \
            return;                                                          \
        }                                                                    \
        const int integer = p == floor(p);                                   \
        const int odd = integer && fabs(p) < 0x1p53 && fmod(p, 2.0) != 0.0;  \
        long i = 0;                                                          \
        for (; i + lanes <= n; i += lanes) {                                 \
            V a, v;                                                          \
            memcpy(&a, x + i, sizeof a);                                     \
            v = core(a, p, odd, integer);                                    \
            memcpy(y + i, &v, sizeof v);                                     \
        }                                                                    \
        if (i < n) {                                                         \
            V a = {0}, v;                                                    \
            memcpy(&a, x + i, (size_t)(n - i) * sizeof(T));                  \
            v = core(a, p, odd, integer);                                    \
            memcpy(y + i, &v, (size_t)(n - i) * sizeof(T));                  \
        }                                                                    \
    }

CK_POW_DRIVER(ck_pow_f32, float, vfh, pow_f32)
CK_POW_DRIVER(ck_pow_f64, double, vd, pow_f64)
