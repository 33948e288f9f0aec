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
            guard let c = Losses.classIndex(labels[e], classes: classes) else {
                throw .invalidLabel(index: e, value: Double(labels[e]), classes: classes)
            }
            y[e] =
                Losses.logSumExp(z, base: e * classes, stride: 1, length: classes)
                - z[e * classes + c]
        }
    }

    static func crossEntropyVJP<T>(
        classes: Int, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        let z = io.x(0), labels = io.x(1), g = t.g
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
        stridedLoop(b.out, r, b.sa, b.sb) { k, oz, ot in
            y[k] = Losses.sigmoidCrossEntropy(z[oz], target[ot])
        }
    }

    static func sigmoidCrossEntropyVJP<T>(
        _ b: Broadcast2, slot: Int, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        let z = io.x(0), target = io.x(1), g = t.g
        if slot == 0 {
            ElementwiseKernels.reduceToOperand(b, slot: 0, t, r) { e, og, ot in
                g[og] * (logistic(z[e]) - target[ot])
            }
        } else {
            ElementwiseKernels.reduceToOperand(b, slot: 1, t, r) { _, og, oz in -g[og] * z[oz] }
        }
    }
}
