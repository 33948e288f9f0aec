import Backprop
import Testing

// The catalog-driven runtime test: every entry of `OpKind.allCases`, in
// shapes and attributes that reach its runtime kernels (scalars through rank
// 4, broadcasting, every axis form, batched products, several chunks), run
// through `Plan` + `Execution` at 1, 2 and 4 threads, under default and
// finely chunked plan options, with and without the scalar tape. Each run's
// output and gradients must agree with the `ReferenceExecutor` to the element
// type's tolerance, and be bitwise identical across thread counts for one
// set of plan options (design.md §2's determinism contract).
//
// Every `Op` value is made in one place, `CatalogStep.apply(to:in:)`, mostly
// through the public `Node` functions, so that reorganising the `Op` enum
// changes a few lines there.

/// What a case applies to its operands: a catalog entry and its attributes,
/// in the test's own words (not an `Op`).
struct CatalogStep: Sendable, CustomStringConvertible {
    var kind: OpKind
    /// pow's exponent.
    var exponent: Double?
    /// A reduction's axes (`nil`: all of them) and whether it keeps them.
    var axes: [Int]?
    var keepDims = false
    /// The axis of softmax, log softmax, slice and concat.
    var axis: Int?
    /// The target shape of reshape and broadcast.
    var shape: Shape?
    /// transpose's permutation (`nil`: swap the last two axes).
    var permutation: [Int]?
    /// slice's window along `axis`.
    var range: Range<Int>?

    init(
        _ kind: OpKind, exponent: Double? = nil, axes: [Int]? = nil, keepDims: Bool = false,
        axis: Int? = nil, shape: Shape? = nil, permutation: [Int]? = nil, range: Range<Int>? = nil
    ) {
        self.kind = kind
        self.exponent = exponent
        self.axes = axes
        self.keepDims = keepDims
        self.axis = axis
        self.shape = shape
        self.permutation = permutation
        self.range = range
    }

    var description: String {
        var attributes: [String] = []
        if let exponent { attributes.append("exponent: \(exponent)") }
        switch kind {
        case .sum, .mean, .max:
            attributes.append("axes: \(axes.map { "\($0)" } ?? "all")")
            if keepDims { attributes.append("keepDims") }
        case .transpose: attributes.append("permutation: \(permutation.map { "\($0)" } ?? "nil")")
        default: if let axes { attributes.append("axes: \(axes)") }
        }
        if let axis { attributes.append("axis: \(axis)") }
        if let shape { attributes.append("shape: \(shape)") }
        if let range { attributes.append("range: \(range)") }
        return attributes.isEmpty
            ? kind.rawValue : "\(kind.rawValue)(\(attributes.joined(separator: ", ")))"
    }

    /// The node applying this step to `x`: the only place this file makes
    /// an `Op` (a switch without `default:`, like the catalog's).
    func apply<T: TensorElement>(to x: [Node<T>], in b: GraphBuilder<T>) -> Node<T> {
        switch kind {
        case .input, .parameter, .constant:
            preconditionFailure("leaves are operands, made by the case")
        case .identity: return b.apply(.identity, [x[0]])
        case .add: return x[0] + x[1]
        case .sub: return x[0] - x[1]
        case .mul: return x[0] * x[1]
        case .div: return x[0] / x[1]
        case .neg: return -x[0]
        case .exp: return x[0].exp()
        case .log: return x[0].log()
        case .sqrt: return x[0].sqrt()
        case .pow: return x[0].pow(exponent!)
        case .tanh: return x[0].tanh()
        case .sigmoid: return x[0].sigmoid()
        case .relu: return x[0].relu()
        case .sin: return x[0].sin()
        case .cos: return x[0].cos()
        case .abs: return x[0].abs()
        case .matmul: return x[0].matmul(x[1])
        case .sum: return x[0].sum(axes: axes, keepDims: keepDims)
        case .mean: return x[0].mean(axes: axes, keepDims: keepDims)
        case .max: return x[0].max(axes: axes, keepDims: keepDims)
        case .reshape: return x[0].reshaped(shape!)
        case .transpose: return permutation.map { x[0].permuted($0) } ?? x[0].transposed()
        case .broadcast: return x[0].broadcast(to: shape!)
        case .slice: return x[0].slice(axis: axis!, range!)
        case .concat: return concat(x, axis: axis!)
        case .softmax: return x[0].softmax(axis: axis!)
        case .logSoftmax: return x[0].logSoftmax(axis: axis!)
        case .crossEntropy: return crossEntropy(logits: x[0], labels: x[1])
        case .sigmoidCrossEntropy: return sigmoidCrossEntropy(logits: x[0], targets: x[1])
        case .custom: return b.apply(.custom(catalogClosureOp(T.self, arity: x.count)), x)
        }
    }
}

