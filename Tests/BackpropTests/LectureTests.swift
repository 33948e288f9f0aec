import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

/// The lecture's worked examples, with their exact values.
@Suite struct LectureTests {
    let executor = ReferenceExecutor()

    @Test func productExampleAtOneTwo() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 1.0)
        let y = b.input("y", 2.0)
        let f = (x + y) * x * y.pow(2)
        let r = try executor.gradients(b.build(output: f))
        #expect(r.output.scalar == 12)
        #expect(r[x]?.scalar == 16)
        #expect(r[y]?.scalar == 16)
        #expect(r.gradients["x"]?.scalar == 16)
    }

    /// f(x) at x = 42 for the seven exercises; gradients are exact in Double.
    @Test(arguments: [
        ("7", 0.0),
        ("2x", 2.0),
        ("2x+999999", 2.0),
        ("x^3", 5292.0),
        ("exp(x)", Foundation.exp(42.0)),
        ("exp(2x^3+10)", Double.infinity),
        ("log(exp(2x^3+10))", 10584.0),
    ])
    func gradientAt42(expression: String, expected: Double) throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 42.0)
        let inner = 2 * x.pow(3) + 10
        let f: Node<Double>
        switch expression {
        case "7": f = b.constant(7)
        case "2x": f = 2 * x
        case "2x+999999": f = 2 * x + 999999
        case "x^3": f = x.pow(3)
        case "exp(x)": f = exp(x)
        case "exp(2x^3+10)": f = exp(inner)
        default: f = log(exp(inner))
        }
        let r = try executor.gradients(b.build(output: f))
        #expect(scalarGradient(r, "x") == expected)
    }

    @Test func logOfExpValueAndTheUnsimplifiedFailure() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 42.0)
        let f = log(exp(2 * x.pow(3) + 10))
        let simplified = try b.build(output: f)
        #expect(simplified.rewrites.map(\.rule) == [.logOfExp])
        let r = try executor.gradients(simplified)
        #expect(r.output.scalar == 148186)
        #expect(r[x]?.scalar == 10584)
        // Without the rewrite the chain rule meets 0·inf: the reason it exists.
        let plain = try executor.gradients(b.build(output: f, simplify: false))
        #expect(plain.output.scalar == .infinity)
        #expect(plain[x]!.scalar!.isNaN)
    }

    @Test func sumOfTermsWithRespectToX() throws {
        // f = x + x² + y·x: ∂f/∂x = 1 + 2x + y, ∂f/∂y = x.
        for (xv, yv) in [(3.0, 5.0), (-1.5, 0.25), (0.0, -2.0)] {
            let b = GraphBuilder<Double>()
            let x = b.input("x", Tensor(xv))
            let y = b.input("y", Tensor(yv))
            let r = try executor.gradients(b.build(output: x + x.pow(2) + y * x))
            #expect(r.output.scalar == xv + xv * xv + yv * xv)
            #expect(r[x]?.scalar == 1 + 2 * xv + yv)
            #expect(r[y]?.scalar == xv)
        }
    }

    /// The six-node DAG: x1 → {x2 = x1², x3 = sin x1} → x4 = x2·x3 → x5 = x4 + x1
    /// → x6 = tanh x5. Exactly two topological orders (x2 and x3 swap).
    @Test func sixNodeDAGBothTopologicalOrders() throws {
        let b = GraphBuilder<Double>()
        let x1 = b.input("x1", 0.7)
        let x2 = x1.pow(2).named("x2")
        let x3 = sin(x1).named("x3")
        let x4 = (x2 * x3).named("x4")
        let x5 = (x4 + x1).named("x5")
        let x6 = tanh(x5).named("x6")
        let g = try b.build(output: x6)
        #expect(g.count == 6)

        var orders: [[NodeID]] = []
        func permute(_ prefix: [NodeID], _ rest: [NodeID]) {
            if rest.isEmpty {
                if g.isForwardOrder(prefix) { orders.append(prefix) }
                return
            }
            for (k, n) in rest.enumerated() {
                var r = rest
                r.remove(at: k)
                permute(prefix + [n], r)
            }
        }
        permute([], Array(0..<6))
        #expect(orders.count == 2)
        #expect(
            Set(orders) == [
                [x1.id, x2.id, x3.id, x4.id, x5.id, x6.id],
                [x1.id, x3.id, x2.id, x4.id, x5.id, x6.id],
            ])

        let v = 0.7
        let expected = Foundation.tanh(v * v * Foundation.sin(v) + v)
        let results = try orders.map { try executor.gradients(g, order: $0) }
        for r in results {
            #expect(Swift.abs(r.output.scalar! - expected) < 1e-15)
            let dx5 = 1 - expected * expected
            let dx1 = dx5 * (2 * v * Foundation.sin(v) + v * v * Foundation.cos(v) + 1)
            #expect(Swift.abs(r[x1]!.scalar! - dx1) < 1e-14)
        }
        #expect(results[0].output.isBitwiseEqual(to: results[1].output))
        #expect(results[0][x1]!.isBitwiseEqual(to: results[1][x1]!))
        // Forward values agree node by node too.
        let f0 = try executor.forward(g, order: orders[0]),
            f1 = try executor.forward(g, order: orders[1])
        for id in 0..<6 { #expect(f0[id]!.isBitwiseEqual(to: f1[id]!)) }
        // An order that is not topological is refused.
        #expect(throws: ExecutionError.self) {
            try executor.forward(g, order: [x2.id, x1.id, x3.id, x4.id, x5.id, x6.id])
        }
    }

    @Test func fanOutAndDiamonds() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 0.3)
        // x feeds sin, cos, and both arguments of one mul: a diamond and a double edge.
        let f = sin(x) * cos(x) + x * x + (x + x)
        let g = try b.build(output: f)
        #expect(g.children(of: x.id).count == 4)
        let r = try executor.gradients(g)
        let expected = Foundation.cos(0.6) + 2 * 0.3 + 2
        #expect(Swift.abs(r[x]!.scalar! - expected) < 1e-15)

        // A tensor diamond with broadcasting: W used by two branches that meet again.
        var rng = WorkloadGenerator(seed: 5)
        let t = GraphBuilder<Double>()
        let w = t.parameter("W", .random([3, 4], &rng))
        let v = t.input("v", .random([4], &rng))
        let left = tanh(w * v)
        let right = (w - v).pow(2)
        let loss = (left * right + w).sum()
        let report = try checkGradients(t.build(output: loss))
        #expect(report.passes(tolerance: 1e-8), "\(report)")
    }

    @Test func millionNodeChainDoesNotOverflowTheStack() throws {
        let n = 1_000_000
        let b = GraphBuilder<Double>()
        let x = b.input("x", 0.5)
        let one = b.constant(1)
        var v = x
        for _ in 0..<n { v = v + one }
        let g = try b.build(output: v)
        #expect(g.count == n + 2)
        #expect(g.levels.count == n + 1)
        #expect(g.forwardOrder.count == n + 2)
        let r = try executor.gradients(g)
        #expect(r.output.scalar == 0.5 + Double(n))
        #expect(r[x]?.scalar == 1)
    }
}
