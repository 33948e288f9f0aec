// Reductions: sum, mean and max over axes.
//
// sum and mean are linear: their VJP is their transpose, broadcasting the
// cotangent back over the reduced axes (mean also divides by the number of
// reduced elements). max routes the cotangent to the maximal elements,
// split evenly among ties.

/// What a reduction computes over its axes.
public enum Reduction: Sendable, Hashable {
    /// Σ. VJP: g broadcast back over the reduced axes.
    case sum
    /// Σ / n. VJP: g / n broadcast back.
    case mean
    /// max. VJP: g / (number of maxima) at each maximal element, 0 elsewhere.
    case max

    var kind: OpKind {
        switch self {
        case .sum: .sum
        case .mean: .mean
        case .max: .max
        }
    }
}

/// The geometry of one reduction: which input axes collapse.
struct ReductionGeometry {
    let input: Shape
    /// The output shape with reduced axes kept as extent 1.
    let kept: Shape
    /// The output shape as the node declares it (`kept` unless !keepDims).
    let output: Shape
    /// Elements folded into each output element.
    let reducedCount: Int

    init(input: Shape, axes: [Int]?, keepDims: Bool) throws(ShapeRuleError) {
        var reduced = [Bool](repeating: axes == nil, count: input.rank)
        for axis in axes ?? [] {
            guard let a = input.normalizedAxis(axis) else {
                throw .invalidAttribute("axis \(axis) is out of range for shape \(input)")
            }
            guard !reduced[a] else { throw .invalidAttribute("axis \(axis) is listed twice") }
            reduced[a] = true
        }
        var kept = input.dimensions
        var output: [Int] = []
        var count = 1
        for axis in 0..<input.rank {
            if reduced[axis] {
                count *= input[axis]
                kept[axis] = 1
                if keepDims { output.append(1) }
            } else {
                output.append(input[axis])
            }
        }
        self.input = input
        self.kept = Shape(kept)
        self.output = Shape(output)
        self.reducedCount = count
    }

    /// For every input element, the offset of the output element it folds into.
    var outputOffsets: [Int] {
        stridedOffsets(over: input, strides: kept.broadcastStrides(to: input))
    }
}

extension Reduction {
    func forward<T: TensorElement>(_ x: Tensor<T>, _ geometry: ReductionGeometry) -> Tensor<T> {
        let offsets = geometry.outputOffsets
        var out: [T]
        switch self {
        case .sum, .mean:
            out = [T](repeating: 0, count: geometry.output.count)
            for k in 0..<x.count { out[offsets[k]] += x.scalars[k] }
            if self == .mean {
                let n = T(geometry.reducedCount)
                for k in 0..<out.count { out[k] /= n }
            }
        case .max:
            out = [T](repeating: -.infinity, count: geometry.output.count)
            for k in 0..<x.count {
                let v = x.scalars[k]
                // NaN propagates: once an output is NaN it stays NaN.
                if v > out[offsets[k]] || v.isNaN { out[offsets[k]] = v }
            }
        }
        return Tensor(uncheckedShape: geometry.output, scalars: out)
    }

    func vjp<T: TensorElement>(
        x: Tensor<T>, y: Tensor<T>, g: Tensor<T>, _ geometry: ReductionGeometry
    ) -> Tensor<T> {
        let offsets = geometry.outputOffsets
        var out = [T](repeating: 0, count: x.count)
        switch self {
        case .sum:
            for k in 0..<x.count { out[k] = g.scalars[offsets[k]] }
        case .mean:
            let n = T(geometry.reducedCount)
            for k in 0..<x.count { out[k] = g.scalars[offsets[k]] / n }
        case .max:
            var ties = [T](repeating: 0, count: y.count)
            for k in 0..<x.count where x.scalars[k] == y.scalars[offsets[k]] {
                ties[offsets[k]] += 1
            }
            for k in 0..<x.count where x.scalars[k] == y.scalars[offsets[k]] {
                out[k] = g.scalars[offsets[k]] / ties[offsets[k]]
            }
        }
        return Tensor(uncheckedShape: x.shape, scalars: out)
    }
}