/// The custom op of the catalog cases, a ``ClosureOp`` for `T`: softsign
/// `x / (1 + |x|)` of one operand, or `a · tanh b` of two.
func catalogClosureOp<T: TensorElement>(_: T.Type, arity: Int) -> ClosureOp<T> {
    if arity == 1 {
        return ClosureOp<T>(
            name: "softsign", arity: 1,
            forward: { x in x[0].map { $0 / (1 + Swift.abs($0)) } },
            vjp: { x, _, g in
                [g.zipMap(x[0]) { g, x in g / ((1 + Swift.abs(x)) * (1 + Swift.abs(x))) }]
            })
    }
    return ClosureOp<T>(
        name: "scaled_tanh", arity: 2,
        forward: { x in x[0].zipMap(x[1]) { a, b in a * T.tanh(b) } },
        vjp: { x, _, g in
            let t = x[1].map { T.tanh($0) }
            let slope = x[0].zipMap(t) { a, t in a * (1 - t * t) }
            return [g.zipMap(t) { $0 * $1 }, g.zipMap(slope) { $0 * $1 }]
        })
}

/// One runtime case: the catalog entry it covers, the step it applies and
/// the operands' shapes and values.
struct RuntimeCase: Sendable, CustomStringConvertible {
    /// The catalog entry covered (a leaf kind covers an operand, not the step).
    var kind: OpKind
    var step: CatalogStep
    var shapes: [Shape]
    /// Each operand's leaf kind: input, parameter or constant.
    var leaves: [OpKind]
    /// Operand values are drawn uniformly from this range…
    var domain: (Double, Double) = (-2, 2)
    /// …at least this far from 0 (kinks and poles).
    var gap = 0.0
    /// Operand 1 holds integer class labels in `0..<classes`.
    var classes: Int?
    /// Operands drawn from (0.05, 0.95) (probability targets).
    var probabilities: Set<Int> = []
    /// Whether every operand is the same leaf (operand 0): several edges
    /// from one node into one gradient.
    var sharedOperand = false

    init(
        _ kind: OpKind, _ step: CatalogStep, _ shapes: [Shape], leaves: [OpKind]? = nil,
        domain: (Double, Double) = (-2, 2), gap: Double = 0, classes: Int? = nil,
        probabilities: Set<Int> = [], sharedOperand: Bool = false
    ) {
        self.kind = kind
        self.step = step
        self.shapes = shapes
        self.leaves =
            leaves ?? shapes.indices.map { classes != nil && $0 == 1 ? .constant : .input }
        self.domain = domain
        self.gap = gap
        self.classes = classes
        self.probabilities = probabilities
        self.sharedOperand = sharedOperand
    }

    var description: String {
        var text = "\(step) of \(shapes.map(\.description).joined(separator: " "))"
        if leaves.contains(where: { $0 != .input }) {
            text += " (leaves: \(leaves.map(\.rawValue).joined(separator: ", ")))"
        }
        if sharedOperand { text += " (one shared operand)" }
        return text
    }

