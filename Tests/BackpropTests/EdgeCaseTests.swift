import BackpropWorkloads
import Testing

@testable import Backprop

/// Inputs found to crash or mislead in review; each must now give a typed
/// error or the exact value.
@Suite struct EdgeCaseTests {
    func graphError(_ body: () throws -> Void) -> GraphError? {
        do {
            try body()
            return nil
        } catch {
            return error as? GraphError
        }
    }

    @Test func hugeShapesAreRejectedNotTrapped() {
        let reshape = graphError {
            let b = GraphBuilder<Double>()
            _ = try b.build(output: b.input("x", Tensor([1.0, 2])).reshaped([Int.max, 2, -1]))
        }
        #expect(reshape.map(caseName) == "shapeMismatch")
        let concatenated = graphError {
            let b = GraphBuilder<Double>()
            let x = b.input("x", shape: [1 << 62])
            _ = try b.build(output: concat([x, x], axis: 0))
        }
        #expect(concatenated != nil)
        for matmul in [false, true] {
            let e = graphError {
                let b = GraphBuilder<Double>()
                let x = b.input("x", shape: [1 << 32, 1]), y = b.input("y", shape: [1, 1 << 32])
                _ = try b.build(output: (matmul ? x.matmul(y) : x + y).named("big"))
            }
            #expect(e?.node == "big", "\(String(describing: e))")
        }
    }

    @Test func feedsResolveByNodeNotByDisplayName() throws {
        let b = GraphBuilder<Double>()
        let w = b.input("w", Tensor([1.0, 2, 3]))
        let x = b.input("constant#2", Tensor([10.0, 20, 30]))
        let c = b.constant(Tensor([1.0, 1, 1]))  // unnamed: displayed as constant#2
        let graph = try b.build(output: (w * c).sum() + x.sum())
        #expect(graph.name(of: c.id) == "constant#2")
        let r = try ReferenceExecutor().gradients(
            graph, inputs: ["constant#2": Tensor([5.0, 6, 7])])
        #expect(r.output.scalar == 24)
        #expect(r[w] == Tensor([1.0, 1, 1]))
    }

    @Test func sigmoidCrossEntropyIsExactForInfiniteLogits() throws {
        let b = GraphBuilder<Double>()
        let z = b.constant(Tensor([.infinity, -.infinity, .infinity, -.infinity]))
        let y = b.constant(Tensor([1.0, 0, 0, 1]))
        let r = try ReferenceExecutor().forward(
            b.build(output: sigmoidCrossEntropy(logits: z, targets: y)))
        #expect(r.output == Tensor([0.0, 0, .infinity, .infinity]))
        // The rewrites agree with the unsimplified forms at ±inf.
        for make in [
            { (u: Node<Double>) in log(sigmoid(u)) }, { (u: Node<Double>) in log(1 + exp(u)) },
        ] {
            let c = GraphBuilder<Double>()
            let u = c.constant(Tensor([.infinity, -.infinity]))
            let simplified = try ReferenceExecutor().forward(c.build(output: make(u))).output
            let plain = try ReferenceExecutor().forward(c.build(output: make(u), simplify: false))
                .output
            #expect(simplified == plain, "\(simplified) vs \(plain)")
        }
    }

    @Test func definitionsCannotGiveValuesToComputedNodes() {
        let e = graphError {
            _ = try Graph<Double>(
                definitions: [
                    NodeDefinition(name: "x", op: .input, value: 1.0),
                    NodeDefinition(name: "y", op: .unary(.exp), inputs: ["x"], value: 2.0),
                ], output: "y")
        }
        #expect(e.map(caseName) == "invalidAttribute")
        #expect(e?.node == "y")
    }

    @Test func labelsWithUnusedConsumersAreStillSkipped() throws {
        var rng = WorkloadGenerator(seed: 8)
        let b = GraphBuilder<Double>()
        let z = b.input("z", .random([2, 3], &rng))
        let labels = b.input("labels", Tensor([2.0, 0]))
        _ = labels * 2.0
        let report = try checkGradients(
            b.build(output: crossEntropy(logits: z, labels: labels).sum()))
        #expect(report.entries.map(\.input) == ["z"])
        #expect(report.passes(tolerance: 1e-8))
    }

    @Test func maxAbsoluteDifferenceReportsNaN() {
        #expect(Tensor([Double.nan, 1]).maxAbsoluteDifference(from: Tensor([0, 1]))!.isNaN)
    }
}
