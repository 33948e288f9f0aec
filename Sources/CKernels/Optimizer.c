// The Adam update (include/CKOptimizer.h), written once and compiled for
// each instruction set with clang's target attribute: the compiler
// vectorises the loop at the path's width (the (m, v) pairs as interleaved
// loads). Contraction is off, so every path gives the scalar loop's bits.

#include "CKOptimizer.h"

#pragma clang fp contract(off)

// The loop over elements of type T, the gradient element given by D (an
// expression in i).
#define CK_ADAM_LOOP(T, D)                                                                     \
    for (long i = 0; i < n; i++) {                                                             \
        const T d = (D);                                                                       \
        const T m = b1 * s[2 * i] + c1 * d;                                                    \
        const T v = b2 * s[2 * i + 1] + c2 * (d * d);                                          \
        s[2 * i] = m;                                                                          \
        s[2 * i + 1] = v;                                                                      \
        w[i] = w[i] * decay - step * (m / (__builtin_elementwise_sqrt(v) * inv + eps));        \
    }

#define CK_ADAM(NAME, T, ATTR)                                                                 \
    ATTR void NAME(T *restrict w, const T *restrict g, T *restrict s, long n,                \
        CKAdamConstants k) {                                                                   \
        const T b1 = (T)k.b1, c1 = (T)k.c1, b2 = (T)k.b2, c2 = (T)k.c2;                        \
        const T inv = (T)k.inv, eps = (T)k.eps, decay = (T)k.decay, step = (T)k.step;          \
        const T wd = (T)k.wd;                                                                  \
        /* The weight-decay test outside the loop: two straight loops. */                     \
        if (wd == 0) {                                                                         \
            CK_ADAM_LOOP(T, g[i])                                                              \
        } else {                                                                               \
            CK_ADAM_LOOP(T, g[i] + wd * w[i])                                                  \
        }                                                                                      \
    }

CK_ADAM(ck_adam_f32_baseline, float, )
CK_ADAM(ck_adam_f64_baseline, double, )
#if defined(__x86_64__)
CK_ADAM(ck_adam_f32_avx2, float, __attribute__((target("avx2"))))
CK_ADAM(ck_adam_f64_avx2, double, __attribute__((target("avx2"))))
CK_ADAM(ck_adam_f32_avx512, float, __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))))
CK_ADAM(ck_adam_f64_avx512, double, __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))))
#endif
