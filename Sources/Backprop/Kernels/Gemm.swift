// General matrix multiply on raw, row-major buffers: the kernel under the
// runtime's matmul forward and VJPs. It uses OpenBLAS when one is loaded and
// the caller allows it (BLAS.swift), and otherwise a portable blocked kernel
// written with SIMD types.
//
// Note [Gemm determinism]
// ~~~~~~~~~~~~~~~~~~~~~~~
// The portable kernel computes every element of C in one fixed order:
//
//     s = accumulate ? C[i][j] : 0
//     for p in 0..<k { s = s + op(A)[i][p] * op(B)[p][j] }   // p ascending
//     C[i][j] = s
//
// with each product rounded to T before it is added (no fused multiply-add:
// Swift does not contract `a * b + c`, and the kernel never calls
// `addingProduct`). Blocking does not change this order: each SIMD lane of a
// micro-kernel accumulator is one element of C, the k loop inside a block
// runs in ascending p, and between k blocks the running sum is stored to C
// exactly and loaded again. Row and column tails are computed by the same
// micro-kernel (padding rows and columns only occupy lanes and accumulators
// whose results are thrown away). So C[i][j] is a function of row i of
// op(A), column j of op(B), k and (when accumulating) the old C[i][j] alone:
// it does not depend on m, n, the position of the element in a block, or
// which call covered it. The runtime may therefore split one product into
// calls over row ranges (or column ranges) and the result is bitwise equal
// to one call over the whole matrix, whatever the number of threads.
//
// BLAS gives no such promise: OpenBLAS picks micro-kernels, edge handling
// and blocking by size, so a row-range call may round differently from the
// whole product. Its results are still reproducible run to run for the same
// calls (it is pinned to one thread), which is why the runtime must choose
// row ranges from the plan only, never from the number of threads (see
// Note [Determinism] in Execution/Execution+Items.swift). Measured with
// OpenBLAS 0.3.21: 37×37×37 in row chunks of 1 or 5 rows differs from the
// whole product in a few elements; larger chunks and sizes matched.

/// An element type with a SIMD micro-kernel: `Float` (8 lanes) and `Double`
/// (4 lanes). On x86-64 without AVX each vector is two SSE registers.
protocol GemmScalar: TensorElement {
    /// One row of a micro-tile: `Vector.scalarCount` consecutive columns of C.
    associatedtype Vector: SIMD where Vector.Scalar == Self
    /// `acc + b * a` lane by lane: the product rounded, then the sum
    /// (Note [Gemm determinism]).
    static func multiplyAdd(_ acc: Vector, _ a: Self, _ b: Vector) -> Vector
}

extension Float: GemmScalar {
    typealias Vector = SIMD8<Float>
    @inline(__always)
    static func multiplyAdd(_ acc: Vector, _ a: Float, _ b: Vector) -> Vector {
        acc + b * Vector(repeating: a)
    }
}

extension Double: GemmScalar {
    typealias Vector = SIMD4<Double>
    @inline(__always)
    static func multiplyAdd(_ acc: Vector, _ a: Double, _ b: Vector) -> Vector {
        acc + b * Vector(repeating: a)
    }
}

