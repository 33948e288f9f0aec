// Ranged softmax, log_softmax, cross_entropy and sigmoid_cross_entropy.
// Units are lanes (softmax), examples (cross_entropy) and elements
// (sigmoid_cross_entropy, which broadcasts like a binary elementwise op and
// shares its VJP's reduction to an operand); every lane is computed whole
// by one chunk, with the stable formulas of Losses.swift, and every lane sum
// in the blocked pairwise order of Note [Summation order].

enum LossKernels {
    @inline(__always)
    private static func lane(_ view: AxisView, _ l: Int) -> (base: Int, stride: Int) {
        ((l / view.inner) * view.length * view.inner + l % view.inner, view.inner)
    }

    static func softmaxForward<T>(_ view: AxisView, log: Bool, _ io: KernelIO<T>, _ r: Range<Int>) {
        let x = io.x(0), y = io.y
        for l in r {
            let (base, stride) = lane(view, l)
            let lse = Losses.logSumExp(x, base: base, stride: stride, length: view.length)
            for j in 0..<view.length {
                let z = x[base + j * stride] - lse
                y[base + j * stride] = log ? z : T.exp(z)
            }
        }
    }

    static func softmaxVJP<T>(
        _ view: AxisView, log: Bool, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        let y = io.y, g = t.g
        for l in r {
            let (base, stride) = lane(view, l)
            let dot: T =
                log
                ? Summation.sum(count: view.length) { j in g[base + j * stride] }
                : Summation.sum(count: view.length) { j in
                    g[base + j * stride] * y[base + j * stride]
                }
            for j in 0..<view.length {
                let k = base + j * stride
                t.store(k, log ? g[k] - T.exp(y[k]) * dot : y[k] * (g[k] - dot))
            }
        }
    }

    static func crossEntropyForward<T>(classes: Int, _ io: KernelIO<T>, _ r: Range<Int>)
        throws(KernelFailure)
    {
        let z = io.x(0), labels = io.x(1), y = io.y
        for e in r {
            guard Losses.classIndex(labels[e], classes: classes) != nil else {
                throw .invalidLabel(index: e, value: Double(labels[e]), classes: classes)
            }
        }
        if vectorisesLogSumExp(T.self, classes: classes) {
            logSumExps(z, classes: classes, r) { e, lse, _ in
                let c = Losses.classIndex(labels[e], classes: classes) ?? 0
                y[e] = lse - z[e * classes + c]
            }
            return
        }
        for e in r {
            let c = Losses.classIndex(labels[e], classes: classes) ?? 0
            y[e] =
                Losses.logSumExp(z, base: e * classes, stride: 1, length: classes)
                - z[e * classes + c]
        }
    }

    // Note [Vectorised log-sum-exp]
    // cross_entropy over few classes (S5: 3) called libm's exp and log
    // once per element and example, forward and again in the VJP — a tenth
    // of S5's step. With at most 127 classes (Float) or 63 (Double), so
    // that two examples fit a 1 KiB stack block, the runtime takes
    // examples a block at a time: the block's z − m (m each
    // example's maximum, 0 when it is not finite, as `Losses.logSumExp`)
    // by the vector exp, each example's sum of those in the blocked
    // pairwise order of Note [Summation order] (the same order as the
    // scalar path), then the vector log of the sums; the VJP's
    // probabilities e^(z − lse) by the vector exp too. Only the exp and
    // log differ from libm's (within the published bounds of
    // VectorMath); an example's result depends on its row alone, so chunks
    // do not change the bits.

    /// Whether ``logSumExps(_:classes:_:_:)`` handles `classes` for `T`:
    /// two examples and their sums fit one 1 KiB stack block.
    @inline(__always)
    static func vectorisesLogSumExp<T: TensorElement>(_: T.Type, classes: Int) -> Bool {
        (T.self == Float.self || T.self == Double.self)
            && 2 * (classes + 1) <= 1024 / MemoryLayout<T>.stride
    }

    /// Calls `body(e, lse_e, t)` for every example e in `r`, in order, with
    /// lse_e = m + log Σ_j e^(z_ej − m) (Note [Vectorised log-sum-exp]) and
    /// `t` scratch of at least `classes` elements that `body` may use.
    @inline(__always)
    static func logSumExps<T: TensorElement>(
        _ z: UnsafePointer<T>, classes: Int, _ r: Range<Int>,
        _ body: (Int, T, UnsafeMutablePointer<T>) -> Void
    ) {
        let capacity = 1024 / MemoryLayout<T>.stride
        let perBlock = capacity / (classes + 1)
        withUnsafeTemporaryAllocation(of: T.self, capacity: capacity) { buffer in
            let t = buffer.baseAddress!, sums = t + perBlock * classes
            var start = r.lowerBound
            while start < r.upperBound {
                let n = Swift.min(perBlock, r.upperBound - start)
                for k in 0..<n {
                    let row = z + (start + k) * classes
                    var m = -T.infinity
                    for j in 0..<classes { m = Swift.max(m, row[j]) }
                    if !m.isFinite { m = m.isNaN ? m : 0 }
                    sums[k] = m
                    for j in 0..<classes { t[k * classes + j] = row[j] - m }
                }
                _ = VectorMath.apply(.exp, x: t, y: t, count: n * classes)
                for k in 0..<n {
                    let s: T = Summation.sum(count: classes) { j in t[k * classes + j] }
                    t[k * classes] = s  // the example's first slot holds its sum
                }
                for k in 0..<n { t[k] = t[k * classes] }
                _ = VectorMath.apply(.log, x: t, y: t, count: n)
                for k in 0..<n { sums[k] += t[k] }
                for k in 0..<n { body(start + k, sums[k], t) }
                start += n
            }
        }
    }

