// Normalisations and losses, computed stably.
//
// softmax(x)      = e^(x − m) / Σ e^(x − m),  m = max x       VJP: y ⊙ (g − Σ g⊙y)
// log_softmax(x)  = x − m − log Σ e^(x − m)                    VJP: g − softmax(x) · Σ g
// cross_entropy   = logsumexp(z) − z[label] per example         VJP: g · (softmax(z) − onehot)
// sigmoid_cross_entropy(z, y) = max(z, 0) − z·y + log(1 + e^−|z|)
//                                                   VJP: (g · (σ(z) − y), −g · z)
// Subtracting the maximum keeps every exponent ≤ 0, so no intermediate
// overflows, whatever the logits.

/// A tensor viewed as `[outer, length, inner]` around one axis.
struct AxisView {
    let outer: Int, length: Int, inner: Int

    init(_ shape: Shape, axis: Int) {
        outer = shape.dimensions[..<axis].reduce(1, *)
        length = shape[axis]
        inner = shape.dimensions[(axis + 1)...].reduce(1, *)
    }

    /// Calls `body` with the offset of each lane's first element and the stride
    /// between its elements.
    func forEachLane(_ body: (_ base: Int, _ stride: Int) -> Void) {
        for o in 0..<outer {
            for i in 0..<inner { body(o * length * inner + i, inner) }
        }
    }
}

enum Losses {
    static func axis(_ shape: Shape, _ axis: Int) throws(ShapeRuleError) -> Int {
        guard let a = shape.normalizedAxis(axis) else {
            throw .invalidAttribute("axis \(axis) is out of range for shape \(shape)")
        }
        return a
    }

    /// log Σ e^x over one lane (`length` elements from `base`, `stride`
    /// apart), computed as m + log Σ e^(x − m) with m the lane's maximum,
    /// the sum in the order of Note [Summation order].
    /// The ranged kernels use the same function, on arena pointers.
    static func logSumExp<T: TensorElement>(
        _ x: UnsafePointer<T>, base: Int, stride: Int, length: Int
    ) -> T {
        var m = -T.infinity
        for j in 0..<length { m = Swift.max(m, x[base + j * stride]) }
        if !m.isFinite { m = m.isNaN ? m : 0 }
        // Note [Summation order]: blocked pairwise, for the reference too.
        let s: T = Summation.sum(count: length) { j in T.exp(x[base + j * stride] - m) }
        return m + T.log(s)
    }

    static func logSumExp<T: TensorElement>(_ x: [T], base: Int, stride: Int, length: Int) -> T {
        x.withUnsafeBufferPointer {
            logSumExp($0.baseAddress!, base: base, stride: stride, length: length)
        }
    }

    // MARK: softmax and log_softmax

    static func softmax<T>(_ x: Tensor<T>, axis: Int, log: Bool) -> Tensor<T> {
        let view = AxisView(x.shape, axis: axis)
        var out = x.scalars
        view.forEachLane { base, stride in
            let lse = logSumExp(x.scalars, base: base, stride: stride, length: view.length)
            for j in 0..<view.length {
                let z = x.scalars[base + j * stride] - lse
                out[base + j * stride] = log ? z : T.exp(z)
            }
        }
        return Tensor(uncheckedShape: x.shape, scalars: out)
    }

    static func softmaxVJP<T>(y: Tensor<T>, g: Tensor<T>, axis: Int, log: Bool) -> Tensor<T> {
        let view = AxisView(y.shape, axis: axis)
        var out = g.scalars
        view.forEachLane { base, stride in
            var dot: T = 0
            for j in 0..<view.length {
                let k = base + j * stride
                dot += log ? g.scalars[k] : g.scalars[k] * y.scalars[k]
            }
            for j in 0..<view.length {
                let k = base + j * stride
                out[k] =
                    log
                    ? g.scalars[k] - T.exp(y.scalars[k]) * dot
                    : y.scalars[k] * (g.scalars[k] - dot)
            }
        }
        return Tensor(uncheckedShape: y.shape, scalars: out)
    }

