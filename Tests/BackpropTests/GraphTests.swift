import BackpropWorkloads
import Testing

@testable import Backprop

@Suite struct GraphStructureTests {
    @Test func parentsChildrenLevelsAndOrder() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 1.0), y = b.input("y", 2.0)
        let s = (x + y).named("s")
        let p = (s * x).named("p")
        let q = (p * y).named("q")
        let unused = exp(y).named("unused")
        let g = try b.build(output: q)
        #expect(Array(g.parents(of: p.id)) == [s.id, x.id])
        #expect(Array(g.children(of: x.id)) == [s.id, p.id])
        #expect(Array(g.children(of: y.id)) == [s.id, q.id, unused.id])
        #expect(g.levels == [[x.id, y.id], [s.id, unused.id], [p.id], [q.id]])
        #expect(g.level(of: q.id) == 3)
        #expect(g.topologicalOrder.count == 6)
        #expect(g.forwardOrder == [x.id, y.id, s.id, p.id, q.id])
        #expect(!g.outputDepends(on: unused.id))
        #expect(g.inputs == [x.id, y.id])
        #expect(g.node(named: "p") == p.id)
        #expect(g.name(of: unused.id) == "unused")
        #expect(g.shape(of: q.id) == .scalar)
        #expect(g.dtype == .float64)
        // Every node comes after its parents.
        var position = [Int](repeating: 0, count: g.count)
        for (k, n) in g.topologicalOrder.enumerated() { position[n] = k }
        for n in 0..<g.count { #expect(g.parents(of: n).allSatisfy { position[$0] < position[n] }) }
    }

    @Test func definitionsMayReferenceLaterNodes() throws {
        let g = try Graph<Double>(
            definitions: [
                NodeDefinition(name: "out", op: .binary(.mul), inputs: ["s", "x"]),
                NodeDefinition(name: "s", op: .binary(.add), inputs: ["x", "x"]),
                NodeDefinition(name: "x", op: .input, value: 3.0),
            ], output: "out")
        #expect(g.forwardOrder == [2, 1, 0])
        let r = try ReferenceExecutor().gradients(g)
        #expect(r.output.scalar == 18)
        #expect(r.gradients["x"]?.scalar == 12)
    }

    @Test func unreachableInputsGetZeroGradientsAndAllNodeGradients() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", Tensor([1.0, 2]))
        let w = b.parameter("w", .zeros([3]))
        let c = b.constant(2.0)
        let y = (x * c).sum()
        let r = try ReferenceExecutor().gradients(b.build(output: y), allNodes: true)
        #expect(r[w] == .zeros([3]))
        #expect(r[x] == Tensor([2.0, 2]))
        #expect(r.gradients["w"] == .zeros([3]))
        #expect(r.nodeGradients?[y.id] == Tensor(1.0))
        #expect(r[c] == Tensor(3.0))  // z of the constant: Σ x
        #expect(r.gradients.count == 2)
    }

    @Test func floatGraphsWorkAndConvert() throws {
        let b = GraphBuilder<Float>()
        let x = b.input("x", 0.5)
        let g = try b.build(output: tanh(x) * x)
        #expect(g.dtype == .float32)
        let r = try ReferenceExecutor().gradients(g)
        let d = try ReferenceExecutor().gradients(g.converted(to: Double.self))
        #expect(Swift.abs(Double(r[x]!.scalar!) - d.gradients["x"]!.scalar!) < 1e-6)
    }
}

@Suite struct GradientCheckTests {
    @Test func fedLabelsAreNotPerturbed() throws {
        var rng = WorkloadGenerator(seed: 4)
        let b = GraphBuilder<Double>()
        let z = b.input("z", .random([3, 4], &rng))
        let labels = b.input("labels", Tensor([3.0, 0, 2]))
        let g = try b.build(output: crossEntropy(logits: z, labels: labels).mean())
        let report = try checkGradients(g)
        #expect(report.entries.map(\.input) == ["z"])
        #expect(report.passes(tolerance: 1e-8), "\(report)")
        let r = try ReferenceExecutor().gradients(g)
        #expect(r.gradients["labels"] == .zeros([3]))
    }

    @Test func aWrongGradientFailsTheCheck() throws {
        // A custom op whose VJP is off by a factor 2 must be caught.
        let wrong = ClosureOp<Double>(
            name: "wrong", forward: { $0[0].map { $0 * $0 } },
            vjp: { x, _, g in
                [g.zipMap(x[0]) { $0 * $1 }]
            })
        let b = GraphBuilder<Double>()
        let g = try b.build(output: wrong(b.input("x", Tensor([0.25, -2]))).sum())
        let report = try checkGradients(g)
        #expect(!report.passes(tolerance: 1e-3))
        #expect(Swift.abs(report.entries[0].maxAbsoluteError - 2) < 1e-6)
        #expect(report.entries[0].worstElement == 1)
    }
}