    static func crossEntropyVJP<T>(
        classes: Int, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        let z = io.x(0), labels = io.x(1), g = t.g
        if vectorisesLogSumExp(T.self, classes: classes) {
            logSumExps(z, classes: classes, r) { e, lse, p in
                // Labels were validated by the forward pass.
                let c = Losses.classIndex(labels[e], classes: classes) ?? 0
                let row = z + e * classes
                for j in 0..<classes { p[j] = row[j] - lse }
                _ = VectorMath.apply(.exp, x: p, y: p, count: classes)
                for j in 0..<classes {
                    t.store(e * classes + j, g[e] * (j == c ? p[j] - 1 : p[j]))
                }
            }
            return
        }
        for e in r {
            // Labels were validated by the forward pass.
            let c = Losses.classIndex(labels[e], classes: classes) ?? 0
            let lse = Losses.logSumExp(z, base: e * classes, stride: 1, length: classes)
            for j in 0..<classes {
                let p = T.exp(z[e * classes + j] - lse)
                t.store(e * classes + j, g[e] * (j == c ? p - 1 : p))
            }
        }
    }

    // MARK: sigmoid_cross_entropy

    static func sigmoidCrossEntropyForward<T>(_ b: Broadcast2, _ io: KernelIO<T>, _ r: Range<Int>) {
        let z = io.x(0), target = io.x(1), y = io.y
        if b.same, T.self == Float.self || T.self == Double.self {
            // Same shapes (S4's logits and labels): exp and log by the
            // vector kernels, block by block (Note [Vectorised log loss]).
            ElementwiseKernels.inBlocks(r, blocks: 2) { start, n, e, u in
                for k in 0..<n { e[k] = -Swift.abs(z[start + k]) }
                _ = VectorMath.apply(.exp, x: e, y: e, count: n)
                for k in 0..<n { u[k] = 1 + e[k] }
                _ = VectorMath.apply(.log, x: u, y: u, count: n)
                for k in 0..<n {
                    let (v, t, ek, uk) = (z[start + k], target[start + k], e[k], u[k])
                    let a = v >= 0 ? 1 - t : -t
                    let linear = a == 0 ? 0 : a * v
                    // log1p(e) = log(1 + e) · e / ((1 + e) − 1), exactly e when 1 + e rounds to 1.
                    let denominator = ek + 1 - 1
                    let log1p = denominator == 0 ? ek : uk * (ek / denominator)
                    y[start + k] = linear + log1p
                }
            }
            return
        }
        stridedLoop(b.out, r, b.sa, b.sb) { k, oz, ot in
            y[k] = Losses.sigmoidCrossEntropy(z[oz], target[ot])
        }
    }

    // Note [Vectorised log loss]
    // sigmoid_cross_entropy(z, t) = a·z + log1p(exp(−|z|)) with a = 1 − t
    // for z ≥ 0 and −t below. With operands of the same shape, the runtime
    // computes e = exp(−|z|) and log(1 + e) with the vector kernels
    // (VectorMath: ≤ 2 ulp each) and log1p(e) by Kahan's identity
    // log1p(e) = log(u) · e / (u − 1), u = 1 + e rounded (u − 1 is exact,
    // u ∈ [1, 2]; e itself when u = 1): a few ulp of the term, where libm's
    // scalar log1p and exp per element cost S4 a fifth of its step. The VJP
    // takes σ(z) from the vector sigmoid (≤ 3 ulp). Broadcast operands keep
    // the scalar libm path. Either way an element's value depends only on
    // its operands, so chunking does not change the bits.

    static func sigmoidCrossEntropyVJP<T>(
        _ b: Broadcast2, slot: Int, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        let z = io.x(0), target = io.x(1), g = t.g
        if slot == 0, b.same, T.self == Float.self || T.self == Double.self {
            // σ(z) by the vector kernel (Note [Vectorised log loss]).
            ElementwiseKernels.inBlocks(r, blocks: 1) { start, n, s, _ in
                _ = VectorMath.apply(.sigmoid, x: z + start, y: s, count: n)
                t.storeEach(start..<(start + n)) { e in g[e] * (s[e - start] - target[e]) }
            }
        } else if slot == 0 {
            ElementwiseKernels.reduceToOperand(b, slot: 0, t, r) { e, og, ot in
                g[og] * (logistic(z[e]) - target[ot])
            }
        } else {
            ElementwiseKernels.reduceToOperand(b, slot: 1, t, r) { _, og, oz in -g[og] * z[oz] }
        }
    }
}
