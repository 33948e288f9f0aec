// Movement ops: reshape, transpose, broadcast, slice, concat.
//
// All are linear, so each VJP is the op's transpose: reshape back, the
// inverse permutation, sum over broadcast axes, zero-padding, and slicing
// the cotangent back into one piece per parent.

enum Movement {
    // MARK: reshape — VJP: reshape g back to x's shape.

    static func reshapeShape(_ x: Shape, to target: Shape) throws(ShapeRuleError) -> Shape {
        var dims = target.dimensions
        let inferred = dims.indices.filter { dims[$0] == -1 }
        guard inferred.count <= 1 else { throw .invalidAttribute("at most one extent may be -1") }
        if let i = inferred.first {
            let known = Shape(dims.enumerated().filter { $0.offset != i }.map(\.element))
            guard let k = known.checkedCount, k > 0, x.count % k == 0,
                known.dimensions.allSatisfy({ $0 > 0 })
            else {
                throw .mismatch("cannot reshape \(x) (\(x.count) elements) to \(target)")
            }
            dims[i] = x.count / k
        }
        let shape = Shape(dims)
        if let problem = shape.validationProblem { throw .invalidAttribute(problem) }
        guard shape.count == x.count else {
            throw .mismatch("cannot reshape \(x) (\(x.count) elements) to \(target)")
        }
        return shape
    }

    // MARK: transpose — VJP: transpose g by the inverse permutation.

    static func permutation(rank: Int, _ permutation: [Int]?) throws(ShapeRuleError) -> [Int] {
        guard let p = permutation else {
            guard rank >= 2 else {
                throw .invalidAttribute(
                    "transpose without a permutation needs rank ≥ 2, got \(rank)")
            }
            var p = Array(0..<rank)
            p.swapAt(rank - 1, rank - 2)
            return p
        }
        guard p.count == rank, p.sorted() == Array(0..<rank) else {
            throw .invalidAttribute("\(p) is not a permutation of the \(rank) axes")
        }
        return p
    }

    static func transposeShape(_ x: Shape, _ p: [Int]) -> Shape {
        Shape(p.map { x[$0] })
    }

    static func transpose<T>(_ x: Tensor<T>, _ p: [Int]) -> Tensor<T> {
        let outShape = transposeShape(x.shape, p)
        let strides = x.shape.strides
        let offsets = stridedOffsets(over: outShape, strides: p.map { strides[$0] })
        return Tensor(uncheckedShape: outShape, scalars: offsets.map { x.scalars[$0] })
    }

    static func inverse(_ p: [Int]) -> [Int] {
        var inv = p
        for (i, axis) in p.enumerated() { inv[axis] = i }
        return inv
    }

    // MARK: broadcast — VJP: sum g over the broadcast axes.

    static func broadcastShape(_ x: Shape, to target: Shape) throws(ShapeRuleError) -> Shape {
        if let problem = target.validationProblem { throw .invalidAttribute(problem) }
        guard Shape.broadcast(x, target) == target else {
            throw .mismatch("cannot broadcast \(x) to \(target)")
        }
        return target
    }

    // MARK: slice — VJP: g placed back at start..<end along the axis, zeros elsewhere.

    static func sliceShape(
        _ x: Shape, axis: Int, start: Int, end: Int
    ) throws(ShapeRuleError) -> (axis: Int, shape: Shape) {
        guard let a = x.normalizedAxis(axis) else {
            throw .invalidAttribute("axis \(axis) is out of range for shape \(x)")
        }
        guard 0 <= start, start < end, end <= x[a] else {
            throw .invalidAttribute(
                "slice \(start)..<\(end) is empty or outside 0..<\(x[a]) on axis \(a)")
        }
        var dims = x.dimensions
        dims[a] = end - start
        return (a, Shape(dims))
    }

    /// Offsets into a tensor of `outer` shape of the block of `inner` shape
    /// that starts at `start` along `axis`.
    static func blockOffsets(outer: Shape, inner: Shape, axis: Int, start: Int) -> [Int] {
        let strides = outer.strides
        return stridedOffsets(over: inner, strides: strides, base: start * strides[axis])
    }

    static func slice<T>(_ x: Tensor<T>, axis: Int, start: Int, shape: Shape) -> Tensor<T> {
        let offsets = blockOffsets(outer: x.shape, inner: shape, axis: axis, start: start)
        return Tensor(uncheckedShape: shape, scalars: offsets.map { x.scalars[$0] })
    }

    static func sliceVJP<T>(_ g: Tensor<T>, into shape: Shape, axis: Int, start: Int) -> Tensor<T> {
        var out = Tensor<T>.zeros(shape)
        let offsets = blockOffsets(outer: shape, inner: g.shape, axis: axis, start: start)
        for k in 0..<g.count { out.scalars[offsets[k]] = g.scalars[k] }
        return out
    }

    // MARK: concat — VJP: the slice of g that each parent filled.

    static func concatShape(_ xs: [Shape], axis: Int) throws(ShapeRuleError) -> (
        axis: Int, shape: Shape
    ) {
        guard let first = xs.first else { throw .mismatch("concat needs at least one input") }
        guard let a = first.normalizedAxis(axis) else {
            throw .invalidAttribute("axis \(axis) is out of range for shape \(first)")
        }
        var dims = first.dimensions
        dims[a] = 0
        for s in xs {
            var other = s.dimensions
            guard s.rank == first.rank else {
                throw .mismatch("cannot concatenate shapes \(first) and \(s): ranks differ")
            }
            let (sum, overflow) = dims[a].addingReportingOverflow(other[a])
            guard !overflow else { throw .mismatch("concatenation along axis \(a) overflows") }
            dims[a] = sum
            other[a] = dims[a]
            guard other == dims else {
                throw .mismatch("cannot concatenate shapes \(first) and \(s) along axis \(a)")
            }
        }
        return (a, Shape(dims))
    }

    static func concat<T>(_ xs: [Tensor<T>], axis: Int, shape: Shape) -> Tensor<T> {
        var out = Tensor<T>.zeros(shape)
        var start = 0
        for x in xs {
            let offsets = blockOffsets(outer: shape, inner: x.shape, axis: axis, start: start)
            for k in 0..<x.count { out.scalars[offsets[k]] = x.scalars[k] }
            start += x.shape[axis]
        }
        return out
    }

    static func concatVJP<T>(_ g: Tensor<T>, parts: [Shape], axis: Int) -> [Tensor<T>?] {
        var start = 0
        return parts.map { part in
            defer { start += part[axis] }
            return slice(g, axis: axis, start: start, shape: part)
        }
    }
}
