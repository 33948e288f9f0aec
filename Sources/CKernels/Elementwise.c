// ReLU in explicit vectors (CKElementwise.h). Written as a loop, in place
// (y == x), the compiler drops the store of an unchanged element and keeps
// a scalar loop with a conditional store of 0; a vectorised loop with two
// pointers checks for overlap at run time and falls back to that loop.
// Here the mask is !(x <= 0), "not less or equal, unordered" (true for
// NaN), and y = x & mask: x where true, +0 where false, exactly the
// scalar rule.

#include "CKElementwise.h"

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

// One definition per element type: V a 128-bit vector of W elements and
// its operations (SSE2), so float and double share the loop.
#if defined(__x86_64__)
#define CK_RELU_VECTORS(T, V, W, LOADU, STOREU, AND, CMPNLE, ZERO)                                \
    const V zero = ZERO();                                                                      \
    for (; i + 2 * W <= n; i += 2 * W) {                                                        \
        const V a = LOADU(x + i), b = LOADU(x + i + W);                                         \
        STOREU(y + i, AND(a, CMPNLE(a, zero)));                                                 \
        STOREU(y + i + W, AND(b, CMPNLE(b, zero)));                                             \
    }
#else
#define CK_RELU_VECTORS(T, V, W, LOADU, STOREU, AND, CMPNLE, ZERO)
#endif

#define CK_DEFINE_RELU(NAME, T, V, W, LOADU, STOREU, AND, CMPNLE, ZERO)                          \
    void NAME(const T *x, T *y, long n) {                                                       \
        long i = 0;                                                                             \
        CK_RELU_VECTORS(T, V, W, LOADU, STOREU, AND, CMPNLE, ZERO)                              \
        for (; i < n; i++) {                                                                    \
            const T v = x[i];                                                                   \
            y[i] = !(v <= 0) ? v : 0;                                                           \
        }                                                                                       \
    }

CK_DEFINE_RELU(ck_relu_f32, float, __m128, 4, _mm_loadu_ps, _mm_storeu_ps, _mm_and_ps,
               _mm_cmpnle_ps, _mm_setzero_ps)
CK_DEFINE_RELU(ck_relu_f64, double, __m128d, 2, _mm_loadu_pd, _mm_storeu_pd, _mm_and_pd,
               _mm_cmpnle_pd, _mm_setzero_pd)

// ReLU's VJP: the mask is y > 0 (ordered: false for NaN), d = g & mask.
#if defined(__x86_64__)
#define CK_RELU_VJP_VECTORS(T, V, W, LOADU, STOREU, AND, CMPGT, ZERO)                             \
    const V zero = ZERO();                                                                      \
    for (; i + 2 * W <= n; i += 2 * W) {                                                        \
        const V a = LOADU(y + i), b = LOADU(y + i + W);                                         \
        STOREU(d + i, AND(LOADU(g + i), CMPGT(a, zero)));                                       \
        STOREU(d + i + W, AND(LOADU(g + i + W), CMPGT(b, zero)));                               \
    }
#else
#define CK_RELU_VJP_VECTORS(T, V, W, LOADU, STOREU, AND, CMPGT, ZERO)
#endif

#define CK_DEFINE_RELU_VJP(NAME, T, V, W, LOADU, STOREU, AND, CMPGT, ZERO)                       \
    void NAME(const T *y, const T *g, T *d, long n) {                                           \
        long i = 0;                                                                             \
        CK_RELU_VJP_VECTORS(T, V, W, LOADU, STOREU, AND, CMPGT, ZERO)                           \
        for (; i < n; i++) {                                                                    \
            const T v = y[i], gi = g[i];                                                        \
            d[i] = v > 0 ? gi : 0;                                                              \
        }                                                                                       \
    }

CK_DEFINE_RELU_VJP(ck_relu_vjp_f32, float, __m128, 4, _mm_loadu_ps, _mm_storeu_ps, _mm_and_ps,
                   _mm_cmpgt_ps, _mm_setzero_ps)
CK_DEFINE_RELU_VJP(ck_relu_vjp_f64, double, __m128d, 2, _mm_loadu_pd, _mm_storeu_pd, _mm_and_pd,
                   _mm_cmpgt_pd, _mm_setzero_pd)