/// Dense matrix multiply, C = op(A)·op(B) or C += op(A)·op(B), on raw
/// row-major buffers.
///
/// The entry point the runtime's matmul kernels call on arena memory. With
/// `useBLAS` and a loaded ``BLAS`` it calls `cblas_sgemm`/`cblas_dgemm`;
/// otherwise it runs a portable, allocation-free blocked kernel:
/// op(B) is packed into strips of `Vector.scalarCount` columns held in 8 KiB
/// of stack, and a 6-row register-blocked micro-kernel reads op(A) in place.
/// Results of the portable kernel are bitwise independent of how the rows
/// of C are split between calls (Note [Gemm determinism]).
enum Gemm {
    /// Rows of C per micro-kernel call.
    static var microRows: Int { 6 }
    /// Depth of one k block (one packed strip of op(B) is `kBlock × lanes`).
    static var kBlock: Int { 256 }
    /// Rows of op(A) per row block (kept in L2 while every strip of B passes).
    static var rowBlock: Int { 144 }

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
    /// `transposeA`), keeping every leading dimension. On the portable path
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
    ///     `false` for the portable kernel and its determinism guarantee.
    /// - Complexity: O(m·n·k).
    static func multiply<T: TensorElement>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, useBLAS: Bool
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
        // Small products stay on the portable kernel: OpenBLAS's small-matrix
        // kernels allocate on every call (which would break allocation-free
        // re-execution), and at this size a call's overhead dominates anyway.
        if useBLAS, m * n * k >= Gemm.blasMinimumWork, let blas = BLAS.shared,
            blas.gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
        {
            return
        }
        // op(A)[i][p] = a[i * rowStride + p * depthStride].
        let rowStride = transposeA ? 1 : lda
        let depthStride = transposeA ? lda : 1
        if n == 1 {
            // op(B) is one column: op(B)[p][0] = b[p * (transposeB ? 1 : ldb)].
            let bStride = transposeB ? 1 : ldb
            if T.self == Float.self {
                matrixVector(
                    m: m, k: k, a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self),
                    rowStride: rowStride, depthStride: depthStride,
                    b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), bStride: bStride,
                    c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: ldc,
                    accumulate: accumulate)
                return
            } else if T.self == Double.self {
                matrixVector(
                    m: m, k: k, a: UnsafeRawPointer(a).assumingMemoryBound(to: Double.self),
                    rowStride: rowStride, depthStride: depthStride,
                    b: UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), bStride: bStride,
                    c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc: ldc,
                    accumulate: accumulate)
                return
            }
        }
        if T.self == Float.self {
            blocked(
                transposeB: transposeB, m: m, n: n, k: k,
                a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self),
                rowStride: rowStride, depthStride: depthStride,
                b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb,
                c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: ldc,
                accumulate: accumulate)
        } else if T.self == Double.self {
            blocked(
                transposeB: transposeB, m: m, n: n, k: k,
                a: UnsafeRawPointer(a).assumingMemoryBound(to: Double.self),
                rowStride: rowStride, depthStride: depthStride,
                b: UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb: ldb,
                c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc: ldc,
                accumulate: accumulate)
        } else {
            scalar(
                transposeB: transposeB, m: m, n: n, k: k,
                a: a, rowStride: rowStride, depthStride: depthStride, b: b, ldb: ldb,
                c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// The portable kernel for any other element type: one dot product per
    /// element, in the order of Note [Gemm determinism].
    private static func scalar<T: TensorElement>(
        transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, rowStride: Int, depthStride: Int,
        b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
    ) {
        let (bDepth, bColumn) = transposeB ? (1, ldb) : (ldb, 1)
        for i in 0..<m {
            for j in 0..<n {
                var s: T = accumulate ? c[i * ldc + j] : 0
                for p in 0..<k {
                    s = s + a[i * rowStride + p * depthStride] * b[p * bDepth + j * bColumn]
                }
                c[i * ldc + j] = s
            }
        }
    }

    /// A product with one column (a matrix–vector product, such as
    /// logistic regression's `x·w` and `xᵀ·g`): rows of C in the SIMD lanes,
    /// four vectors of rows at a time, so that no lane is padding and op(B)
    /// is neither packed nor repeated. Each lane is one element of C summed
    /// in ascending p with every product rounded, exactly as in
    /// Note [Gemm determinism], so the bits equal the blocked kernel's.
    /// When op(A) is stored transposed (`rowStride == 1`), a vector of rows
    /// is one load; otherwise its lanes are gathered.
    private static func matrixVector<S: GemmScalar>(
        m: Int, k: Int, a: UnsafePointer<S>, rowStride: Int, depthStride: Int,
        b: UnsafePointer<S>, bStride: Int, c: UnsafeMutablePointer<S>, ldc: Int, accumulate: Bool
    ) {
        let lanes = S.Vector.scalarCount
        @inline(__always) func load(_ i: Int, _ count: Int) -> S.Vector {
            var v = S.Vector()
            if accumulate { for l in 0..<count { v[l] = c[(i + l) * ldc] } }
            return v
        }
        @inline(__always) func store(_ v: S.Vector, _ i: Int, _ count: Int) {
            for l in 0..<count { c[(i + l) * ldc] = v[l] }
        }
        var i = 0
        if rowStride == 1 {
            // Rows are contiguous at each depth (op(A) stored transposed):
            // four vectors of rows, each one load per depth step.
            while i + 4 * lanes <= m {
                var c0 = load(i, lanes), c1 = load(i + lanes, lanes)
                var c2 = load(i + 2 * lanes, lanes), c3 = load(i + 3 * lanes, lanes)
                var pa = UnsafeRawPointer(a + i)
                var pb = b
                let step = depthStride * MemoryLayout<S>.stride
                let vector = MemoryLayout<S.Vector>.stride
                for _ in 0..<k {
                    let bp = pb.pointee
                    c0 = S.multiplyAdd(c0, bp, pa.loadUnaligned(as: S.Vector.self))
                    c1 = S.multiplyAdd(
                        c1, bp, pa.loadUnaligned(fromByteOffset: vector, as: S.Vector.self))
                    c2 = S.multiplyAdd(
                        c2, bp, pa.loadUnaligned(fromByteOffset: 2 * vector, as: S.Vector.self))
                    c3 = S.multiplyAdd(
                        c3, bp, pa.loadUnaligned(fromByteOffset: 3 * vector, as: S.Vector.self))
                    pa += step
                    pb += bStride
                }
                store(c0, i, lanes)
                store(c1, i + lanes, lanes)
                store(c2, i + 2 * lanes, lanes)
                store(c3, i + 3 * lanes, lanes)
                i += 4 * lanes
            }
        } else {
            // Rows are strided: four vectors of rows, lanes gathered from
            // row pointers that advance one depth step at a time (16 or 32
            // rows in flight: enough streams to keep memory busy when the
            // rows come from a large data set).
            while i + 4 * lanes <= m {
                var c0 = load(i, lanes), c1 = load(i + lanes, lanes)
                var c2 = load(i + 2 * lanes, lanes), c3 = load(i + 3 * lanes, lanes)
                var pa = a + i * rowStride
                var pb = b
                let block = lanes * rowStride
                for _ in 0..<k {
                    let bp = pb.pointee
                    var v0 = S.Vector(), v1 = S.Vector(), v2 = S.Vector(), v3 = S.Vector()
                    for l in 0..<lanes {
                        let r = l * rowStride
                        v0[l] = pa[r]
                        v1[l] = pa[block + r]
                        v2[l] = pa[2 * block + r]
                        v3[l] = pa[3 * block + r]
                    }
                    c0 = S.multiplyAdd(c0, bp, v0)
                    c1 = S.multiplyAdd(c1, bp, v1)
                    c2 = S.multiplyAdd(c2, bp, v2)
                    c3 = S.multiplyAdd(c3, bp, v3)
                    pa += depthStride
                    pb += bStride
                }
                store(c0, i, lanes)
                store(c1, i + lanes, lanes)
                store(c2, i + 2 * lanes, lanes)
                store(c3, i + 3 * lanes, lanes)
                i += 4 * lanes
            }
        }
        // The last rows, one vector at a time (rows past the end repeat the last).
        while i < m {
            let count = Swift.min(lanes, m - i)
            var c0 = load(i, count)
            var pa = a + i * rowStride
            var pb = b
            for _ in 0..<k {
                var v = S.Vector()
                for l in 0..<lanes { v[l] = pa[Swift.min(l, count - 1) * rowStride] }
                c0 = S.multiplyAdd(c0, pb.pointee, v)
                pa += depthStride
                pb += bStride
            }
            store(c0, i, count)
            i += count
        }
    }

    /// The blocked SIMD kernel: k blocks, then row blocks, then strips of
    /// op(B) `S.Vector.scalarCount` columns wide (packed once per row block),
    /// then micro-tiles of ``microRows`` rows.
    private static func blocked<S: GemmScalar>(
        transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<S>, rowStride: Int, depthStride: Int,
        b: UnsafePointer<S>, ldb: Int, c: UnsafeMutablePointer<S>, ldc: Int, accumulate: Bool
    ) {
        let lanes = S.Vector.scalarCount
        var scratch = PackedStrip()
        withUnsafeMutableBytes(of: &scratch) { strip in
            let packed = strip.baseAddress!
            assert(strip.count >= kBlock * lanes * MemoryLayout<S>.stride)
            var p0 = 0
            while p0 < k {
                let depth = Swift.min(kBlock, k - p0)
                let loadC = accumulate || p0 > 0
                var i0 = 0
                while i0 < m {
                    let rows = Swift.min(rowBlock, m - i0)
                    var j0 = 0
                    while j0 < n {
                        let cols = Swift.min(lanes, n - j0)
                        pack(
                            transposeB: transposeB, b: b, ldb: ldb, depth0: p0, depth: depth,
                            column0: j0, columns: cols, into: packed)
                        var i = i0
                        while i < i0 + rows {
                            microKernel(
                                depth: depth, rows: Swift.min(microRows, i0 + rows - i),
                                columns: cols,
                                a: a + i * rowStride + p0 * depthStride,
                                rowStride: rowStride, depthStride: depthStride,
                                packedB: UnsafeRawPointer(packed),
                                c: c + i * ldc + j0, ldc: ldc, loadC: loadC)
                            i += microRows
                        }
                        j0 += lanes
                    }
                    i0 += rows
                }
                p0 += depth
            }
        }
    }

    /// Copies op(B)[depth0 ..< depth0 + depth][column0 ..< column0 + columns]
    /// into `packed` as `depth` vectors of `lanes` elements, zero-padded on
    /// the right.
    @inline(__always)
    private static func pack<S: GemmScalar>(
        transposeB: Bool, b: UnsafePointer<S>, ldb: Int, depth0: Int, depth: Int,
        column0: Int, columns: Int, into packed: UnsafeMutableRawPointer
    ) {
        let lanes = S.Vector.scalarCount
        let vectorBytes = MemoryLayout<S.Vector>.stride
        let scalarBytes = MemoryLayout<S>.stride
        if !transposeB && columns == lanes {
            var source = b + depth0 * ldb + column0
            for p in 0..<depth {
                let v = UnsafeRawPointer(source).loadUnaligned(as: S.Vector.self)
                packed.storeBytes(of: v, toByteOffset: p * vectorBytes, as: S.Vector.self)
                source += ldb
            }
            return
        }
        if columns < lanes {
            packed.initializeMemory(as: UInt8.self, repeating: 0, count: depth * vectorBytes)
        }
        if transposeB {
            for j in 0..<columns {
                let source = b + (column0 + j) * ldb + depth0
                for p in 0..<depth {
                    packed.storeBytes(
                        of: source[p], toByteOffset: p * vectorBytes + j * scalarBytes,
                        as: S.self)
                }
            }
        } else {
            for p in 0..<depth {
                let source = b + (depth0 + p) * ldb + column0
                for j in 0..<columns {
                    packed.storeBytes(
                        of: source[j], toByteOffset: p * vectorBytes + j * scalarBytes,
                        as: S.self)
                }
            }
        }
    }

    /// C[0 ..< rows][0 ..< columns] = (loadC ? C : 0) + op(A)·(packed strip)
    /// over `depth` steps, for up to ``microRows`` rows held in six vector
    /// accumulators. Missing rows repeat the last real row of A; their
    /// accumulators are never stored.
    @inline(__always)
    private static func microKernel<S: GemmScalar>(
        depth: Int, rows: Int, columns: Int,
        a: UnsafePointer<S>, rowStride: Int, depthStride: Int,
        packedB: UnsafeRawPointer, c: UnsafeMutablePointer<S>, ldc: Int, loadC: Bool
    ) {
        let last = rows - 1
        var a0 = a
        var a1 = a + Swift.min(1, last) * rowStride
        var a2 = a + Swift.min(2, last) * rowStride
        var a3 = a + Swift.min(3, last) * rowStride
        var a4 = a + Swift.min(4, last) * rowStride
        var a5 = a + Swift.min(5, last) * rowStride
        var c0 = S.Vector()
        var c1 = S.Vector()
        var c2 = S.Vector()
        var c3 = S.Vector()
        var c4 = S.Vector()
        var c5 = S.Vector()
        if loadC {
            c0 = loadRow(c, columns)
            if rows > 1 { c1 = loadRow(c + ldc, columns) }
            if rows > 2 { c2 = loadRow(c + 2 * ldc, columns) }
            if rows > 3 { c3 = loadRow(c + 3 * ldc, columns) }
            if rows > 4 { c4 = loadRow(c + 4 * ldc, columns) }
            if rows > 5 { c5 = loadRow(c + 5 * ldc, columns) }
        }
        var bp = packedB
        let vectorBytes = MemoryLayout<S.Vector>.stride
        for _ in 0..<depth {
            let bv = bp.loadUnaligned(as: S.Vector.self)
            c0 = S.multiplyAdd(c0, a0.pointee, bv)
            c1 = S.multiplyAdd(c1, a1.pointee, bv)
            c2 = S.multiplyAdd(c2, a2.pointee, bv)
            c3 = S.multiplyAdd(c3, a3.pointee, bv)
            c4 = S.multiplyAdd(c4, a4.pointee, bv)
            c5 = S.multiplyAdd(c5, a5.pointee, bv)
            a0 += depthStride
            a1 += depthStride
            a2 += depthStride
            a3 += depthStride
            a4 += depthStride
            a5 += depthStride
            bp += vectorBytes
        }
        storeRow(c0, c, columns)
        if rows > 1 { storeRow(c1, c + ldc, columns) }
        if rows > 2 { storeRow(c2, c + 2 * ldc, columns) }
        if rows > 3 { storeRow(c3, c + 3 * ldc, columns) }
        if rows > 4 { storeRow(c4, c + 4 * ldc, columns) }
        if rows > 5 { storeRow(c5, c + 5 * ldc, columns) }
    }

    /// The first `columns` elements at `row` in the low lanes, zeros above.
    @inline(__always)
    private static func loadRow<S: GemmScalar>(
        _ row: UnsafeMutablePointer<S>, _ columns: Int
    ) -> S.Vector {
        if columns == S.Vector.scalarCount {
            return UnsafeRawPointer(row).loadUnaligned(as: S.Vector.self)
        }
        var v = S.Vector()
        for j in 0..<columns { v[j] = row[j] }
        return v
    }

    /// Stores the low `columns` lanes of `v` at `row`.
    @inline(__always)
    private static func storeRow<S: GemmScalar>(
        _ v: S.Vector, _ row: UnsafeMutablePointer<S>, _ columns: Int
    ) {
        if columns == S.Vector.scalarCount {
            UnsafeMutableRawPointer(row).storeBytes(of: v, as: S.Vector.self)
            return
        }
        for j in 0..<columns { row[j] = v[j] }
    }
}

/// 8 KiB of stack for one packed strip of op(B) (`Gemm.kBlock` rows of
/// 8 floats or 4 doubles). A plain stored tuple, because
/// `withUnsafeTemporaryAllocation` falls back to the heap for anything
/// over 1 KiB on Linux, and this kernel must not allocate.
private struct PackedStrip {
    private typealias Line = SIMD64<Float>  // 256 bytes
    private typealias Quad<X> = (X, X, X, X)
    private var storage: (Quad<Quad<Line>>, Quad<Quad<Line>>)

    init() {
        let line = Line()
        let quad = (line, line, line, line)
        let block = (quad, quad, quad, quad)
        storage = (block, block)
    }
}
