import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

/// The lecture's logistic regression: f_w(x) = σ(w·x), mean log loss over a
/// minibatch B, hand-derived gradient ∇J_B = −(1/|B|) Σ (y − σ(w·x)) x.
@Suite struct LogisticRegressionTests {
    struct Batch {
        var x: [[Double]], y: [Double], w: [Double]
    }

    func randomBatch(seed: UInt64, size: Int, features: Int) -> Batch {
        var rng = WorkloadGenerator(seed: seed)
        let w = (0..<features).map { _ in rng.uniform(-1, 1) }
        let x = (0..<size).map { _ in (0..<features).map { _ in rng.uniform(-2, 2) } }
        let y = (0..<size).map { _ in Double(rng.int(2)) }
        return Batch(x: x, y: y, w: w)
    }

    func handGradient(_ b: Batch) -> [Double] {
        var g = [Double](repeating: 0, count: b.w.count)
        for (xi, yi) in zip(b.x, b.y) {
            let z = zip(b.w, xi).reduce(0) { $0 + $1.0 * $1.1 }
            let residual = yi - 1 / (1 + Foundation.exp(-z))
            for k in g.indices { g[k] -= residual * xi[k] / Double(b.x.count) }
        }
        return g
    }

    /// Builds the loss, either with the stable primitive or written out as
    /// the lecture writes it: −mean(y·log σ(z) + (1 − y)·log(1 − σ(z))).
    func loss(_ batch: Batch, lectureForm: Bool) throws -> (Graph<Double>, Node<Double>) {
        let n = batch.x.count, d = batch.w.count
        let b = GraphBuilder<Double>()
        let w = b.parameter("w", try Tensor(shape: [d, 1], scalars: batch.w))
        let x = b.constant(try Tensor(rows: batch.x))
        let y = b.constant(try Tensor(shape: [n, 1], scalars: batch.y))
        let z = x.matmul(w)
        let j: Node<Double>
        if lectureForm {
            let p = sigmoid(z)
            j = -(y * log(p) + (1 - y) * log(1 - p)).mean()
        } else {
            j = sigmoidCrossEntropy(logits: z, targets: y).mean()
        }
        return (try b.build(output: j), w)
    }

    @Test(arguments: [(1 as UInt64, 64, 8), (2, 1, 3), (3, 200, 16)])
    func autodiffEqualsHandDerivedGradient(seed: UInt64, size: Int, features: Int) throws {
        let batch = randomBatch(seed: seed, size: size, features: features)
        let expected = handGradient(batch)
        for lectureForm in [false, true] {
            let (graph, w) = try loss(batch, lectureForm: lectureForm)
            let r = try ReferenceExecutor().gradients(graph)
            let got = r[w]!.scalars
            for (a, e) in zip(got, expected) {
                #expect(
                    Swift.abs(a - e) <= 1e-12 * Swift.max(1, Swift.abs(e)),
                    "lectureForm \(lectureForm): \(a) vs \(e)")
            }
        }
    }

    @Test func lossValueMatchesTheFormula() throws {
        let batch = randomBatch(seed: 9, size: 32, features: 4)
        var expected = 0.0
        for (xi, yi) in zip(batch.x, batch.y) {
            let p = 1 / (1 + Foundation.exp(-zip(batch.w, xi).reduce(0) { $0 + $1.0 * $1.1 }))
            expected -= (yi * Foundation.log(p) + (1 - yi) * Foundation.log(1 - p)) / 32
        }
        for lectureForm in [false, true] {
            let r = try ReferenceExecutor().forward(loss(batch, lectureForm: lectureForm).0)
            #expect(Swift.abs(r.output.scalar! - expected) <= 1e-13)
        }
    }

    @Test func stableForExtremeLogits() throws {
        // z = ±800: σ(z) rounds to 0 or 1 and log(σ) to -inf in the naive form;
        // the primitive and the simplified log(σ(z)) stay finite and exact.
        let b = GraphBuilder<Double>()
        let z = b.input("z", try Tensor(shape: [2], scalars: [800, -800]))
        let y = b.constant(try Tensor(shape: [2], scalars: [0, 1]))
        let r = try ReferenceExecutor().gradients(
            b.build(output: sigmoidCrossEntropy(logits: z, targets: y).sum()))
        #expect(r.output.scalar == 1600)
        #expect(r[z]!.scalars == [1, -1])

        let c = GraphBuilder<Double>()
        let u = c.input("u", -800.0)
        let g = try c.build(output: log(sigmoid(u)))
        #expect(g.rewrites.map(\.rule) == [.logOfSigmoid])
        let s = try ReferenceExecutor().gradients(g)
        #expect(s.output.scalar == -800)
        #expect(s[u]!.scalar == 1)
    }
}
