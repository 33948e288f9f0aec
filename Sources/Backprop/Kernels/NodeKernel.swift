// An op compiled for fixed shapes: the geometry its ranged kernels need,
// computed once by the plan and held inline, so that running a chunk
// allocates nothing. Each kernel computes a range of "work units" of its
// destination (elements, matrix rows, softmax lanes, examples) and writes
// nothing outside it; chunks of one node therefore never overlap.

/// Two operands broadcast to an output.
struct Broadcast2: Sendable {
    let out: Dims4
    let a: Dims4, b: Dims4
    /// Operand strides in output space (0 on broadcast axes).
    let sa: SIMD4<Int>, sb: SIMD4<Int>
    /// The axes each operand was broadcast along, with the output's extents.
    let summedA: Dims4, summedB: Dims4
    /// Whether both operands have the output's shape.
    let same: Bool

    init(_ a: Shape, _ b: Shape, out: Shape) {
        self.out = Dims4(out)
        self.a = Dims4(a)
        self.b = Dims4(b)
        sa = broadcastStrides4(a, to: out)
        sb = broadcastStrides4(b, to: out)
        summedA = Broadcast2.summed(Dims4(a), Dims4(out))
        summedB = Broadcast2.summed(Dims4(b), Dims4(out))
        same = a == out && b == out
    }

    static func summed(_ operand: Dims4, _ out: Dims4) -> Dims4 {
        var e = SIMD4<Int>(repeating: 1)
        for axis in 0..<4 where operand.extents[axis] == 1 { e[axis] = out.extents[axis] }
        return Dims4(extents: e)
    }
}

/// out[e] = x[base + Σ index(e)·strides] over the output's dimensions.
struct Gather: Sendable {
    let out: Dims4
    let strides: SIMD4<Int>
    let base: Int
}

/// A reduction over some axes of a rank ≤ 4 input.
struct ReduceGeometry: Sendable {
    let input: Dims4
    /// The input's shape with reduced axes set to 1 (the output, padded).
    let kept: Dims4
    /// 1 on kept axes, the input's extent on reduced axes.
    let reduced: Dims4
    let inputStrides: SIMD4<Int>
    /// For each input position, the stride of its output element (0 on reduced axes).
    let outputStrides: SIMD4<Int>
    let reducedCount: Int
}

/// Concatenation along one axis, viewed as `[outer, axis, inner]`.
struct ConcatGeometry: Sendable {
    /// Elements after the axis (the product of the trailing extents).
    let inner: Int
    /// The output's extent along the axis.
    let extent: Int
    /// Where each input starts along the axis, and its extent there.
    let starts: [Int]
    let extents: [Int]
}

/// The compiled form of one node. Cases with large geometry are `indirect`
/// (boxed), so that a plan's kernel table stays small and an item copies a
/// reference, not hundreds of bytes.
enum NodeKernel: Sendable {
    case leaf
    /// identity and reshape: the same elements.
    case copy
    case unary(UnaryFunction)
    indirect case binary(BinaryFunction, Broadcast2)
    indirect case matmul(MatmulGeometry)
    indirect case reduce(Reduction, ReduceGeometry)
    /// transpose: a gather forward, the inverse gather backward.
    indirect case transpose(forward: Gather, backward: Gather)
    /// broadcast: a gather forward, a sum over broadcast axes backward.
    indirect case broadcast(Gather, summed: Dims4, input: Dims4)
    /// slice: a gather forward; backward places g in the window, 0 elsewhere.
    indirect case slice(Gather, input: Dims4, axis: Int, start: Int, end: Int, gStrides: SIMD4<Int>)
    indirect case concat(ConcatGeometry)
    case softmax(AxisView, log: Bool)
    case crossEntropy(examples: Int, classes: Int)
    indirect case sigmoidCrossEntropy(Broadcast2)
    indirect case custom(any CustomOperation, inputs: [Shape], output: Shape)

    /// Compiles `op` for the given input and output shapes (already validated).
    init(_ op: Op, inputs s: [Shape], output: Shape) {
        switch op {
        case .input, .parameter, .constant:
            self = .leaf
        case .identity, .reshape:
            self = .copy
        case .unary(let f):
            self = .unary(f)
        case .binary(let f):
            self = .binary(f, Broadcast2(s[0], s[1], out: output))
        case .matmul:
            self = .matmul(try! MatmulGeometry(s[0], s[1]))
        case .reduce(let r, let axes, let keepDims):
            let g = try! ReductionGeometry(input: s[0], axes: axes, keepDims: keepDims)
            let input = Dims4(s[0])
            let kept = Dims4(g.kept)
            var reduced = SIMD4<Int>(repeating: 1)
            for axis in 0..<4 where kept.extents[axis] != input.extents[axis] {
                reduced[axis] = input.extents[axis]
            }
            self = .reduce(
                r,
                ReduceGeometry(
                    input: input, kept: kept, reduced: Dims4(extents: reduced),
                    inputStrides: input.strides,
                    outputStrides: broadcastStrides4(g.kept, to: s[0]), reducedCount: g.reducedCount
                ))
        case .transpose(let p):
            let perm = try! Movement.permutation(rank: s[0].rank, p)
            let pad = 4 - s[0].rank
            let xStrides = Dims4(s[0]).strides
            let gStrides = Dims4(output).strides
            var forward = SIMD4<Int>(repeating: 0)
            var backward = SIMD4<Int>(repeating: 0)
            for i in 0..<perm.count {
                forward[i + pad] = xStrides[perm[i] + pad]
                backward[perm[i] + pad] = gStrides[i + pad]
            }
            self = .transpose(
                forward: Gather(out: Dims4(output), strides: forward, base: 0),
                backward: Gather(out: Dims4(s[0]), strides: backward, base: 0))
        case .broadcast:
            self = .broadcast(
                Gather(out: Dims4(output), strides: broadcastStrides4(s[0], to: output), base: 0),
                summed: Broadcast2.summed(Dims4(s[0]), Dims4(output)), input: Dims4(s[0]))
        case .slice(let axis, let start, let end):
            let a = s[0].normalizedAxis(axis)! + 4 - s[0].rank
            let xStrides = Dims4(s[0]).strides
            self = .slice(
                Gather(out: Dims4(output), strides: xStrides, base: start * xStrides[a]),
                input: Dims4(s[0]), axis: a, start: start, end: end, gStrides: Dims4(output).strides
            )
        case .concat(let axis):
            let a = output.normalizedAxis(axis)!
            var starts: [Int] = []
            var position = 0
            for shape in s {
                starts.append(position)
                position += shape[a]
            }
            self = .concat(
                ConcatGeometry(
                    inner: output.dimensions[(a + 1)...].reduce(1, *), extent: output[a],
                    starts: starts, extents: s.map { $0[a] }))
        case .softmax(let axis):
            self = .softmax(AxisView(s[0], axis: s[0].normalizedAxis(axis)!), log: false)
        case .logSoftmax(let axis):
            self = .softmax(AxisView(s[0], axis: s[0].normalizedAxis(axis)!), log: true)
        case .crossEntropy:
            let classes = s[0][s[0].rank - 1]
            self = .crossEntropy(examples: s[0].count / classes, classes: classes)
        case .sigmoidCrossEntropy:
            self = .sigmoidCrossEntropy(Broadcast2(s[0], s[1], out: output))
        case .custom(let op):
            self = .custom(op, inputs: s, output: output)
        }
    }
}