@Suite struct SimplifierTests {
    @Test func eachRuleFiresAndPreservesValues() throws {
        var rng = WorkloadGenerator(seed: 21)
        let cases: [(RewriteRule, (Node<Double>) -> Node<Double>)] = [
            (.logOfExp, { log(exp($0)) }),
            (.negOfNeg, { -(-$0) }),
            (.logOfSoftmax, { log($0.softmax()) }),
            (.logOfSigmoid, { log(sigmoid($0)) }),
            (.softplus, { log(1 + exp($0)) }),
            (.softplus, { log(exp($0) + 1) }),
        ]
        for (rule, make) in cases {
            let b = GraphBuilder<Double>()
            let x = b.input("x", .random([2, 3], &rng, -3, 3))
            let f = make(x).sum()
            let simplified = try b.build(output: f)
            let plain = try b.build(output: f, simplify: false)
            #expect(simplified.rewrites.map(\.rule) == [rule])
            #expect(plain.rewrites.isEmpty)
            let a = try ReferenceExecutor().gradients(simplified),
                p = try ReferenceExecutor().gradients(plain)
            #expect(
                a.output.isApproximatelyEqual(
                    to: p.output, relativeTolerance: 1e-12, absoluteTolerance: 1e-12))
            #expect(
                a[x]!.isApproximatelyEqual(
                    to: p[x]!, relativeTolerance: 1e-12, absoluteTolerance: 1e-12), "\(rule)")
            #expect(try checkGradients(simplified).passes(tolerance: 1e-7))
        }
    }

    @Test func nestedCompositionsAndNonMatches() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 700.0)
        let g = try b.build(output: log(exp(log(exp(x * 2)))))
        #expect(g.rewrites.count == 2)
        let r = try ReferenceExecutor().gradients(g)
        #expect(r.output.scalar == 1400)
        #expect(r[x]?.scalar == 2)
        // log(2 + exp(u)) is not softplus; log(1 + exp(u)) with a [3] constant of 1s
        // that would enlarge a scalar u is not rewritten either.
        let c = GraphBuilder<Double>()
        let u = c.input("u", 0.5)
        #expect(try c.build(output: log(2 + exp(u))).rewrites.isEmpty)
        #expect(try c.build(output: log(c.constant(.ones([3])) + exp(u)).sum()).rewrites.isEmpty)
    }

    @Test func softplusIsExactWhereThePlainFormOverflows() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 1000.0)
        let r = try ReferenceExecutor().gradients(b.build(output: log(1 + exp(x))))
        #expect(r.output.scalar == 1000)
        #expect(r[x]?.scalar == 1)
    }
}

@Suite struct CustomOpTests {
    @Test func closureOpIsUsedLikeABuiltIn() throws {
        // hypot(a, b) = √(a² + b²), elementwise, with its VJP (a/h, b/h).
        let hypot = ClosureOp<Double>(
            name: "hypot", arity: 2,
            forward: { x in x[0].zipMap(x[1]) { ($0 * $0 + $1 * $1).squareRoot() } },
            vjp: { x, y, g in
                [g.zipMap(x[0].zipMap(y, /), *), g.zipMap(x[1].zipMap(y, /), *)]
            })
        let b = GraphBuilder<Double>()
        let a = b.input("a", Tensor([3.0, 5]))
        let c = b.input("c", Tensor([4.0, 12]))
        let g = try b.build(output: (hypot(a, c) * 2).sum())
        let r = try ReferenceExecutor().gradients(g)
        #expect(r.output.scalar == 36)
        #expect(r[a] == Tensor([1.2, 10.0 / 13]))
        #expect(try checkGradients(g).passes(tolerance: 1e-8))
        // The declared arity is enforced at build time.
        #expect(
            throws: GraphError.wrongInputCount(node: "hypot#1", op: "hypot", expected: "2", got: 1)
        ) {
            let d = GraphBuilder<Double>()
            _ = try d.build(output: hypot(d.input("a", 1.0)))
        }
    }

    @Test func genericCustomOpRunsInBothElementTypes() throws {
        let b = GraphBuilder<Float>()
        let x = b.input("x", Tensor([-2, 0.5]))
        let g = try b.build(output: Softsign()(x).sum())
        #expect(try checkGradients(g).passes(tolerance: 1e-3))
        let r = try ReferenceExecutor().gradients(g)
        #expect(r[x] == Tensor([1.0 / 9, 1 / 2.25]))
    }
}

@Suite struct TensorTests {
    @Test func shapesAndBroadcasting() throws {
        #expect(Shape([2, 3, 4]).strides == [12, 4, 1])
        #expect(Shape.scalar.count == 1)
        #expect(Shape.broadcast([2, 1, 3], [4, 1]) == [2, 4, 3])
        #expect(Shape.broadcast([], [5]) == [5])
        #expect(Shape.broadcast([2, 3], [3, 2]) == nil)
        #expect(Shape([2, 3]).normalizedAxis(-1) == 1)
        #expect(Shape([2, 3]).normalizedAxis(2) == nil)
        #expect(Shape([Int.max, 4]).checkedCount == nil)
    }

    @Test func constructionIsChecked() throws {
        #expect(throws: TensorError.countMismatch(shape: [2, 2], count: 3)) {
            try Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3])
        }
        #expect(throws: TensorError.ragged) { try Tensor<Double>(rows: [[1, 2], [3]]) }
        #expect(throws: TensorError.self) {
            try Tensor<Double>(shape: [1, 1, 1, 1, 1], scalars: [1])
        }
        let t = try Tensor<Double>(rows: [[1, 2], [3, 4]])
        #expect(t[1, 0] == 3)
        #expect(t.description == "[[1.0, 2.0], [3.0, 4.0]]")
        #expect(Tensor<Float>(2.5).description == "2.5")
        #expect(try t.reshaped(to: [4]) == Tensor([1.0, 2, 3, 4]))
    }

    @Test func equalityHelpers() throws {
        let a = Tensor([1.0, .nan, .infinity])
        #expect(a.isApproximatelyEqual(to: Tensor([1.0 + 1e-9, .nan, .infinity])))
        #expect(!a.isApproximatelyEqual(to: Tensor([1.0, .nan, -.infinity])))
        #expect(Tensor([0.0]).isBitwiseEqual(to: Tensor([0.0])))
        #expect(!Tensor([0.0]).isBitwiseEqual(to: Tensor([-0.0])))
        #expect(Tensor([1.0, 2]).maxAbsoluteDifference(from: Tensor([1.5, 1])) == 1)
        #expect(Tensor([1.0]).converted(to: Float.self) == Tensor<Float>([1]))
    }
}
