// Ranged reductions. Forward work units are output elements: each sums its
// reduced set in the blocked pairwise order of Note [Summation order] (or
// maximises it in row-major order), so the result of an element never
// depends on how the output was chunked. The VJP's units are input
// elements, each reading the cotangent of the output it folded into.

enum ReductionKernels {
    static func forward<T>(
        _ r: Reduction, _ geo: ReductionStrides, _ io: KernelIO<T>, _ range: Range<Int>
    ) {
        let x = io.x(0), y = io.y
        let set = SummedSet(geo.reduced, geo.inputStrides)
        for o in range {
            let base = dot(geo.kept.index(of: o), geo.inputStrides)
            switch r {
            case .sum, .mean:
                let acc = Summation.wideSum(set, 0..<geo.reducedCount) { off, _ in
                    x[base + off]
                }
                // mean: divided before the one rounding.
                y[o] = T(r == .mean ? acc / Double(geo.reducedCount) : acc)
            case .max:
                var m = -T.infinity
                var ties: T = 0
                stridedLoop(geo.reduced, 0..<geo.reducedCount, geo.inputStrides, .zero) {
                    _, off, _ in fold(&m, &ties, x[base + off], 1)
                }
                y[o] = m
                io.aux![o] = ties
            }
        }
    }

    /// Stage 1 of a two-stage reduction: unit u = o·blocks + b folds block b
    /// of output o's reduced set (row-major positions
    /// `b·n/blocks ..< (b+1)·n/blocks`, summed in the order of
    /// Note [Summation order] from the block's first position) into
    /// `partials[u]` (max: the maximum at `2u` and its tie count at `2u + 1`).
    static func partials<T>(
        _ r: Reduction, _ geo: ReductionStrides, _ io: KernelIO<T>,
        _ partials: UnsafeMutablePointer<T>,
        blocks: Int, _ range: Range<Int>
    ) {
        let x = io.x(0)
        let n = geo.reducedCount
        let set = SummedSet(geo.reduced, geo.inputStrides)
        for u in range {
            let o = u / blocks, b = u % blocks
            let base = dot(geo.kept.index(of: o), geo.inputStrides)
            let positions = (b * n / blocks)..<((b + 1) * n / blocks)
            switch r {
            case .sum, .mean:
                partials[u] = Summation.sum(set, positions) { off, _ in
                    x[base + off]
                }
            case .max:
                var m = -T.infinity
                var ties: T = 0
                stridedLoop(geo.reduced, positions, geo.inputStrides, .zero) { _, off, _ in
                    fold(&m, &ties, x[base + off], 1)
                }
                partials[2 * u] = m
                partials[2 * u + 1] = ties
            }
        }
    }

    /// Stage 2: output o folds its partials in block order (sums: in the
    /// order of Note [Summation order], in float64; a mean divides before
    /// rounding).
    static func combine<T>(
        _ r: Reduction, _ geo: ReductionStrides, _ io: KernelIO<T>,
        _ partials: UnsafeMutablePointer<T>,
        blocks: Int, _ range: Range<Int>
    ) {
        let y = io.y
        for o in range {
            switch r {
            case .sum, .mean:
                let first = o * blocks
                let acc: Double = Summation.wideSum(
                    SummedSet(Dims4(extents: SIMD4(1, 1, 1, blocks)), SIMD4(0, 0, 0, 1)), 0..<blocks
                ) { b, _ in partials[first + b] }
                y[o] = T(r == .mean ? acc / Double(geo.reducedCount) : acc)
            case .max:
                var m = -T.infinity
                var ties: T = 0
                for b in 0..<blocks {
                    let u = o * blocks + b
                    fold(&m, &ties, partials[2 * u], partials[2 * u + 1])
                }
                y[o] = m
                io.aux![o] = ties
            }
        }
    }

    /// Folds a value seen `count` times into a running maximum and its tie
    /// count; NaN, once seen, wins.
    @inline(__always)
    static func fold<T: TensorElement>(_ m: inout T, _ ties: inout T, _ v: T, _ count: T) {
        if v > m || v.isNaN && !m.isNaN {
            m = v
            ties = count
        } else if v == m {
            ties += count
        }
    }

    static func vjp<T>(
        _ r: Reduction, _ geo: ReductionStrides, _ io: KernelIO<T>, _ t: VJPTarget<T>,
        _ range: Range<Int>
    ) {
        let g = t.g
        if r != .max && geo.outputStrides == .zero {
            // A reduction to one value (a loss's mean): every element gets
            // the same g (or g / n), a plain fill.
            let v = r == .sum ? g[0] : g[0] / T(geo.reducedCount)
            t.storeEach(range) { _ in v }
            return
        }
        switch r {
        case .sum:
            stridedLoop(geo.input, range, geo.outputStrides, .zero) { e, o, _ in t.store(e, g[o]) }
        case .mean:
            let n = T(geo.reducedCount)
            stridedLoop(geo.input, range, geo.outputStrides, .zero) { e, o, _ in
                t.store(e, g[o] / n)
            }
        case .max:
            let x = io.x(0), y = io.y, ties = io.aux!
            stridedLoop(geo.input, range, geo.outputStrides, .zero) { e, o, _ in
                t.store(e, x[e] == y[o] ? g[o] / ties[o] : 0)
            }
        }
    }
}
