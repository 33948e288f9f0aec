import BackpropWorkloads
import Testing

@testable import Backprop

/// softsign(x) = x / (1 + |x|), a custom op implemented once for both element types.
struct Softsign: CustomOperation {
    var name: String { "softsign" }
    var arity: Int? { 1 }
    func outputShape(for inputShapes: [Shape]) throws -> Shape { inputShapes[0] }
    func forward<T: TensorElement>(_ inputs: [Tensor<T>]) throws -> Tensor<T> {
        inputs[0].map { $0 / (1 + Swift.abs($0)) }
    }
    func vjp<T: TensorElement>(inputs: [Tensor<T>], output: Tensor<T>, cotangent: Tensor<T>) throws
        -> [Tensor<T>?]
    {
        [cotangent.zipMap(inputs[0]) { g, x in g / ((1 + Swift.abs(x)) * (1 + Swift.abs(x))) }]
    }
}

/// One configuration of an op to check: its input shapes and value domain.
struct OpCase: CustomStringConvertible {
    var op: Op
    var shapes: [Shape]
    /// Inputs are drawn uniformly from this range…
    var domain: (Double, Double) = (-2, 2)
    /// …at least this far from 0 (kinks and poles).
    var gap = 0.0
    /// An input holding integer class labels (a constant, not differentiated).
    var labels: (input: Int, classes: Int)?
    /// Inputs drawn from (0, 1) (probability targets).
    var probabilities: Set<Int> = []

    var description: String { "\(op.name) \(shapes)" }
}

