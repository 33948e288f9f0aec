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

void ck_relu_f32(const float *x, float *y, long n) {
    long i = 0;
#if defined(__x86_64__)
    const __m128 zero = _mm_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        const __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
        _mm_storeu_ps(y + i, _mm_and_ps(a, _mm_cmpnle_ps(a, zero)));
        _mm_storeu_ps(y + i + 4, _mm_and_ps(b, _mm_cmpnle_ps(b, zero)));
    }
#endif
    for (; i < n; i++) {
        const float v = x[i];
        y[i] = !(v <= 0) ? v : 0;
    }
}

void ck_relu_f64(const double *x, double *y, long n) {
    long i = 0;
#if defined(__x86_64__)
    const __m128d zero = _mm_setzero_pd();
    for (; i + 4 <= n; i += 4) {
        const __m128d a = _mm_loadu_pd(x + i), b = _mm_loadu_pd(x + i + 2);
        _mm_storeu_pd(y + i, _mm_and_pd(a, _mm_cmpnle_pd(a, zero)));
        _mm_storeu_pd(y + i + 2, _mm_and_pd(b, _mm_cmpnle_pd(b, zero)));
    }
#endif
    for (; i < n; i++) {
        const double v = x[i];
        y[i] = !(v <= 0) ? v : 0;
    }
}
