// Elementwise loops that must stay vectorised when the output is the input
// (a node computed in place, Note [In-place chains], or a gradient, Note
// [In-place gradients], in Plan/Passes/2-Fusion.swift): written with 128-bit vectors on x86-64
// (SSE2, every x86-64 CPU), a plain loop elsewhere. Reached from Swift
// through Ops/Elementwise/ElementwiseKernels.swift.

#ifndef CK_ELEMENTWISE_H
#define CK_ELEMENTWISE_H

/// ReLU: y[i] = x[i] when !(x[i] <= 0) (positive or NaN), else +0, for i in
/// 0..<n. x and y may be the same array.
void ck_relu_f32(const float *x, float *y, long n);
/// ReLU on doubles, as ck_relu_f32.
void ck_relu_f64(const double *x, double *y, long n);
/// ReLU's VJP from its output: d[i] = g[i] where y[i] > 0, else +0, for i
/// in 0..<n. d and g may be the same array.
void ck_relu_vjp_f32(const float *y, const float *g, float *d, long n);
/// ReLU's VJP on doubles, as ck_relu_vjp_f32.
void ck_relu_vjp_f64(const double *y, const double *g, double *d, long n);

#endif
