// The matrix-product kernels behind Kernels/Gemm.swift: BLIS-style packed
// panels and a register-blocked micro-kernel per instruction set, chosen
// once through `ck_gemm_kernels`. Every function computes each element of
// C in the order of Note [Gemm determinism] (Kernels/Gemm.swift).

#ifndef CKGEMM_H
#define CKGEMM_H

/// C = op(A)·op(B), or C += op(A)·op(B) when `accumulate`, on row-major
/// matrices: op(A) is m×k (A stored k×m when `transpose_a`), op(B) is k×n
/// (B stored n×k when `transpose_b`), C is m×n. Requires m, n, k > 0.
typedef void (*ck_gemm_f32_fn)(
    int transpose_a, int transpose_b, long m, long n, long k, const float *a, long lda,
    const float *b, long ldb, float *c, long ldc, int accumulate);
typedef void (*ck_gemm_f64_fn)(
    int transpose_a, int transpose_b, long m, long n, long k, const double *a, long lda,
    const double *b, long ldb, double *c, long ldc, int accumulate);

/// One instruction set's kernels.
typedef struct {
    ck_gemm_f32_fn gemm_f32;
    ck_gemm_f64_fn gemm_f64;
    /// 1 when a step is a fused multiply-add (one rounding), 0 when the
    /// product is rounded before it is added.
    int fused;
    /// The micro-tile (rows × columns of C) for Float and for Double.
    int mr_f32, nr_f32, mr_f64, nr_f64;
} CKGemmKernels;

/// The kernels for `isa`: `CK_ISA_AVX512`, `CK_ISA_AVX2_FMA` or 0 for the
/// portable baseline (what any other value, or a platform other than
/// x86-64, gets). The caller checks support first (`ck_isa_support`).
CKGemmKernels ck_gemm_kernels(int isa);

#endif