    /// The graph `Σ (step(operands) ⊙ W)` for a fixed random W, so every
    /// element of the step's output reaches the loss with its own weight.
    func graph<T: TensorElement>(_: T.Type, seed: UInt64) throws -> Graph<T> {
        var rng = WorkloadGenerator(seed: seed)
        let b = GraphBuilder<T>()
        var operands: [Node<T>] = []
        for (k, shape) in shapes.enumerated() {
            if sharedOperand && k > 0 {
                operands.append(operands[0])
                continue
            }
            let value: Tensor<T>
            if let classes, k == 1 {
                let labels = (0..<shape.count).map { _ in T(rng.int(classes)) }
                value = try Tensor(shape: shape, scalars: labels)
            } else if probabilities.contains(k) {
                value = .random(shape, &rng, 0.05, 0.95)
            } else {
                value = .random(shape, &rng, domain.0, domain.1, gap: gap)
            }
            switch leaves[k] {
            case .parameter: operands.append(b.parameter("p\(k)", value))
            case .constant: operands.append(b.constant(value, name: "c\(k)"))
            default: operands.append(b.input("x\(k)", value))
            }
        }
        let y = step.apply(to: operands, in: b)
        let outputShape = try b.build(output: y, simplify: false).shape(of: y.id)
        let weights = b.constant(.random(outputShape, &rng, -1, 1, gap: 0.1), name: "w")
        return try b.build(output: (y * weights).sum(), simplify: false)
    }
}

