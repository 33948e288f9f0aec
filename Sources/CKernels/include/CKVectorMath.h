// Vectorised elementwise math: y[i] = f(x[i]) for i in 0..<n, for exp,
// log, tanh, sigmoid, sin and cos, and y[i] = x[i]^p (p finite), Float and
// Double, one function per instruction set (baseline; AVX2+FMA and AVX-512
// on x86-64 only, to be
// called only where ck_isa_support() reports them). Reached from Swift
// through Kernels/VectorMath.swift. Error bounds: docs/ops.md, "Accuracy of
// the vectorised math". An element's result depends only on its value and
// the instruction set, never on n or the array's alignment. x and y may be
// the same array.

#ifndef CK_VECTOR_MATH_H
#define CK_VECTOR_MATH_H

#define CK_VECTOR_MATH_DECLARE(isa)                                          \
    void ck_exp_f32_##isa(const float *x, float *y, long n);                 \
    void ck_exp_f64_##isa(const double *x, double *y, long n);               \
    void ck_log_f32_##isa(const float *x, float *y, long n);                 \
    void ck_log_f64_##isa(const double *x, double *y, long n);               \
    void ck_tanh_f32_##isa(const float *x, float *y, long n);                \
    void ck_tanh_f64_##isa(const double *x, double *y, long n);              \
    void ck_sigmoid_f32_##isa(const float *x, float *y, long n);             \
    void ck_sigmoid_f64_##isa(const double *x, double *y, long n);           \
    void ck_sin_f32_##isa(const float *x, float *y, long n);                 \
    void ck_sin_f64_##isa(const double *x, double *y, long n);               \
    void ck_cos_f32_##isa(const float *x, float *y, long n);                 \
    void ck_cos_f64_##isa(const double *x, double *y, long n);               \
    void ck_pow_f32_##isa(const float *x, float *y, long n, double p);       \
    void ck_pow_f64_##isa(const double *x, double *y, long n, double p);

CK_VECTOR_MATH_DECLARE(baseline)
#if defined(__x86_64__)
CK_VECTOR_MATH_DECLARE(avx2)
CK_VECTOR_MATH_DECLARE(avx512)
#endif

#undef CK_VECTOR_MATH_DECLARE

#endif
