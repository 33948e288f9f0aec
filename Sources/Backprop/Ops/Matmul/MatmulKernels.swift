// Ranged matrix products. Forward units are rows of C (batch·m of them);
// VJP units are rows of the destination: dA = G·Bᵀ and dB = Aᵀ·G, per
// batch, and summed over batches (in batch order) for an operand shared by
// every batch. Rows never overlap between chunks.

enum MatmulKernels {
    static func forward<T>(_ g: MatmulGeometry, _ io: KernelIO<T>, _ r: Range<Int>, useBLAS: Bool) {
        let a = io.x(0), b = io.x(1), c = io.y
        forEachBatchRun(rows: g.m, r) { t, row, count in
            Gemm.multiply(
                transposeA: false, transposeB: false, m: count, n: g.n, k: g.k,
                a: a + (g.aBatched ? t * g.m * g.k : 0) + row * g.k, lda: g.k,
                b: b + (g.bBatched ? t * g.k * g.n : 0), ldb: g.n,
                c: c + (t * g.m + row) * g.n, ldc: g.n, accumulate: false, useBLAS: useBLAS)
        }
    }

    /// The number of destination rows for the VJP of `slot`.
    static func vjpRows(_ g: MatmulGeometry, slot: Int) -> Int {
        slot == 0 ? (g.aBatched ? g.batch : 1) * g.m : (g.bBatched ? g.batch : 1) * g.k
    }

    static func vjp<T>(
        _ g: MatmulGeometry, slot: Int, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>,
        useBLAS: Bool
    ) {
        let a = io.x(0), b = io.x(1), cot = t.g
        if slot == 0 {
            // dA[t][i, :] = G[t][i, :] · B[t]ᵀ
            let batched = g.aBatched
            forEachBatchRun(rows: g.m, r) { s, row, count in
                let contributing = batches(g, shared: !batched, s)
                for batch in contributing {
                    Gemm.multiply(
                        transposeA: false, transposeB: true, m: count, n: g.k, k: g.n,
                        a: cot + (batch * g.m + row) * g.n, lda: g.n,
                        b: b + (g.bBatched ? batch * g.k * g.n : 0), ldb: g.n,
                        c: t.dest + (s * g.m + row) * g.k, ldc: g.k,
                        accumulate: t.accumulate || batch > contributing.lowerBound,
                        useBLAS: useBLAS)
                }
            }
        } else {
            // dB[t][p, :] = A[t][:, p]ᵀ · G[t]
            let batched = g.bBatched
            forEachBatchRun(rows: g.k, r) { s, row, count in
                let contributing = batches(g, shared: !batched, s)
                for batch in contributing {
                    Gemm.multiply(
                        transposeA: true, transposeB: false, m: count, n: g.n, k: g.m,
                        a: a + (g.aBatched ? batch * g.m * g.k : 0) + row, lda: g.k,
                        b: cot + batch * g.m * g.n, ldb: g.n,
                        c: t.dest + (s * g.k + row) * g.n, ldc: g.n,
                        accumulate: t.accumulate || batch > contributing.lowerBound,
                        useBLAS: useBLAS)
                }
            }
        }
    }

    /// The batches contributing to destination batch `s`: all of them, in
    /// order, for a shared operand; else batch s alone.
    @inline(__always)
    private static func batches(_ g: MatmulGeometry, shared: Bool, _ s: Int) -> Range<Int> {
        shared ? 0..<g.batch : s..<(s + 1)
    }

    /// Splits a range of flattened rows (batch-major, `rows` per batch) into
    /// runs within one batch: `body(batch, firstRow, rowCount)`.
    @inline(__always)
    private static func forEachBatchRun(rows: Int, _ r: Range<Int>, _ body: (Int, Int, Int) -> Void)
    {
        var k = r.lowerBound
        while k < r.upperBound {
            let batch = k / rows, row = k % rows
            let count = Swift.min(rows - row, r.upperBound - k)
            body(batch, row, count)
            k += count
        }
    }
}
