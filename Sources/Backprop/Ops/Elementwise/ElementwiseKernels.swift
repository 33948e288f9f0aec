// Ranged elementwise kernels: unary functions and binary functions with
// broadcasting; forward and VJP side by side.
// Work units are output elements (forward) and destination elements (VJP).
// A broadcast operand's VJP sums, for each of its elements, over the output
// positions it was broadcast to, in row-major order: the order is fixed by
// the shapes alone, so any chunking gives the same bits.

enum ElementwiseKernels {
    // MARK: unary

    static func unaryForward<T>(_ f: UnaryFunction, _ io: KernelIO<T>, _ r: Range<Int>) {
        let x = io.x(0), y = io.y
        switch f {
        case .neg: for e in r { y[e] = -x[e] }
        case .relu: for e in r { y[e] = x[e] > 0 || x[e].isNaN ? x[e] : 0 }
        case .abs: for e in r { y[e] = Swift.abs(x[e]) }
        case .sqrt: for e in r { y[e] = x[e].squareRoot() }
        case .pow(2): for e in r { y[e] = x[e] * x[e] }
        default:
            // exp, log, tanh, sigmoid, sin, cos and pow: the vector kernels
            // (Kernels/VectorMath.swift); pow's exact powers (0, 1, −1)
            // via `power`.
            if !r.isEmpty,
                VectorMath.apply(f, x: x + r.lowerBound, y: y + r.lowerBound, count: r.count)
            {
                return
            }
            for e in r { y[e] = f.apply(x[e]) }
        }
    }

    static func unaryVJP<T>(
        _ f: UnaryFunction, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        let x = io.x(0), y = io.y, g = t.g
        switch f {
        case .neg: for e in r { t.store(e, -g[e]) }
        case .exp: for e in r { t.store(e, g[e] * y[e]) }
        case .tanh: for e in r { t.store(e, g[e] * (1 - y[e] * y[e])) }
        case .sigmoid: for e in r { t.store(e, g[e] * y[e] * (1 - y[e])) }
        case .relu: for e in r { t.store(e, x[e] > 0 ? g[e] : 0) }
        // Each case reads only what `NodeKernel.vjpReads` declares (the
        // other buffer may already hold something else).
        case .sqrt: for e in r { t.store(e, g[e] / (2 * y[e])) }
        case .sin: derivativeVJP(.cos, x, g, t, r) { g, c in g * c }
        case .cos: derivativeVJP(.sin, x, g, t, r) { g, s in -g * s }
        case .pow(0): for e in r { t.store(e, 0) }
        case .pow(let p):
            // g·p·x^(p−1), x^(p−1) as `power` would (its exact powers
            // included) by the vector kernel.
            let tp = T(p)
            derivativeVJP(.pow(p - 1), x, g, t, r) { g, d in g * tp * d }
        case .log, .abs:
            for e in r { t.store(e, f.pullback(x: x[e], y: 0, g: g[e])) }
        }
    }

    /// The VJP of sin, cos or pow: `derivative` (cos, sin or x^(p−1)) of x
    /// by the vector kernels into a stack block, then
    /// `rule(g, derivative(x))` stored.
    @inline(__always)
    static func derivativeVJP<T>(
        _ derivative: UnaryFunction, _ x: UnsafePointer<T>, _ g: UnsafePointer<T>,
        _ t: VJPTarget<T>, _ r: Range<Int>, _ rule: (T, T) -> T
    ) {
        // 1 KiB at most: within the size the standard library puts on the
        // stack without asking the OS (no allocation on the hot path).
        let block = 1024 / MemoryLayout<T>.stride
        withUnsafeTemporaryAllocation(of: T.self, capacity: block) { buffer in
            let d = buffer.baseAddress!
            var start = r.lowerBound
            while start < r.upperBound {
                let n = min(block, r.upperBound - start)
                if !VectorMath.apply(derivative, x: x + start, y: d, count: n) {
                    for k in 0..<n { d[k] = derivative.apply(x[start + k]) }
                }
                for k in 0..<n { t.store(start + k, rule(g[start + k], d[k])) }
                start += n
            }
        }
    }

    // MARK: binary

    static func binaryForward<T>(
        _ f: BinaryFunction, _ b: Broadcast2, _ io: KernelIO<T>, _ r: Range<Int>
    ) {
        let x0 = io.x(0), x1 = io.x(1), y = io.y
        if b.same {
            switch f {
            case .add: for e in r { y[e] = x0[e] + x1[e] }
            case .sub: for e in r { y[e] = x0[e] - x1[e] }
            case .mul: for e in r { y[e] = x0[e] * x1[e] }
            case .div: for e in r { y[e] = x0[e] / x1[e] }
            }
            return
        }
        stridedLoop(b.out, r, b.sa, b.sb) { k, oa, ob in y[k] = f.apply(x0[oa], x1[ob]) }
    }

    static func binaryVJP<T>(
        _ f: BinaryFunction, _ b: Broadcast2, slot: Int, _ io: KernelIO<T>, _ t: VJPTarget<T>,
        _ r: Range<Int>
    ) {
        let other = io.x(1 - slot), own = io.x(slot), y = UnsafePointer(io.y), g = t.g
        // The contribution to destination element e from output position q
        // (offset og into g and y, offset oo into the other operand).
        @inline(__always) func term(_ e: Int, _ og: Int, _ oo: Int) -> T {
            switch (f, slot) {
            case (.add, _), (.sub, 0): return g[og]
            case (.sub, _): return -g[og]
            case (.mul, _): return g[og] * other[oo]
            case (.div, 0): return g[og] / other[oo]
            case (.div, _): return -g[og] * (y[og] / own[e])
            }
        }
        reduceToOperand(b, slot: slot, t, r, term)
    }

    /// Writes, for each destination element e of operand `slot`, the sum of
    /// `term(e, og, oo)` over the output positions broadcast from it.
    @inline(__always)
    static func reduceToOperand<T>(
        _ b: Broadcast2, slot: Int, _ t: VJPTarget<T>, _ r: Range<Int>, _ term: (Int, Int, Int) -> T
    ) {
        let dims = slot == 0 ? b.a : b.b
        let summed = slot == 0 ? b.summedA : b.summedB
        let otherStrides = slot == 0 ? b.sb : b.sa
        if summed.count == 1 && dims == b.out {
            // Same shape as the output: position e of both.
            stridedLoop(b.out, r, b.out.strides, otherStrides) { e, og, oo in
                t.store(e, term(e, og, oo))
            }
            return
        }
        let gStrides = b.out.strides
        let set = SummedSet(summed, gStrides, otherStrides)
        for e in r {
            t.store(
                e,
                sumOverBroadcast(dims.index(of: e), set, gStrides, otherStrides) { og, oo in
                    term(e, og, oo)
                })
        }
    }
}
