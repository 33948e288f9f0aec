import Testing

@testable import Backprop

/// The case's name; the switch has no default, so a new case fails to compile here.
func caseName(_ e: GraphError) -> String {
    switch e {
    case .shapeMismatch: "shapeMismatch"
    case .typeMismatch: "typeMismatch"
    case .invalidAttribute: "invalidAttribute"
    case .wrongInputCount: "wrongInputCount"
    case .unknownName: "unknownName"
    case .duplicateName: "duplicateName"
    case .danglingReference: "danglingReference"
    case .cycle: "cycle"
    case .nonScalarOutput: "nonScalarOutput"
    case .missingValue: "missingValue"
    case .notAnInput: "notAnInput"
    }
}

@Suite struct GraphErrorTests {
    func error(_ body: () throws -> Void) -> GraphError? {
        do {
            try body()
            return nil
        } catch let e as GraphError {
            return e
        } catch {
            Issue.record("not a GraphError: \(error)")
            return nil
        }
    }

    func def(_ name: String, _ op: Op, _ inputs: [String] = [], _ value: Tensor<Double>? = nil)
        -> NodeDefinition<Double>
    {
        NodeDefinition(name: name, op: op, inputs: inputs, value: value)
    }

    /// Each case, produced the way a user would meet it, naming its node.
    @Test func everyCaseIsProducedAndNamesTheNode() throws {
        var seen: Set<String> = []
        func expectError(_ node: String, _ fragment: String, _ body: () throws -> Void) {
            guard let e = error(body) else {
                Issue.record("expected an error naming '\(node)'")
                return
            }
            seen.insert(caseName(e))
            #expect(e.node == node, "\(e)")
            #expect(e.description.contains("'\(node)'"), "\(e)")
            #expect(e.description.contains(fragment), "\(e)")
        }

        // shapeMismatch: [2, 3] + [4] cannot broadcast.
        expectError("bad_add", "cannot be broadcast") {
            let b = GraphBuilder<Double>()
            let s = b.input("a", .zeros([2, 3])) + b.input("c", .zeros([4]))
            _ = try b.build(output: s.named("bad_add").sum())
        }
        // typeMismatch: a Float-only custom op in a Double graph.
        expectError("sq", "does not support float64") {
            let op = ClosureOp<Float>(name: "square", forward: { $0[0] }, vjp: { _, _, g in [g] })
            let b = GraphBuilder<Double>()
            _ = try b.build(output: op(b.input("x", 1.0)).named("sq"))
        }
        // invalidAttribute: axis 3 of a rank-2 tensor.
        expectError("s", "axis 3 is out of range") {
            let b = GraphBuilder<Double>()
            _ = try b.build(output: b.input("x", .zeros([2, 2])).sum(axes: [3]).named("s"))
        }
        // wrongInputCount: matmul with one input, through a definition.
        expectError("m", "takes 2 inputs, got 1") {
            _ = try Graph(
                definitions: [def("x", .input, [], 1), def("m", .matmul, ["x"])], output: "m")
        }
        // unknownName: a reference to a node that does not exist.
        expectError("y", "'nope'") {
            _ = try Graph(
                definitions: [def("x", .input, [], 1), def("y", .unary(.exp), ["nope"])],
                output: "y")
        }
        // duplicateName.
        expectError("x", "duplicate") {
            _ = try Graph(
                definitions: [def("x", .input, [], 1), def("x", .input, [], 2)], output: "x")
        }
        // danglingReference: a handle of another builder.
        expectError("mix", "another GraphBuilder") {
            let b1 = GraphBuilder<Double>(), b2 = GraphBuilder<Double>()
            let s = (b1.input("a", 1.0) + b2.input("b", 2.0)).named("mix")
            _ = try b1.build(output: s)
        }
        // cycle: a → b → c → a, reported as a path.
        expectError("a", "'a' -> 'c' -> 'b' -> 'a'") {
            _ = try Graph(
                definitions: [
                    def("x", .input, [], 1), def("a", .binary(.add), ["x", "b"]),
                    def("c", .unary(.exp), ["a"]), def("b", .unary(.sin), ["c"]),
                ], output: "b")
        }
        // nonScalarOutput: gradient of a vector output.
        expectError("v", "needs a scalar output") {
            let b = GraphBuilder<Double>()
            _ = try ReferenceExecutor().gradients(
                b.build(output: exp(b.input("x", .zeros([3]))).named("v")))
        }
        // missingValue: an input without a default, not fed.
        expectError("x", "has no value") {
            let b = GraphBuilder<Double>()
            _ = try ReferenceExecutor().gradients(b.build(output: b.input("x", shape: []).exp()))
        }
        // notAnInput: feeding a computed node.
        expectError("e", "cannot be fed") {
            let b = GraphBuilder<Double>()
            let g = try b.build(output: b.input("x", 1.0).exp().named("e"))
            _ = try ReferenceExecutor().forward(g, inputs: ["e": 2.0])
        }
        let all: Set<String> = [
            "shapeMismatch", "typeMismatch", "invalidAttribute", "wrongInputCount", "unknownName",
            "duplicateName", "danglingReference", "cycle", "nonScalarOutput", "missingValue",
            "notAnInput",
        ]
        #expect(seen == all)
    }

    @Test func cycleThroughASelfLoopAndOutputNames() throws {
        let e1 = error { _ = try Graph(definitions: [def("a", .unary(.exp), ["a"])], output: "a") }
        #expect(e1 == .cycle(path: ["a", "a"]))
        let e2 = error { _ = try Graph(definitions: [def("a", .input, [], 1)], output: "b") }
        #expect(e2 == .unknownName("b", referencedBy: "output"))
    }

