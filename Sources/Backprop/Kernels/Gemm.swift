/// Row-major matrix multiply on raw buffers (interim portable kernel; the
/// blocked SIMD kernel and the BLAS path replace it).
enum Gemm {
    /// C = op(A)·op(B), or C += op(A)·op(B) when `accumulate`; op(A) is m×k,
    /// op(B) is k×n. Each C element sums over k in increasing order.
    static func multiply<T: TensorElement>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, useBLAS: Bool
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var acc: T = 0
                for p in 0..<k {
                    let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += av * bv
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc : acc
            }
        }
    }
}
