// General matrix multiply on raw, row-major buffers: the kernel under the
// runtime's matmul forward and VJPs. It uses OpenBLAS when one is loaded and
// the caller allows it (BLAS.swift), and otherwise the package's own
// BLIS-style kernel in C (Sources/CKernels/CKGemm.c): op(A) and op(B)
// packed into panels, a register-blocked micro-kernel per instruction set
// (InstructionSet.current, chosen once).
//
// Note [Gemm determinism]
// ~~~~~~~~~~~~~~~~~~~~~~~
// The own kernel computes every element of C in one fixed order:
//
//     s = accumulate ? C[i][j] : 0
//     for p in 0..<k { s = s ⊕ op(A)[i][p] ⊗ op(B)[p][j] }   // p ascending
//     C[i][j] = s
//
// where one step `s ⊕ a ⊗ b` is a fused multiply-add (rounded once) on
// AVX2 and AVX-512, and the product rounded to T, then the sum, on the
// baseline (`Gemm.fusesMultiplyAdd`; the C file turns off clang's
// contraction so the baseline never fuses, on any platform). Blocking does
// not change this order. The kernel walks columns in blocks of NC, depth in
// blocks of KC = 256 starting at p = 0, rows in blocks of MC; each element
// of C is one lane of one accumulator of an MR×NR micro-tile, the depth loop
// inside a block runs in ascending p, and between depth blocks the running
// sum is stored to C and loaded again, which is exact. Tiles at the edges
// (fewer than MR rows or NR columns) run the same micro-kernel on a copy of
// the tile, with packed op(A) and op(B) zero-padded: padding only occupies
// lanes whose results are thrown away. (Full slivers of op(B) = B are read
// in place rather than packed; the values, and so the steps, are the same.) A product with one column (n == 1)
// puts rows of C in the lanes instead, with the same per-element steps. So
// C[i][j] is a function of row i of op(A), column j of op(B), k and (when
// accumulating) the old C[i][j] alone: it does not depend on m, n, the
// element's position in a tile or block, or which call covered it. The
// runtime may therefore split one product into calls over row ranges (or
// column ranges) and the result is bitwise equal to one call over the
// whole matrix, whatever the number of threads. Different instruction sets
// may differ in the last bits (fused or not); each is deterministic.
//
// BLAS gives no such promise: OpenBLAS picks micro-kernels, edge handling
// and blocking by size, so a row-range call may round differently from the
// whole product. Its results are still reproducible run to run for the same
// calls (it is pinned to one thread), which is why the runtime must choose
// row ranges from the plan only, never from the number of threads (see
// Note [Determinism] in Execution/Execution+Items.swift). Measured with
// OpenBLAS 0.3.21: 37×37×37 in row chunks of 1 or 5 rows differs from the
// whole product in a few elements; larger chunks and sizes matched.

import CKernels

/// Dense matrix multiply, C = op(A)·op(B) or C += op(A)·op(B), on raw
/// row-major buffers: the one Swift type that reaches the C kernels of
/// `CKGemm.h`.
///
/// The entry point the runtime's matmul kernels call on arena memory. With
/// `useBLAS` and a loaded ``BLAS`` it calls `cblas_sgemm`/`cblas_dgemm`;
/// otherwise it runs the package's own kernel for ``InstructionSet/current``
/// (``kernels``): op(A), and op(B) when B is stored transposed, packed into
/// per-thread panels (allocated
/// on a thread's first product, then reused, so steady-state execution does
/// not allocate), and a register-blocked micro-kernel — 6×16 floats or 6×8
/// doubles with AVX2 and FMA, 14×32 or 14×16 with AVX-512, 6×8 or 6×4 with
/// 128-bit vectors on the baseline. Results of the own kernel are bitwise
/// independent of how the rows of C are split between calls
/// (Note [Gemm determinism]).
enum Gemm {
    /// The own kernels for ``InstructionSet/current``, chosen once.
    static let kernels = kernelSet(for: InstructionSet.current)

    /// The own kernels for an instruction set the CPU supports (tests run
    /// every supported one).
    static func kernelSet(for set: InstructionSet) -> CKGemmKernels {
        precondition(InstructionSet.supported.contains(set), "Gemm: \(set) is not supported")
        switch set {
        case .avx512: return ck_gemm_kernels(Int32(CK_ISA_AVX512))
        case .avx2: return ck_gemm_kernels(Int32(CK_ISA_AVX2_FMA))
        case .baseline: return ck_gemm_kernels(0)
        }
    }

