// Matrix product. Bilinear, so the VJP is two one-sided rules:
//   ∂/∂A: G · Bᵀ        ∂/∂B: Aᵀ · G
// For batched operands the rules apply per batch; an operand shared by
// every batch (rank 2 against rank 3, or batch extent 1) receives the sum
// of its per-batch contributions.

/// The geometry of a (batched) matrix product `[b?, m, k] · [b?, k, n]`.
struct MatmulGeometry {
    let m: Int, k: Int, n: Int
    /// Batches in the output (1 for rank-2 operands).
    let batch: Int
    /// Whether each operand has one matrix per batch (else one shared matrix).
    let aBatched: Bool, bBatched: Bool
    let output: Shape

    init(_ a: Shape, _ b: Shape) throws(ShapeRuleError) {
        guard (2...3).contains(a.rank), (2...3).contains(b.rank) else {
            throw .mismatch("matmul needs rank-2 or rank-3 operands, got \(a) and \(b)")
        }
        let ab = a.rank == 3 ? a[0] : 1
        let bb = b.rank == 3 ? b[0] : 1
        guard ab == bb || ab == 1 || bb == 1 else {
            throw .mismatch("matmul batch extents differ: \(a) and \(b)")
        }
        m = a[a.rank - 2]
        k = a[a.rank - 1]
        n = b[b.rank - 1]
        guard b[b.rank - 2] == k else {
            throw .mismatch("matmul inner extents differ: \(a) · \(b)")
        }
        batch = Swift.max(ab, bb)
        aBatched = ab > 1
        bBatched = bb > 1
        output = Swift.max(a.rank, b.rank) == 3 ? [batch, m, n] : [m, n]
    }
}

enum Matmul {
    /// C[t] (+)= op(A[t]) · op(B[t]) over plain arrays; `transposeA`/`transposeB`
    /// read the stored matrix transposed. `rows × inner` times `inner × cols`.
    static func gemm<T: TensorElement>(
        _ a: [T], _ aOffset: Int, transposeA: Bool,
        _ b: [T], _ bOffset: Int, transposeB: Bool,
        into c: inout [T], _ cOffset: Int, rows: Int, inner: Int, cols: Int
    ) {
        for i in 0..<rows {
            for p in 0..<inner {
                let av = transposeA ? a[aOffset + p * rows + i] : a[aOffset + i * inner + p]
                for j in 0..<cols {
                    let bv = transposeB ? b[bOffset + j * inner + p] : b[bOffset + p * cols + j]
                    c[cOffset + i * cols + j] += av * bv
                }
            }
        }
    }

    static func forward<T>(_ a: Tensor<T>, _ b: Tensor<T>, _ g: MatmulGeometry) -> Tensor<T> {
        var out = [T](repeating: 0, count: g.output.count)
        for t in 0..<g.batch {
            gemm(
                a.scalars, g.aBatched ? t * g.m * g.k : 0, transposeA: false,
                b.scalars, g.bBatched ? t * g.k * g.n : 0, transposeB: false,
                into: &out, t * g.m * g.n, rows: g.m, inner: g.k, cols: g.n)
        }
        return Tensor(uncheckedShape: g.output, scalars: out)
    }

    static func vjp<T>(
        _ a: Tensor<T>, _ b: Tensor<T>, cotangent: Tensor<T>, _ g: MatmulGeometry
    ) -> [Tensor<T>?] {
        var da = [T](repeating: 0, count: a.count)
        var db = [T](repeating: 0, count: b.count)
        for t in 0..<g.batch {
            let aOff = g.aBatched ? t * g.m * g.k : 0
            let bOff = g.bBatched ? t * g.k * g.n : 0
            let cOff = t * g.m * g.n
            // dA[t] += G[t] · B[t]ᵀ   (m × n) · (n × k)
            gemm(
                cotangent.scalars, cOff, transposeA: false, b.scalars, bOff, transposeB: true,
                into: &da, aOff, rows: g.m, inner: g.n, cols: g.k)
            // dB[t] += A[t]ᵀ · G[t]   (k × m) · (m × n)
            gemm(
                a.scalars, aOff, transposeA: true, cotangent.scalars, cOff, transposeB: false,
                into: &db, bOff, rows: g.k, inner: g.m, cols: g.n)
        }
        return [
            Tensor(uncheckedShape: a.shape, scalars: da),
            Tensor(uncheckedShape: b.shape, scalars: db),
        ]
    }
}