/// Every op of the catalog, several shapes each. The switch has no default,
/// so a new `OpKind` without cases here does not compile.
func catalogCases(_ kind: OpKind) -> [OpCase] {
    let unaryShapes: [[Shape]] = [[[]], [[3, 4]], [[2, 1, 2, 3]]]
    let binaryShapes: [[Shape]] = [
        [[2, 3], [2, 3]], [[2, 3], [3]], [[4, 1, 3], [2, 1]], [[], [2, 2]],
    ]
    func unary(_ f: UnaryFunction, domain: (Double, Double) = (-2, 2), gap: Double = 0) -> [OpCase]
    {
        unaryShapes.map { OpCase(op: .unary(f), shapes: $0, domain: domain, gap: gap) }
    }
    func binary(_ f: BinaryFunction, gap: Double = 0) -> [OpCase] {
        binaryShapes.map { OpCase(op: .binary(f), shapes: $0, gap: gap) }
    }
    func reductions(_ r: Reduction) -> [OpCase] {
        [(nil, false), ([0], false), ([1, -1], true), ([-2], false)].map {
            OpCase(op: .reduce(r, axes: $0.0, keepDims: $0.1), shapes: [[2, 3, 4]])
        } + [OpCase(op: .reduce(r, axes: nil, keepDims: true), shapes: [[5]])]
    }
    switch kind {
    // Leaves and identity are checked inside a small expression (see leafCase).
    case .input, .parameter, .constant, .identity:
        return [OpCase(op: .identity, shapes: [[2, 3]])]
    case .add: return binary(.add)
    case .sub: return binary(.sub)
    case .mul: return binary(.mul)
    case .div: return binary(.div, gap: 0.5)
    case .neg: return unary(.neg)
    case .exp: return unary(.exp)
    case .log: return unary(.log, domain: (0.2, 3))
    case .sqrt: return unary(.sqrt, domain: (0.2, 3))
    case .pow:
        return [2, 3, 0.5, -1, -1.5, 1.7].flatMap { unary(.pow($0), domain: (0.3, 2)) }
            + unary(.pow(2)) + unary(.pow(3))
    case .tanh: return unary(.tanh)
    case .sigmoid: return unary(.sigmoid, domain: (-6, 6))
    case .relu: return unary(.relu, gap: 0.05)
    case .sin: return unary(.sin, domain: (-4, 4))
    case .cos: return unary(.cos, domain: (-4, 4))
    case .abs: return unary(.abs, gap: 0.05)
    case .matmul:
        return [
            [[3, 4], [4, 2]], [[2, 3, 4], [2, 4, 5]], [[2, 3, 4], [4, 5]], [[3, 4], [2, 4, 5]],
            [[1, 3, 4], [2, 4, 2]], [[1, 1], [1, 3]],
        ].map { OpCase(op: .matmul, shapes: $0) }
    case .sum: return reductions(.sum)
    case .mean: return reductions(.mean)
    case .max: return reductions(.max)
    case .reshape:
        return [
            OpCase(op: .movement(.reshape([6, -1])), shapes: [[2, 3, 4]]),
            OpCase(op: .movement(.reshape([24])), shapes: [[2, 3, 4]]),
            OpCase(op: .movement(.reshape([1, 1])), shapes: [[]]),
            OpCase(op: .movement(.reshape([])), shapes: [[1, 1, 1]]),
        ]
    case .transpose:
        return [
            OpCase(op: .movement(.transpose(permutation: nil)), shapes: [[3, 4]]),
            OpCase(op: .movement(.transpose(permutation: nil)), shapes: [[2, 3, 4]]),
            OpCase(op: .movement(.transpose(permutation: [2, 0, 1])), shapes: [[2, 3, 4]]),
            OpCase(op: .movement(.transpose(permutation: [1, 0, 3, 2])), shapes: [[2, 1, 3, 2]]),
        ]
    case .broadcast:
        return [
            OpCase(op: .movement(.broadcast([2, 3])), shapes: [[3]]),
            OpCase(op: .movement(.broadcast([2, 4])), shapes: [[2, 1]]),
            OpCase(op: .movement(.broadcast([2, 2])), shapes: [[]]),
            OpCase(op: .movement(.broadcast([2, 3, 2])), shapes: [[3, 1]]),
        ]
    case .slice:
        return [
            OpCase(op: .movement(.slice(axis: 0, start: 1, end: 3)), shapes: [[4, 3]]),
            OpCase(op: .movement(.slice(axis: -1, start: 0, end: 2)), shapes: [[4, 3]]),
            OpCase(op: .movement(.slice(axis: 1, start: 2, end: 3)), shapes: [[2, 4, 2]]),
        ]
    case .concat:
        return [
            OpCase(op: .movement(.concat(axis: 0)), shapes: [[2, 3], [4, 3]]),
            OpCase(op: .movement(.concat(axis: 1)), shapes: [[2, 1], [2, 3], [2, 2]]),
            OpCase(op: .movement(.concat(axis: -1)), shapes: [[3]]),
        ]
    case .softmax, .logSoftmax:
        let log = kind == .logSoftmax
        return [([5], -1), ([3, 4], -1), ([3, 4], 0), ([2, 3, 4], 1)].map {
            OpCase(
                op: .loss(log ? .logSoftmax(axis: $0.1) : .softmax(axis: $0.1)),
                shapes: [Shape($0.0)],
                domain: (-3, 3))
        }
    case .crossEntropy:
        return [
            OpCase(
                op: .loss(.crossEntropy), shapes: [[4, 5], [4]], domain: (-3, 3), labels: (1, 5)),
            OpCase(op: .loss(.crossEntropy), shapes: [[5], []], domain: (-3, 3), labels: (1, 5)),
            OpCase(
                op: .loss(.crossEntropy), shapes: [[2, 3, 4], [2, 3]], domain: (-3, 3),
                labels: (1, 4)),
        ]
    case .sigmoidCrossEntropy:
        return [
            OpCase(
                op: .loss(.sigmoidCrossEntropy), shapes: [[3, 4], [3, 4]], domain: (-4, 4),
                probabilities: [1]),
            OpCase(
                op: .loss(.sigmoidCrossEntropy), shapes: [[3, 4], []], domain: (-4, 4),
                probabilities: [1]),
            OpCase(
                op: .loss(.sigmoidCrossEntropy), shapes: [[], [2, 2]], domain: (-4, 4),
                probabilities: [1]),
        ]
    case .custom:
        return [
            OpCase(op: .custom(Softsign()), shapes: [[3, 2]], gap: 0.05),
            OpCase(op: .custom(Softsign()), shapes: [[]], gap: 0.05),
        ]
    }
}

