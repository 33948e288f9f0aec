// Ranged reductions. Forward work units are output elements: each sums
// (or maximises) its reduced set in row-major order, so the result of an
// element never depends on how the output was chunked. The VJP's units are
// input elements, each reading the cotangent of the output it folded into.

enum ReductionKernels {
    static func forward<T>(
        _ r: Reduction, _ geo: ReduceGeometry, _ io: KernelIO<T>, _ range: Range<Int>
    ) {
        let x = io.x(0), y = io.y
        for o in range {
            let base = dot(geo.kept.index(of: o), geo.inputStrides)
            switch r {
            case .sum, .mean:
                var acc: T = 0
                stridedLoop(geo.reduced, 0..<geo.reducedCount, geo.inputStrides, .zero) {
                    _, off, _ in
                    acc += x[base + off]
                }
                y[o] = r == .mean ? acc / T(geo.reducedCount) : acc
            case .max:
                var m = -T.infinity
                var ties: T = 0
                stridedLoop(geo.reduced, 0..<geo.reducedCount, geo.inputStrides, .zero) {
                    _, off, _ in
                    let v = x[base + off]
                    if v > m || v.isNaN && !m.isNaN {
                        m = v
                        ties = 1
                    } else if v == m {
                        ties += 1
                    }
                }
                y[o] = m
                io.aux![o] = ties
            }
        }
    }

    static func vjp<T>(
        _ r: Reduction, _ geo: ReduceGeometry, _ io: KernelIO<T>, _ t: VJPTarget<T>,
        _ range: Range<Int>
    ) {
        let g = t.g
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