/// Every op of the catalog, in cases that reach its runtime kernels. The
/// switch has no `default:`, so a new `OpKind` without runtime cases does
/// not compile.
func runtimeCases(_ kind: OpKind) -> [RuntimeCase] {
    // 320 elements: several chunks (and two-stage reductions of the loss)
    // under the fine plan options; `odd` has chunk boundaries inside rows.
    let large: Shape = [8, 40]
    let odd: Shape = [3, 5, 7]
    func unary(
        _ step: CatalogStep,
        shapes: [Shape] = [[], [7], [3, 4], [2, 3, 4], [2, 1, 2, 3], large, odd],
        domain: (Double, Double) = (-2, 2), gap: Double = 0
    ) -> [RuntimeCase] {
        shapes.map { RuntimeCase(kind, step, [$0], domain: domain, gap: gap) }
    }
    func binary(gap: Double = 0) -> [RuntimeCase] {
        let pairs: [[Shape]] = [
            [[], []], [[2, 3], [2, 3]], [[2, 3], [3]], [[3], [2, 3]], [[4, 1, 3], [2, 1]],
            [[], [2, 2]], [[2, 2], []], [[2, 1, 3, 1], [1, 4, 1, 2]], [large, [40]],
            [[8, 1], large], [large, large], [odd, [5, 1]], [[3, 1, 7], odd],
        ]
        return pairs.map { RuntimeCase(kind, CatalogStep(kind), $0, gap: gap) } + [
            RuntimeCase(
                kind, CatalogStep(kind), [[3, 4], [3, 4]], gap: gap, sharedOperand: true),
            RuntimeCase(kind, CatalogStep(kind), [large, large], gap: gap, sharedOperand: true),
        ]
    }
    func reductions() -> [RuntimeCase] {
        let table: [(Shape, [Int]?, Bool)] = [
            ([], nil, false), ([5], nil, false), ([5], [0], true), ([3, 4], [0], false),
            ([3, 4], [-1], true), ([2, 3, 4], nil, false), ([2, 3, 4], nil, true),
            ([2, 3, 4], [0, 1, 2], false), ([2, 3, 4], [1], false), ([2, 3, 4], [1, -1], true),
            ([2, 3, 4], [-2], false), ([2, 3, 4], [0, 2], false), ([2, 3, 2, 2], [0, 2], true),
            ([2, 3, 2, 2], [-1], false), ([2, 3, 2, 2], [1, 2, 3], false), (large, nil, false),
            (large, [0], false), (large, [1], true), ([160, 3], [0], false), (odd, [1], true),
            (odd, [0, 2], false),
        ]
        return table.map {
            RuntimeCase(kind, CatalogStep(kind, axes: $0.1, keepDims: $0.2), [$0.0])
        }
    }
    func softmaxes() -> [RuntimeCase] {
        let table: [(Shape, Int)] = [
            ([5], -1), ([5], 0), ([3, 4], -1), ([3, 4], 0), ([3, 4], -2), ([1, 4], 0),
            ([2, 3, 4], 0), ([2, 3, 4], 1), ([2, 3, 4], -1), ([2, 2, 3, 2], 2), ([2, 2, 3, 2], -4),
            (large, -1), (large, 0), (odd, 1), (odd, -1),
        ]
        return table.map {
            RuntimeCase(kind, CatalogStep(kind, axis: $0.1), [$0.0], domain: (-3, 3))
        }
    }
    switch kind {
    case .input:
        return [
            RuntimeCase(kind, CatalogStep(.tanh), [[]]),
            RuntimeCase(kind, CatalogStep(.tanh), [[3, 4]]),
            RuntimeCase(kind, CatalogStep(.mul), [[2, 3], [3]]),
            RuntimeCase(kind, CatalogStep(.add), [large, large], sharedOperand: true),
        ]
    case .parameter:
        return [
            RuntimeCase(kind, CatalogStep(.sin), [[]], leaves: [.parameter]),
            RuntimeCase(kind, CatalogStep(.mul), [[], []], leaves: [.parameter, .input]),
            RuntimeCase(
                kind, CatalogStep(.mul), [[2, 3], [2, 3]], leaves: [.parameter, .input]),
            RuntimeCase(kind, CatalogStep(.add), [[3], [4, 3]], leaves: [.parameter, .input]),
            RuntimeCase(
                kind, CatalogStep(.matmul), [[2, 40, 6], [6, 8]], leaves: [.input, .parameter]),
            RuntimeCase(
                kind, CatalogStep(.mul), [[2, 3], [2, 3]], leaves: [.parameter, .parameter]),
        ]
    case .constant:
        return [
            RuntimeCase(kind, CatalogStep(.mul), [[], []], leaves: [.constant, .input]),
            RuntimeCase(kind, CatalogStep(.mul), [[2, 3], [2, 3]], leaves: [.constant, .input]),
            RuntimeCase(kind, CatalogStep(.sub), [[4, 3], [3]], leaves: [.input, .constant]),
            RuntimeCase(kind, CatalogStep(.add), [[40], large], leaves: [.constant, .parameter]),
            RuntimeCase(
                kind, CatalogStep(.matmul), [[3, 4], [4, 2]], leaves: [.constant, .parameter]),
        ]
    case .identity: return unary(CatalogStep(kind), shapes: [[], [3, 4], [2, 3, 4], large])
    case .add, .sub, .mul: return binary()
    case .div: return binary(gap: 0.5)
    case .neg, .tanh: return unary(CatalogStep(kind))
    case .exp: return unary(CatalogStep(kind), domain: (-2, 2))
    case .log, .sqrt: return unary(CatalogStep(kind), domain: (0.2, 3))
    case .pow:
        let few: [Shape] = [[], [3, 4], large]
        return unary(CatalogStep(kind, exponent: 2)) + unary(CatalogStep(kind, exponent: 3))
            + unary(CatalogStep(kind, exponent: 0.5), domain: (0.3, 2))
            + unary(CatalogStep(kind, exponent: -1), gap: 0.3)
            + unary(CatalogStep(kind, exponent: 1.7), shapes: few, domain: (0.3, 2))
            + unary(CatalogStep(kind, exponent: 1), shapes: few)
            + unary(CatalogStep(kind, exponent: 0), shapes: few)
    case .sigmoid: return unary(CatalogStep(kind), domain: (-6, 6))
    case .relu, .abs: return unary(CatalogStep(kind), gap: 0.05)
    case .sin, .cos: return unary(CatalogStep(kind), domain: (-4, 4))
    case .matmul:
        let table: [[Shape]] = [
            [[3, 4], [4, 2]], [[1, 1], [1, 3]], [[2, 3, 4], [2, 4, 5]], [[2, 3, 4], [4, 5]],
            [[3, 4], [2, 4, 5]], [[1, 3, 4], [2, 4, 2]], [[2, 3, 4], [1, 4, 2]],
            [[70, 5], [5, 3]], [[2, 40, 6], [6, 8]], [[40, 6], [3, 6, 5]],
            [[3, 24, 5], [3, 5, 4]], [[3, 37, 5], [5, 7]], [[3, 37, 5], [3, 5, 7]],
        ]
        return table.map { RuntimeCase(kind, CatalogStep(kind), $0) } + [
            RuntimeCase(kind, CatalogStep(kind), [[4, 4], [4, 4]], sharedOperand: true),
            RuntimeCase(kind, CatalogStep(kind), [[2, 5, 5], [2, 5, 5]], sharedOperand: true),
        ]
    case .sum, .mean: return reductions()
    case .max: return reductions()
    case .reshape:
        let table: [(Shape, Shape)] = [
            ([2, 3, 4], [6, -1]), ([2, 3, 4], [24]), ([], [1, 1]), ([1, 1, 1], []), ([], []),
            ([2, 3, 4], [2, 2, 3, 2]), ([2, 2, 3, 2], [-1, 6]), ([3, 4], [4, 3]), (large, [4, 80]),
            (odd, [15, 7]),
        ]
        return table.map { RuntimeCase(kind, CatalogStep(kind, shape: $0.1), [$0.0]) }
    case .transpose:
        let table: [(Shape, [Int]?)] = [
            ([3, 4], nil), ([2, 3, 4], nil), ([2, 3], [1, 0]), ([2, 3, 4], [2, 0, 1]),
            ([2, 3, 4], [0, 1, 2]), ([2, 3, 4], [1, 0, 2]), ([2, 1, 3, 2], [1, 0, 3, 2]),
            ([2, 3, 2, 2], [3, 2, 1, 0]), (large, nil), ([4, 8, 10], [2, 0, 1]), (odd, [1, 2, 0]),
        ]
        return table.map { RuntimeCase(kind, CatalogStep(kind, permutation: $0.1), [$0.0]) }
    case .broadcast:
        let table: [(Shape, Shape)] = [
            ([3], [2, 3]), ([2, 1], [2, 4]), ([], [2, 2]), ([], []), ([], [4]),
            ([3, 1], [2, 3, 2]),
            ([1, 3, 1, 2], [2, 3, 4, 2]), ([40], large), ([8, 1], large), ([5, 1], odd),
        ]
        return table.map { RuntimeCase(kind, CatalogStep(kind, shape: $0.1), [$0.0]) }
    case .slice:
        let table: [(Shape, Int, Range<Int>)] = [
            ([4, 3], 0, 1..<3), ([4, 3], -1, 0..<2), ([7], 0, 2..<6), ([2, 4, 2], 1, 2..<3),
            ([2, 4, 2], -2, 0..<4), ([2, 3, 4, 2], 2, 1..<3), (large, 1, 5..<37), (large, 0, 1..<7),
            (odd, 2, 1..<6),
        ]
        return table.map { RuntimeCase(kind, CatalogStep(kind, axis: $0.1, range: $0.2), [$0.0]) }
    case .concat:
        let table: [([Shape], Int)] = [
            ([[2, 3], [4, 3]], 0), ([[2, 1], [2, 3], [2, 2]], 1), ([[3], [4]], -1),
            ([[2, 3, 2], [2, 1, 2], [2, 2, 2]], 1), ([[2, 2, 3, 1], [2, 2, 3, 2]], -1),
            ([[2, 2, 3], [1, 2, 3]], -3), ([large, [8, 20]], 1), ([[4, 40], [4, 40], large], 0),
            ([odd, [3, 2, 7]], 1),
        ]
        return table.map { RuntimeCase(kind, CatalogStep(kind, axis: $0.1), $0.0) } + [
            RuntimeCase(
                kind, CatalogStep(kind, axis: 1), [[3, 2], [3, 2], [3, 2]], sharedOperand: true)
        ]
    case .softmax, .logSoftmax: return softmaxes()
    case .crossEntropy:
        let table: [[Shape]] = [
            [[4, 5], [4]], [[5], []], [[3, 1], [3]], [[2, 3, 4], [2, 3]],
            [[2, 2, 3, 4], [2, 2, 3]],
            [[96, 10], [96]], [odd, [3, 5]],
        ]
        return table.map {
            RuntimeCase(
                kind, CatalogStep(kind), $0, domain: (-3, 3), classes: $0[0].dimensions.last!)
        } + [
            // Labels fed as an input: no gradient flows to them.
            RuntimeCase(
                kind, CatalogStep(kind), [[4, 5], [4]], leaves: [.input, .input], domain: (-3, 3),
                classes: 5)
        ]
    case .sigmoidCrossEntropy:
        let table: [[Shape]] = [
            [[], []], [[3, 4], [3, 4]], [[3, 4], []], [[], [2, 2]], [[3, 4], [4]], [[4], [3, 4]],
            [[2, 1, 3], [4, 1]], [[2, 1, 3, 1], [1, 2, 1, 2]], [large, large], [large, [40]],
            [[8, 1], large], [odd, [5, 1]],
        ]
        return table.map {
            RuntimeCase(kind, CatalogStep(kind), $0, domain: (-4, 4), probabilities: [1])
        }
    case .custom:
        let table: [[Shape]] = [
            [[]], [[3, 2]], [large], [[], []], [[3, 2], [3, 2]], [[2, 3, 4], [2, 3, 4]],
        ]
        return table.map { RuntimeCase(kind, CatalogStep(kind), $0, gap: 0.05) } + [
            RuntimeCase(
                kind, CatalogStep(kind), [[3, 2], [3, 2]], gap: 0.05, sharedOperand: true)
        ]
    }
}