    // MARK: cross_entropy (logits [..., C], labels [...] holding class indices)

    static func crossEntropyShape(_ logits: Shape, _ labels: Shape) throws(ShapeRuleError) -> Shape
    {
        guard logits.rank >= 1 else {
            throw .mismatch("cross_entropy logits must have a class axis, got shape \(logits)")
        }
        let expected = Shape(Array(logits.dimensions.dropLast()))
        guard labels == expected else {
            throw .mismatch(
                "cross_entropy labels must have shape \(expected) for logits \(logits), got \(labels)"
            )
        }
        return expected
    }

    /// The class index held by a label element, or `nil` when it is not an
    /// integer in `0..<classes`.
    static func classIndex<T: TensorElement>(_ label: T, classes: Int) -> Int? {
        guard label.isFinite, label == label.rounded(), label >= 0, label < T(classes) else {
            return nil
        }
        return Int(label)
    }

    static func crossEntropy<T>(
        _ z: Tensor<T>, _ labels: Tensor<T>, node: String
    ) throws(ExecutionError) -> Tensor<T> {
        let classes = z.shape[z.shape.rank - 1]
        var out = [T](repeating: 0, count: labels.count)
        for e in 0..<labels.count {
            guard let c = classIndex(labels.scalars[e], classes: classes) else {
                throw .invalidLabel(
                    node: node, index: e, value: Double(labels.scalars[e]), classes: classes)
            }
            let lse = logSumExp(z.scalars, base: e * classes, stride: 1, length: classes)
            out[e] = lse - z.scalars[e * classes + c]
        }
        return Tensor(uncheckedShape: labels.shape, scalars: out)
    }

    static func crossEntropyVJP<T>(_ z: Tensor<T>, _ labels: Tensor<T>, g: Tensor<T>) -> [Tensor<
        T
    >?] {
        let classes = z.shape[z.shape.rank - 1]
        var dz = [T](repeating: 0, count: z.count)
        for e in 0..<labels.count {
            // Labels were validated by the forward pass.
            let c = classIndex(labels.scalars[e], classes: classes) ?? 0
            let lse = logSumExp(z.scalars, base: e * classes, stride: 1, length: classes)
            for j in 0..<classes {
                let p = T.exp(z.scalars[e * classes + j] - lse)
                dz[e * classes + j] = g.scalars[e] * (j == c ? p - 1 : p)
            }
        }
        // Labels are integers: no gradient flows to them.
        return [Tensor(uncheckedShape: z.shape, scalars: dz), nil]
    }

    // MARK: sigmoid_cross_entropy (binary log loss from logits)

    /// `max(z, 0) − z·y + log(1 + e^−|z|)`, written as `a·z + log(1 + e^−|z|)`
    /// with `a = 1 − y` for z ≥ 0 and `a = −y` below, and `a·z` taken as 0
    /// when a = 0: exact and finite for infinite logits too.
    @inlinable
    static func sigmoidCrossEntropy<T: TensorElement>(_ z: T, _ y: T) -> T {
        let a = z >= 0 ? 1 - y : -y
        return (a == 0 ? 0 : a * z) + T.log1p(T.exp(-Swift.abs(z)))
    }

    /// The pullbacks of ``sigmoidCrossEntropy(_:_:)`` for one element:
    /// `(g · (σ(z) − y), −g · z)`.
    @inlinable @inline(__always)
    static func sigmoidCrossEntropyPullbacks<T: TensorElement>(z: T, target: T, g: T) -> (T, T) {
        (g * (logistic(z) - target), -g * z)
    }

    static func sigmoidCrossEntropyVJP<T>(_ z: Tensor<T>, _ y: Tensor<T>, g: Tensor<T>) -> [Tensor<
        T
    >?] {
        let shape = g.shape
        let residual = z.broadcastZip(y, to: shape) { logistic($0) - $1 }
        let dz = g.zipMap(residual, *)
        let dy = g.zipMap(z.broadcast(to: shape)) { -$0 * $1 }
        return [dz.sum(toShape: z.shape), dy.sum(toShape: y.shape)]
    }
}
