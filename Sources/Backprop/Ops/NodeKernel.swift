// An op compiled for fixed shapes: the geometry its ranged kernels need,
// computed once by the plan and held inline, so that running a chunk
// allocates nothing. Each kernel computes a range of "work units" of its
// destination (elements, matrix rows, softmax lanes, examples) and writes
// nothing outside it; chunks of one node therefore never overlap.

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
    indirect case reduce(Reduction, ReductionStrides)
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
        case .identity, .movement(.reshape):
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
                ReductionStrides(
                    input: input, kept: kept, reduced: Dims4(extents: reduced),
                    inputStrides: input.strides,
                    outputStrides: broadcastStrides4(g.kept, to: s[0]), reducedCount: g.reducedCount
                ))
        case .movement(.transpose(let p)):
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
        case .movement(.broadcast):
            self = .broadcast(
                Gather(out: Dims4(output), strides: broadcastStrides4(s[0], to: output), base: 0),
                summed: Broadcast2.summed(Dims4(s[0]), Dims4(output)), input: Dims4(s[0]))
        case .movement(.slice(let axis, let start, let end)):
            let a = s[0].normalizedAxis(axis)! + 4 - s[0].rank
            let xStrides = Dims4(s[0]).strides
            self = .slice(
                Gather(out: Dims4(output), strides: xStrides, base: start * xStrides[a]),
                input: Dims4(s[0]), axis: a, start: start, end: end, gStrides: Dims4(output).strides
            )
        case .movement(.concat(let axis)):
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
        case .loss(.softmax(let axis)):
            self = .softmax(AxisView(s[0], axis: s[0].normalizedAxis(axis)!), log: false)
        case .loss(.logSoftmax(let axis)):
            self = .softmax(AxisView(s[0], axis: s[0].normalizedAxis(axis)!), log: true)
        case .loss(.crossEntropy):
            let classes = s[0][s[0].rank - 1]
            self = .crossEntropy(examples: s[0].count / classes, classes: classes)
        case .loss(.sigmoidCrossEntropy):
            self = .sigmoidCrossEntropy(Broadcast2(s[0], s[1], out: output))
        case .custom(let op):
            self = .custom(op, inputs: s, output: output)
        }
    }
}