/// The first element where `got` and `expected` differ by more than
/// `tolerance · (1 + |expected|)`, described; `nil` when none does.
func firstMismatch<T: TensorElement>(_ got: Tensor<T>, _ expected: Tensor<T>, tolerance: Double)
    -> String?
{
    guard got.shape == expected.shape else {
        return "shape \(got.shape), expected \(expected.shape)"
    }
    for (k, (g, e)) in zip(got.scalars, expected.scalars).enumerated() {
        let (g, e) = (Double(g), Double(e))
        if g.isNaN && e.isNaN { continue }
        if !(Swift.abs(g - e) <= tolerance * (1 + Swift.abs(e))) {
            return "element \(k): expected \(e), got \(g)"
        }
    }
    return nil
}

/// The first element whose bits differ, described; `nil` when none does.
func firstBitDifference<T: TensorElement>(_ got: Tensor<T>, _ expected: Tensor<T>) -> String? {
    guard got.shape == expected.shape else {
        return "shape \(got.shape), expected \(expected.shape)"
    }
    for (k, (g, e)) in zip(got.scalars, expected.scalars).enumerated()
    where g.sign != e.sign || g.exponentBitPattern != e.exponentBitPattern
        || g.significandBitPattern != e.significandBitPattern
    {
        return "element \(k): \(e) at 1 thread, \(g) here"
    }
    return nil
}