    @Test func unnamedNodesAreNamedByOpAndID() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", .zeros([2]))
        let y = b.input("y", .zeros([3]))
        let e = error { _ = try b.build(output: (x * y).sum()) }
        #expect(
            e
                == .shapeMismatch(
                    node: "mul#2", message: "shapes [2] and [3] cannot be broadcast together"))
    }

    @Test func invalidShapesAndAttributes() throws {
        let cases: [(String, (GraphBuilder<Double>) -> Node<Double>)] = [
            ("rank 5 exceeds", { $0.input("x", shape: [1, 1, 1, 1, 1]) }),
            ("not positive", { $0.input("x", shape: [2, 0]) }),
            ("is not a permutation", { $0.input("x", .zeros([2, 3])).permuted([0, 0]) }),
            ("is empty or outside", { $0.input("x", .zeros([4])).slice(axis: 0, 3..<3) }),
            ("is empty or outside", { $0.input("x", .zeros([4])).slice(axis: 0, 2..<5) }),
            ("listed twice", { $0.input("x", .zeros([2, 3])).sum(axes: [1, -1]) }),
            ("at most one extent", { $0.input("x", .zeros([4])).reshaped([-1, -1]) }),
            ("needs rank ≥ 2", { $0.input("x", .zeros([4])).transposed() }),
        ]
        for (fragment, make) in cases {
            let b = GraphBuilder<Double>()
            let e = error { _ = try b.build(output: make(b)) }
            #expect(e.map(caseName) == "invalidAttribute", "\(fragment): \(String(describing: e))")
            #expect(e?.description.contains(fragment) == true, "\(String(describing: e))")
        }
        let mismatches: [(String, (GraphBuilder<Double>) -> Node<Double>)] = [
            ("cannot reshape", { $0.input("x", .zeros([4])).reshaped([3]) }),
            (
                "cannot broadcast [3] to [2, 4]",
                { $0.input("x", .zeros([3])).broadcast(to: [2, 4]) }
            ),
            (
                "inner extents differ",
                { $0.input("a", .zeros([2, 3])).matmul($0.input("b", .zeros([2, 3]))) }
            ),
            (
                "rank-2 or rank-3",
                { $0.input("a", .zeros([3])).matmul($0.input("b", .zeros([3, 1]))) }
            ),
            (
                "batch extents differ",
                { $0.input("a", .zeros([2, 1, 3])).matmul($0.input("b", .zeros([3, 3, 1]))) }
            ),
            (
                "cannot concatenate",
                {
                    concat(
                        [$0.input("a", .zeros([2, 3])), $0.input("b", .zeros([3, 2]))], axis: 0)
                }
            ),
            (
                "labels must have shape [4]",
                {
                    crossEntropy(
                        logits: $0.input("z", .zeros([4, 3])), labels: $0.constant(.zeros([3])))
                }
            ),
        ]
        for (fragment, make) in mismatches {
            let b = GraphBuilder<Double>()
            let e = error { _ = try b.build(output: make(b)) }
            #expect(e.map(caseName) == "shapeMismatch", "\(fragment): \(String(describing: e))")
            #expect(e?.description.contains(fragment) == true, "\(String(describing: e))")
        }
    }

    @Test func feedsAreChecked() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", .zeros([2]))
        let g = try b.build(output: x.sum())
        #expect(throws: GraphError.unknownName("z", referencedBy: "inputs")) {
            try ReferenceExecutor().forward(g, inputs: ["z": 1.0])
        }
        #expect(
            throws: GraphError.shapeMismatch(
                node: "x", message: "fed a value of shape [3], the input has shape [2]")
        ) {
            try ReferenceExecutor().forward(g, inputs: ["x": Tensor([1.0, 2, 3])])
        }
        #expect(
            try ReferenceExecutor().forward(g, inputs: ["x": Tensor([1.0, 2])]).output.scalar == 3)
    }
}

@Suite struct ExecutionErrorTests {
    @Test func invalidLabelsAreReportedNotTrapped() throws {
        for bad in [5.0, -1.0, 1.5, .nan] {
            let b = GraphBuilder<Double>()
            let z = b.input("z", .zeros([2, 5]))
            let labels = b.input("labels", Tensor([0.0, bad]))
            let g = try b.build(output: crossEntropy(logits: z, labels: labels).named("ce").mean())
            #expect(throws: ExecutionError.self) { try ReferenceExecutor().gradients(g) }
            do {
                _ = try ReferenceExecutor().gradients(g)
            } catch let ExecutionError.invalidLabel(node, index, _, classes) {
                #expect(node == "ce" && index == 1 && classes == 5)
            }
        }
    }

    @Test func customOpContractViolationsAreErrors() throws {
        struct Failure: Error {}
        let wrongShape = ClosureOp<Double>(
            name: "wrong_shape", forward: { _ in Tensor(1.0) }, vjp: { _, _, g in [g] })
        let throwing = ClosureOp<Double>(
            name: "throws", forward: { _ in throw Failure() }, vjp: { _, _, g in [g] })
        let wrongCount = ClosureOp<Double>(
            name: "wrong_count", forward: { $0[0] }, vjp: { _, _, g in [g, g] })
        let wrongGradShape = ClosureOp<Double>(
            name: "wrong_grad", forward: { $0[0] }, vjp: { _, _, _ in [Tensor(1.0)] })
        for op in [wrongShape, throwing, wrongCount, wrongGradShape] {
            let b = GraphBuilder<Double>()
            let g = try b.build(output: op(b.input("x", .zeros([3]))).named("c").sum())
            #expect(throws: ExecutionError.self, "\(op.name)") {
                try ReferenceExecutor().gradients(g)
            }
        }
    }
}
