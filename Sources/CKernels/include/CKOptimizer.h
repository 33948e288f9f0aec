// The Adam update's inner loop, per instruction set (baseline; AVX2 and
// AVX-512 on x86-64, to be called only where ck_isa_support() reports
// them). Reached from Swift through Training/OptimizerKernels.swift.
//
// For i in 0..<n, with d = g[i] (+ wd·w[i] when wd != 0), the state
// interleaved as (m, v) pairs:
//   m = b1·s[2i] + c1·d;  v = b2·s[2i+1] + c2·(d·d);  s[2i] = m; s[2i+1] = v
//   w[i] = w[i]·decay − step·(m / (√v·inv + eps))
// Each operation rounded on its own, in this order, with no fused
// multiply-adds: the bits of the scalar Swift loop, on every path.

#ifndef CK_OPTIMIZER_H
#define CK_OPTIMIZER_H

/// Adam's constants for one step, in the element type.
typedef struct {
    double b1, c1, b2, c2, inv, eps, decay, step, wd;
} CKAdamConstants;

#define CK_OPTIMIZER_DECLARE(isa)                                                          \
    void ck_adam_f32_##isa(float *w, const float *g, float *s, long n, CKAdamConstants c);   \
    void ck_adam_f64_##isa(double *w, const double *g, double *s, long n, CKAdamConstants c);

CK_OPTIMIZER_DECLARE(baseline)
#if defined(__x86_64__)
CK_OPTIMIZER_DECLARE(avx2)
CK_OPTIMIZER_DECLARE(avx512)
#endif

#undef CK_OPTIMIZER_DECLARE

#endif
