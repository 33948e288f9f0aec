import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

@Suite struct JacobianTests {
    /// f(x) = [x0·x1, sin(x2) + x0², x1 / x2] for x ∈ R³, built from slices.
    func vectorFunction(_ v: [Double]) throws -> Graph<Double> {
        let b = GraphBuilder<Double>()
        let x = b.input("x", Tensor(v))
        let x0 = x.slice(axis: 0, 0..<1), x1 = x.slice(axis: 0, 1..<2), x2 = x.slice(axis: 0, 2..<3)
        let f = concat([x0 * x1, sin(x2) + x0.pow(2), x1 / x2], axis: 0)
        return try b.build(output: f)
    }

    @Test func jacobianByReversePassesMatchesAnalyticAndFiniteDifferences() throws {
        let v = [0.5, -1.25, 2.0]
        let graph = try vectorFunction(v)
        let j = try ReferenceExecutor().jacobian(graph)["x"]!
        #expect(j.shape == [3, 3])
        let analytic: [Double] = [
            v[1], v[0], 0,
            2 * v[0], 0, Foundation.cos(v[2]),
            0, 1 / v[2], -v[1] / (v[2] * v[2]),
        ]
        #expect(
            j.isApproximatelyEqual(
                to: try Tensor(shape: [3, 3], scalars: analytic), relativeTolerance: 0,
                absoluteTolerance: 1e-15))

        // Column k by central differences.
        let h = 1e-6
        for k in 0..<3 {
            var plus = v, minus = v
            plus[k] += h
            minus[k] -= h
            let fp = try ReferenceExecutor().forward(graph, inputs: ["x": Tensor(plus)]).output
            let fm = try ReferenceExecutor().forward(graph, inputs: ["x": Tensor(minus)]).output
            for row in 0..<3 {
                let numeric = (fp.scalars[row] - fm.scalars[row]) / (2 * h)
                #expect(Swift.abs(numeric - j[row, k]) < 1e-8)
            }
        }
    }

    @Test func vjpWithCallerCotangentIsCotangentTimesJacobian() throws {
        let graph = try vectorFunction([0.3, 0.9, -0.7])
        let j = try ReferenceExecutor().jacobian(graph)["x"]!
        let c = Tensor([2.0, -1.0, 0.5])
        let r = try ReferenceExecutor().vjp(graph, cotangent: c)
        for k in 0..<3 {
            let expected = (0..<3).reduce(0.0) { $0 + c.scalars[$1] * j[$1, k] }
            #expect(Swift.abs(r.gradients["x"]!.scalars[k] - expected) < 1e-15)
        }
        #expect(throws: ExecutionError.cotangentShape(expected: [3], got: [2])) {
            try ReferenceExecutor().vjp(graph, cotangent: Tensor([1.0, 2.0]))
        }
        // gradients() refuses a vector output.
        #expect(throws: GraphError.self) { try ReferenceExecutor().gradients(graph) }
    }

    @Test func jacobianOfMatrixFunctionWithSeveralInputs() throws {
        // F(A, v) = tanh(A·v) for A: 2×3, v: 3×1 → output 2×1.
        var rng = WorkloadGenerator(seed: 17)
        let b = GraphBuilder<Double>()
        let a = b.input("A", .random([2, 3], &rng))
        let v = b.input("v", .random([3, 1], &rng))
        let graph = try b.build(output: tanh(a.matmul(v)))
        let jac = try ReferenceExecutor().jacobian(graph)
        #expect(jac["A"]!.shape == [2, 6])
        #expect(jac["v"]!.shape == [2, 3])
        let av = graph.value(of: a.id)!, vv = graph.value(of: v.id)!
        for i in 0..<2 {
            let s = (0..<3).reduce(0.0) { $0 + av[i, $1] * vv[$1, 0] }
            let d = 1 - Foundation.tanh(s) * Foundation.tanh(s)
            for k in 0..<3 {
                #expect(Swift.abs(jac["v"]![i, k] - d * av[i, k]) < 1e-15)
                for r in 0..<2 {
                    #expect(
                        Swift.abs(jac["A"]![i, r * 3 + k] - (r == i ? d * vv[k, 0] : 0)) < 1e-15)
                }
            }
        }
    }
}
