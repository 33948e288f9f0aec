import CKernels

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
        case .neg: map(x, y, r) { -$0 }
        case .relu: reluForward(x, y, r)
        case .abs: map(x, y, r) { Swift.abs($0) }
        case .sqrt: map(x, y, r) { $0.squareRoot() }
        case .pow(2): map(x, y, r) { $0 * $0 }
        default:
            // exp, log, tanh, sigmoid, sin, cos and pow: the vector kernels
            // (Kernels/VectorMath.swift); pow's exact powers (0, 1, −1)
            // via `power`.
            if !r.isEmpty,
                VectorMath.apply(f, x: x + r.lowerBound, y: y + r.lowerBound, count: r.count)
            {
                return
            }
            map(x, y, r) { f.apply($0) }
        }
    }

    /// ReLU: v when positive or NaN (`!(v <= 0)`), else +0, by the C loop
    /// in explicit vectors (`CKElementwise.h`): in place (y is x), the
    /// compiler turned the Swift loop into a scalar one with a
    /// conditional store (S5's profile: 18%).
    @inline(__always)
    static func reluForward<T: TensorElement>(
        _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ r: Range<Int>
    ) {
        guard !r.isEmpty else { return }
        let (xs, ys, n) = (
            UnsafeRawPointer(x + r.lowerBound), UnsafeMutableRawPointer(y + r.lowerBound), r.count
        )
        if T.self == Float.self {
            ck_relu_f32(
                xs.assumingMemoryBound(to: Float.self), ys.assumingMemoryBound(to: Float.self), n)
        } else if T.self == Double.self {
            ck_relu_f64(
                xs.assumingMemoryBound(to: Double.self), ys.assumingMemoryBound(to: Double.self), n)
        } else {
            map(x, y, r) { v in !(v <= 0) ? v : 0 }
        }
    }

    /// ReLU's VJP from its output: g where y > 0, else +0. Overwriting, by
    /// the C loop in explicit vectors (in place, g the destination, a
    /// Swift loop became a conditional scalar store); adding, a plain loop
    /// (both loads first: a load under a branch kept it scalar).
    @inline(__always)
    static func reluVJP<T: TensorElement>(
        _ y: UnsafePointer<T>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        guard !r.isEmpty else { return }
        let (lo, n) = (r.lowerBound, r.count)
        if !t.accumulate && T.self == Float.self {
            ck_relu_vjp_f32(
                UnsafeRawPointer(y + lo).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(t.g + lo).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(t.dest + lo).assumingMemoryBound(to: Float.self), n)
        } else if !t.accumulate && T.self == Double.self {
            ck_relu_vjp_f64(
                UnsafeRawPointer(y + lo).assumingMemoryBound(to: Double.self),
                UnsafeRawPointer(t.g + lo).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(t.dest + lo).assumingMemoryBound(to: Double.self), n)
        } else {
            let g = t.g
            t.storeEach(r) { e in
                let (v, d) = (y[e], g[e])
                return v > 0 ? d : 0
            }
        }
    }

    /// y[e] = f(x[e]) for e in `r`. When y is x (a node computed in place,
    /// Note [In-place chains]) the loop reads and writes through y alone:
    /// with two pointers the vectoriser's overlap check fails at run time
    /// and falls back to its scalar loop.
    @inline(__always)
    static func map<T>(
        _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ r: Range<Int>, _ f: (T) -> T
    ) {
        if UnsafePointer(y) == x {
            for e in r { y[e] = f(y[e]) }
        } else {
            for e in r { y[e] = f(x[e]) }
        }
    }

    /// y[e] = op(a[e], c[e]) for e in `r`, through y alone for an operand
    /// that is y (as ``map(_:_:_:_:)``).
    @inline(__always)
    static func zip<T>(
        _ a: UnsafePointer<T>, _ c: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
        _ r: Range<Int>, _ op: (T, T) -> T
    ) {
        if UnsafePointer(y) == a {
            for e in r { y[e] = op(y[e], c[e]) }
        } else if UnsafePointer(y) == c {
            for e in r { y[e] = op(a[e], y[e]) }
        } else {
            for e in r { y[e] = op(a[e], c[e]) }
        }
    }

    static func unaryVJP<T>(
        _ f: UnaryFunction, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        let x = io.x(0), y = io.y, g = t.g
        switch f {
        // g may be the destination itself (Note [In-place gradients]):
        // `storeEach(fromG:)` keeps those loops vectorised.
        case .neg: t.storeEach(fromG: r) { g, _ in -g }
        case .exp: t.storeEach(fromG: r) { g, e in g * y[e] }
        case .tanh: t.storeEach(fromG: r) { g, e in g * (1 - y[e] * y[e]) }
        case .sigmoid: t.storeEach(fromG: r) { g, e in g * y[e] * (1 - y[e]) }
        case .relu:
            // From the output: y > 0 exactly where x > 0 (y is x there, 0 or
            // NaN elsewhere), so the input's buffer may be overwritten
            // (Note [In-place chains]).
            reluVJP(y, t, r)
        // Each case reads only what `NodeKernel.vjpReads` declares (the
        // other buffer may already hold something else).
        case .sqrt: t.storeEach(fromG: r) { g, e in g / (2 * y[e]) }
        case .sin: derivativeVJP(.cos, x, g, t, r) { g, c in g * c }
        case .cos: derivativeVJP(.sin, x, g, t, r) { g, s in -g * s }
        case .pow(0): t.storeEach(r) { _ in 0 }
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
        inBlocks(r, blocks: 1) { start, n, d, _ in
            if !VectorMath.apply(derivative, x: x + start, y: d, count: n) {
                for k in 0..<n { d[k] = derivative.apply(x[start + k]) }
            }
            for k in 0..<n { t.store(start + k, rule(g[start + k], d[k])) }
        }
    }

    /// Runs `body(start, count, block0, block1)` over `r`, a stack block's
    /// worth at a time: 1 KiB in all, within the size the standard library
    /// puts on the stack without asking the OS (no allocation on the hot
    /// path), split into `blocks` (1 or 2; with 1, `block1` aliases
    /// `block0`). For kernels that run the vector math into a scratch
    /// block: its results do not depend on where a block starts.
    @inline(__always)
    static func inBlocks<T>(
        _ r: Range<Int>, blocks: Int,
        _ body: (Int, Int, UnsafeMutablePointer<T>, UnsafeMutablePointer<T>) -> Void
    ) {
        let block = 1024 / blocks / MemoryLayout<T>.stride
        withUnsafeTemporaryAllocation(of: T.self, capacity: blocks * block) { buffer in
            let first = buffer.baseAddress!
            let second = blocks > 1 ? first + block : first
            var start = r.lowerBound
            while start < r.upperBound {
                let n = Swift.min(block, r.upperBound - start)
                body(start, n, first, second)
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
            case .add: zip(x0, x1, y, r) { $0 + $1 }
            case .sub: zip(x0, x1, y, r) { $0 - $1 }
            case .mul: zip(x0, x1, y, r) { $0 * $1 }
            case .div: zip(x0, x1, y, r) { $0 / $1 }
            }
            return
        }
        // Broadcasting: run by run along the innermost axis, one loop per
        // function and inner-stride pattern (a bias row: both contiguous; a
        // per-row scalar: one operand fixed), so the loops vectorise.
        let (ia, ib) = (b.sa[3], b.sb[3])
        stridedRuns(b.out, r, b.sa, b.sb) { k, oa, ob, n in
            let (a, c, out) = (x0 + oa, x1 + ob, y + k)
            switch f {
            case .add: binaryRun(out, a, ia, c, ib, n) { $0 + $1 }
            case .sub: binaryRun(out, a, ia, c, ib, n) { $0 - $1 }
            case .mul: binaryRun(out, a, ia, c, ib, n) { $0 * $1 }
            case .div: binaryRun(out, a, ia, c, ib, n) { $0 / $1 }
            }
        }
    }

    /// `out[i] = op(a[i·ia], c[i·ib])` for `i` in `0..<n`, with the common
    /// stride patterns as plain loops.
    @inline(__always)
    static func binaryRun<T>(
        _ out: UnsafeMutablePointer<T>, _ a: UnsafePointer<T>, _ ia: Int, _ c: UnsafePointer<T>,
        _ ib: Int, _ n: Int, _ op: (T, T) -> T
    ) {
        if ia == 1 && ib == 1 {
            zip(a, c, out, 0..<n, op)
        } else if ia == 1 && ib == 0 {
            let v = c[0]
            map(a, out, 0..<n) { op($0, v) }
        } else if ia == 0 && ib == 1 {
            let v = a[0]
            map(c, out, 0..<n) { op(v, $0) }
        } else {
            for i in 0..<n { out[i] = op(a[i * ia], c[i * ib]) }
        }
    }

    static func binaryVJP<T>(
        _ f: BinaryFunction, _ b: Broadcast2, slot: Int, _ io: KernelIO<T>, _ t: VJPTarget<T>,
        _ r: Range<Int>
    ) {
        let other = io.x(1 - slot), own = io.x(slot), y = UnsafePointer(io.y), g = t.g
        if b.same {
            // Same shapes: element e of everything, in plain loops.
            switch (f, slot) {
            case (.add, _), (.sub, 0): t.storeEach(r) { g[$0] }
            case (.sub, _): t.storeEach(r) { -g[$0] }
            case (.mul, _): t.storeEach(r) { g[$0] * other[$0] }
            case (.div, 0): t.storeEach(r) { g[$0] / other[$0] }
            case (.div, _): t.storeEach(r) { -g[$0] * (y[$0] / own[$0]) }
            }
            return
        }
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
        if (slot == 0 ? b.a : b.b) == b.out {
            // This operand has the output's shape (the other is broadcast):
            // destination element e is output position e.
            switch (f, slot) {
            case (.add, _), (.sub, 0):
                t.storeEach(r) { g[$0] }
                return
            case (.sub, _):
                t.storeEach(r) { -g[$0] }
                return
            case (.mul, _):
                let otherStrides = slot == 0 ? b.sb : b.sa
                let step = otherStrides[3]
                stridedRuns(b.out, r, otherStrides, .zero) { e, oo, _, n in
                    let (d, gg, o) = (t.dest + e, g + e, other + oo)
                    if step == 0 {
                        let v = o[0]
                        VJPTarget(g: gg, dest: d, accumulate: t.accumulate).storeEach(0..<n) {
                            gg[$0] * v
                        }
                    } else {
                        VJPTarget(g: gg, dest: d, accumulate: t.accumulate).storeEach(0..<n) {
                            gg[$0] * o[$0 * step]
                        }
                    }
                }
                return
            case (.div, _): break
            }
        }
        if f == .add || f == .sub, let rows = b.leadingRows(slot: slot) {
            // A bias: the operand is the output's trailing axes, broadcast
            // over `rows` leading rows; its gradient is ±(column sums of g),
            // the bits of the general path below.
            let n = (slot == 0 ? b.a : b.b).count
            if f == .sub && slot == 1 {
                Summation.columnSums(g, rows: rows, columns: n, r) { t.store($0, -$1) }
            } else {
                Summation.columnSums(g, rows: rows, columns: n, r) { t.store($0, $1) }
            }
            return
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