    /// Whether one step of the own kernel is a fused multiply-add (rounded
    /// once) rather than a rounded product and a sum (Note [Gemm determinism]).
    static var fusesMultiplyAdd: Bool { kernels.fused != 0 }

    /// The fewest multiply-adds (m·n·k) for which a product goes to the BLAS.
    static let blasMinimumWork = 64 * 64 * 64

    /// Computes C = op(A)·op(B), or C += op(A)·op(B) when `accumulate`, for
    /// row-major matrices given as base pointers and leading dimensions.
    ///
    /// op(A) is m×k: A itself is stored m×k (`lda ≥ k`), or k×m
    /// (`lda ≥ m`) when `transposeA`. op(B) is k×n: B is stored k×n
    /// (`ldb ≥ n`), or n×k (`ldb ≥ k`) when `transposeB`. C is m×n with
    /// `ldc ≥ n`; only its m×n elements are read or written. C must not
    /// overlap A or B.
    ///
    /// To compute rows `r0..<r1` of C alone (a row-range chunk), pass
    /// `m = r1 - r0`, `c + r0 * ldc`, and `a + r0 * lda` (or `a + r0` when
    /// `transposeA`), keeping every leading dimension. On the own kernel
    /// the chunk's values are bitwise equal to the same rows of a call over
    /// the whole matrix.
    ///
    ///     // C (2×2) = A (2×3) · B (3×2)
    ///     Gemm.multiply(
    ///         transposeA: false, transposeB: false, m: 2, n: 2, k: 3,
    ///         a: a, lda: 3, b: b, ldb: 2, c: c, ldc: 2,
    ///         accumulate: false, useBLAS: false)
    ///
    /// - Parameters:
    ///   - transposeA: Read A transposed (A is stored k×m).
    ///   - transposeB: Read B transposed (B is stored n×k).
    ///   - m: Rows of C and of op(A).
    ///   - n: Columns of C and of op(B).
    ///   - k: The inner extent. With `k == 0`, C is zeroed, or left as it is
    ///     when accumulating.
    ///   - a: The first element of A.
    ///   - lda: The distance between rows of A as stored, in elements.
    ///   - b: The first element of B.
    ///   - ldb: The distance between rows of B as stored, in elements.
    ///   - c: The first element of C.
    ///   - ldc: The distance between rows of C, in elements.
    ///   - accumulate: Add the product to C instead of overwriting it.
    ///   - useBLAS: Use the BLAS when one is loaded (``BLAS/shared``); pass
    ///     `false` for the own kernel and its determinism guarantee.
    ///   - kernels: The own kernels to use (``kernels``, unless a test picks
    ///     another instruction set's).
    /// - Complexity: O(m·n·k).
    static func multiply<T: TensorElement>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, useBLAS: Bool,
        kernels: CKGemmKernels = Gemm.kernels
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "Gemm: negative extent")
        precondition(lda >= (transposeA ? m : k), "Gemm: lda too small")
        precondition(ldb >= (transposeB ? k : n), "Gemm: ldb too small")
        precondition(ldc >= n, "Gemm: ldc too small")
        if m == 0 || n == 0 { return }
        if k == 0 {
            if !accumulate {
                for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            }
            return
        }
        // Small products stay on the own kernel: OpenBLAS's small-matrix
        // kernels allocate on every call (which would break allocation-free
        // re-execution), and at this size a call's overhead dominates anyway.
        if useBLAS, m * n * k >= Gemm.blasMinimumWork, let blas = BLAS.shared,
            blas.gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
        {
            return
        }
        let (ta, tb, acc): (Int32, Int32, Int32) =
            (transposeA ? 1 : 0, transposeB ? 1 : 0, accumulate ? 1 : 0)
        if T.self == Float.self {
            kernels.gemm_f32!(
                ta, tb, m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda,
                UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb,
                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, acc)
        } else if T.self == Double.self {
            kernels.gemm_f64!(
                ta, tb, m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda,
                UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb,
                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc, acc)
        } else {
            scalar(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// The kernel for any other element type: one dot product per element,
    /// in the order of Note [Gemm determinism] with the product rounded.
    private static func scalar<T: TensorElement>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
    ) {
        let (aRow, aDepth) = transposeA ? (1, lda) : (lda, 1)
        let (bDepth, bColumn) = transposeB ? (1, ldb) : (ldb, 1)
        for i in 0..<m {
            for j in 0..<n {
                var s: T = accumulate ? c[i * ldc + j] : 0
                for p in 0..<k {
                    s = s + a[i * aRow + p * aDepth] * b[p * bDepth + j * bColumn]
                }
                c[i * ldc + j] = s
            }
        }
    }
}