@Suite struct CatalogRuntimeTests {
    static let threadCounts = [1, 2, 4]
    static let runtimes = threadCounts.map { Runtime(threads: $0) }

    /// Default options, and options fine enough that the small tensors of
    /// these cases split into several chunks, run parallel phases, go
    /// through partial buffers and joins, and fold reductions in two stages.
    static let planOptions: [(name: String, options: PlanOptions)] = [false, true].flatMap {
        tape in
        [
            ("default", PlanOptions(scalarTape: tape)),
            (
                "fine",
                PlanOptions(grain: 64, inlineThreshold: 256, maxChunksPerNode: 16, scalarTape: tape)
            ),
        ].map { ("\($0.0), scalarTape: \(tape)", $0.1) }
    }

    /// Runs one case for one element type under every plan option set at
    /// every thread count, checking against the reference and bitwise
    /// against the 1-thread run.
    func check<T: TensorElement>(_ c: RuntimeCase, _: T.Type, seed: UInt64) throws {
        let graph = try c.graph(T.self, seed: seed)
        let reference = try ReferenceExecutor().gradients(graph)
        let tol = tolerance(T.self)
        let allScalar = (0..<graph.count).allSatisfy { graph.shape(of: $0).isScalar }
        for (name, options) in Self.planOptions {
            let plan = Plan(graph, options: options)
            // The scalar tape takes every all-scalar graph it has codes for
            // (custom ops have none), and nothing else.
            let tape = options.scalarTape && allScalar && c.step.kind != .custom
            #expect(
                plan.statistics.scalarTape == tape,
                "\(c) \(T.self) [\(name)]: scalarTape is \(plan.statistics.scalarTape)")
            var first: (output: Tensor<T>, gradients: [String: Tensor<T>])?
            for (threads, runtime) in zip(Self.threadCounts, Self.runtimes) {
                let execution = try Execution(plan: plan, runtime: runtime)
                try execution.run(on: runtime)
                let result = (output: execution.output, gradients: execution.gradients)
                let context = "\(c) \(T.self) [\(name), \(threads) threads]"
                #expect(
                    Set(result.gradients.keys) == Set(reference.gradients.keys),
                    "\(context): gradients of \(result.gradients.keys.sorted())")
                if let problem = firstMismatch(result.output, reference.output, tolerance: tol) {
                    Issue.record("\(context): output vs reference: \(problem)")
                }
                for (input, expected) in reference.gradients.sorted(by: { $0.key < $1.key }) {
                    guard let got = result.gradients[input] else { continue }
                    if let problem = firstMismatch(got, expected, tolerance: tol) {
                        Issue.record("\(context): gradient of \(input) vs reference: \(problem)")
                    }
                }
                if let first {
                    if let problem = firstBitDifference(result.output, first.output) {
                        Issue.record("\(context): output not bitwise equal: \(problem)")
                    }
                    for (input, g) in first.gradients.sorted(by: { $0.key < $1.key }) {
                        guard let got = result.gradients[input] else { continue }
                        if let problem = firstBitDifference(got, g) {
                            Issue.record(
                                "\(context): gradient of \(input) not bitwise equal: \(problem)")
                        }
                    }
                } else {
                    first = result
                }
                if threads == Self.threadCounts.last {
                    // Re-running an execution gives the same bits.
                    try execution.run(on: runtime)
                    #expect(
                        execution.output.isBitwiseEqual(to: result.output)
                            && execution.gradients.allSatisfy {
                                $0.value.isBitwiseEqual(to: result.gradients[$0.key]!)
                            }, "\(context): a second run differs")
                }
            }
        }
    }

    @Test(arguments: OpKind.allCases)
    func matchesTheReferenceBitwiseAtEveryThreadCount(kind: OpKind) throws {
        let cases = runtimeCases(kind)
        var checked = 0
        for (k, c) in cases.enumerated() {
            let seed = UInt64(1000 * (OpKind.allCases.firstIndex(of: kind)! + 1) + k)
            do {
                try check(c, Double.self, seed: seed)
                try check(c, Float.self, seed: seed)
                checked += 1
            } catch {
                Issue.record("\(c): \(error)")
            }
        }
        #expect(
            checked == cases.count && checked > 0, "\(kind): \(checked) of \(cases.count) cases ran"
        )
    }

    /// Every catalog entry has runtime cases, each case's graph really holds
    /// a node of its kind that the loss depends on, and the runtime runs it.
    @Test func everyKindHasACaseThatRuns() throws {
        for kind in OpKind.allCases {
            let cases = runtimeCases(kind)
            #expect(!cases.isEmpty, "\(kind) has no runtime cases")
            for (k, c) in cases.enumerated() {
                #expect(c.kind == kind)
                let graph = try c.graph(Double.self, seed: UInt64(k))
                let present = (0..<graph.count).contains {
                    graph.op(of: $0).kind == kind && graph.outputDepends(on: $0)
                }
                #expect(present, "\(kind): \(c) has no \(kind) node in the loss's cone")
            }
            guard let c = cases.first else { continue }
            let plan = Plan(try c.graph(Double.self, seed: 0), options: Self.planOptions[1].options)
            let execution = try Execution(plan: plan, runtime: Self.runtimes[1])
            try execution.run(on: Self.runtimes[1])
            #expect(execution.output.scalar?.isFinite == true, "\(kind): \(c)")
        }
    }
}