@Suite struct OpCatalogTests {
    /// Builds `ω = Σ (op(inputs) ⊙ R)` for a random cotangent R, so the VJP is
    /// exercised with a non-trivial cotangent, then checks it two ways:
    /// every element by central differences (`checkGradients`), and the
    /// directional derivative along a random direction u: the finite
    /// difference of ω along u against ⟨∇ω, u⟩ (JAX's check_vjp).
    func check<T: TensorElement>(_ c: OpCase, kind: OpKind, _: T.Type, seed: UInt64) throws {
        var rng = WorkloadGenerator(seed: seed)
        let b = GraphBuilder<T>()
        var nodes: [Node<T>] = []
        for (k, shape) in c.shapes.enumerated() {
            if let labels = c.labels, labels.input == k {
                let values = (0..<shape.count).map { _ in T(rng.int(labels.classes)) }
                nodes.append(b.constant(try Tensor(shape: shape, scalars: values), name: "labels"))
            } else if c.probabilities.contains(k) {
                nodes.append(b.input("x\(k)", .random(shape, &rng, 0.05, 0.95)))
            } else {
                nodes.append(
                    b.input("x\(k)", .random(shape, &rng, c.domain.0, c.domain.1, gap: c.gap)))
            }
        }
        var y = b.apply(c.op, nodes)
        switch kind {  // leaves: use the leaf itself inside an expression
        case .parameter: y = b.parameter("p", .random([2, 3], &rng)) * y
        case .constant: y = b.constant(.random([2, 3], &rng)) * y
        default: break
        }
        let graph = try b.build(
            output: (y * b.constant(.random(Shape(try outputShape(b, y)), &rng))).sum(),
            simplify: false)
        let tol = tolerance(T.self)

        let report = try checkGradients(graph)
        #expect(report.passes(tolerance: tol), "\(kind) \(c) \(T.self):\n\(report)")

        // Directional derivative along u (one random direction for all inputs).
        let analytic = try ReferenceExecutor().gradients(graph)
        let reference = try graph.converted(to: Double.self)
        var plus: [String: Tensor<Double>] = [:], minus: [String: Tensor<Double>] = [:]
        var predicted = 0.0
        let h = 1e-6
        for i in graph.inputs {
            let name = graph.name(of: i)
            let x = graph.value(of: i)!.converted(to: Double.self)
            let u = Tensor<Double>.random(x.shape, &rng)
            plus[name] = x.zipMap(u) { $0 + h * $1 }
            minus[name] = x.zipMap(u) { $0 - h * $1 }
            predicted += zip(analytic.gradients[name]!.scalars, u.scalars).reduce(0) {
                $0 + Double($1.0) * $1.1
            }
        }
        let executor = ReferenceExecutor()
        let numeric =
            try
            (executor.forward(reference, inputs: plus).output.scalar!
            - executor.forward(reference, inputs: minus).output.scalar!) / (2 * h)
        #expect(
            Swift.abs(numeric - predicted) <= tol * Swift.max(1, Swift.abs(numeric)),
            "\(kind) \(c) \(T.self): directional \(numeric) vs \(predicted)")
    }

    private func outputShape<T>(_ b: GraphBuilder<T>, _ y: Node<T>) throws -> [Int] {
        try b.build(output: y, simplify: false).shape(of: y.id).dimensions
    }

    @Test(arguments: OpKind.allCases)
    func vjpMatchesFiniteDifferences(kind: OpKind) throws {
        for (k, c) in catalogCases(kind).enumerated() {
            try check(c, kind: kind, Double.self, seed: UInt64(100 + k))
            try check(c, kind: kind, Float.self, seed: UInt64(200 + k))
        }
    }

    @Test func everyKindHasCases() {
        for kind in OpKind.allCases { #expect(!catalogCases(kind).isEmpty, "\(kind)") }
        // The catalog's names are the graph-file names of design.md §5.
        #expect(OpKind.logSoftmax.rawValue == "log_softmax")
        #expect(OpKind.crossEntropy.rawValue == "cross_entropy")
        #expect(Set(OpKind.allCases.map(\.rawValue)).count == OpKind.allCases.count)
    }
}
