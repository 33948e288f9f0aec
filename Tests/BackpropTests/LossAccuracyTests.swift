import Foundation
import Testing

@testable import Backprop

/// `sigmoid_cross_entropy` on the runtime's vectorised path (operands of
/// one shape: exp and log by the vector kernels, log1p by Kahan's identity,
/// σ by the vector sigmoid; Note [Vectorised log loss]) against the scalar
/// formula evaluated in Double with libm, over logits from −800 to 800,
/// the infinities, and the range where 1 + e^(−|z|) rounds to 1.
@Suite struct LossAccuracyTests {
    static let logits: [Double] = {
        var z = stride(from: -60.0, through: 60.0, by: 0.37).map { $0 }
        z += [0, -0.0, 1e-30, -1e-30, 17, 20, 37, 40, -40, 800, -800, .infinity, -.infinity]
        return z
    }()
    static let targets: [Double] = [0, 1, 0.25]

    /// The loss and its logit gradient in Double with libm:
    /// a·z + log1p(e^(−|z|)) and σ(z) − t.
    static func reference(_ z: Double, _ t: Double) -> (loss: Double, gradient: Double) {
        let a = z >= 0 ? 1 - t : -t
        let loss = (a == 0 ? 0 : a * z) + Foundation.log1p(Foundation.exp(-Swift.abs(z)))
        let sigma =
            z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
        return (loss, sigma - t)
    }

    @Test(arguments: [false, true])
    func vectorisedPathAgreesWithTheScalarFormula(double: Bool) throws {
        if double {
            try check(Double.self, lossUlps: 6)
        } else {
            try check(Float.self, lossUlps: 4)
        }
    }

    /// The runtime's values within `lossUlps` of the reference rounded to
    /// T; gradients within 4 ulp of max(σ, t) (σ − t cancels, so its error
    /// is absolute), on 1 and 2 threads with the same bits.
    func check<T: ReferenceElement>(_: T.Type, lossUlps: Int) throws {
        let zs = Self.logits.flatMap { z in Self.targets.map { _ in z } }
        let ts = Self.logits.flatMap { _ in Self.targets }
        let b = GraphBuilder<T>()
        let z = b.input("z", shape: [zs.count])
        let t = b.input("t", shape: [ts.count])
        let graph = try b.build(output: sigmoidCrossEntropy(logits: z, targets: t))
        var results: [(loss: [T], gradient: [T])] = []
        for threads in [1, 2] {
            let execution = try Execution(plan: Plan(graph))
            try execution.setInput("z", Tensor(shape: [zs.count], scalars: zs.map { T($0) }))
            try execution.setInput("t", Tensor(shape: [ts.count], scalars: ts.map { T($0) }))
            try execution.run(on: Runtime(threads: threads))
            results.append((execution.output.scalars, execution.gradient(of: "z")!.scalars))
        }
        #expect(results[0].loss.map(\.bits) == results[1].loss.map(\.bits))
        #expect(results[0].gradient.map(\.bits) == results[1].gradient.map(\.bits))
        let (loss, gradient) = results[0]
        for k in zs.indices {
            // The reference from the values T holds.
            let (expectedLoss, expectedGradient) = Self.reference(
                Double(T(zs[k])), Double(T(ts[k])))
            let apart = ulpDistance(loss[k], T(expectedLoss))
            #expect(
                apart <= lossUlps,
                "\(T.self) z = \(zs[k]), t = \(ts[k]): loss \(loss[k]) vs \(expectedLoss), \(apart) ulp"
            )
            let scale = Swift.max(Swift.abs(expectedGradient + ts[k]), Swift.abs(ts[k]))
            let bound = 4 * Double(T.ulpOfOne) * Swift.max(scale, Double(T.leastNormalMagnitude))
            #expect(
                Swift.abs(Double(gradient[k]) - expectedGradient) <= bound,
                "\(T.self) z = \(zs[k]), t = \(ts[k]): gradient \(gradient[k]) vs \(expectedGradient)"
            )
        }
    }

    @Test(arguments: [3, 10, 63, 64, 127, 128], [false, true])
    func crossEntropyAgreesWithTheReference(classes: Int, double: Bool) throws {
        if double {
            try checkCrossEntropy(Double.self, classes: classes)
        } else {
            try checkCrossEntropy(Float.self, classes: classes)
        }
    }

    /// cross_entropy on the runtime (vectorised up to 127 classes in
    /// float32 and 63 in float64, Note [Vectorised log-sum-exp]; one more
    /// takes the scalar path) against the
    /// reference executor (libm): losses within 4 ulp of max(lse, z_c),
    /// logit gradients within 4 ulp of 1, at 1 and 2 threads alike.
    func checkCrossEntropy<T: ReferenceElement>(_: T.Type, classes: Int) throws {
        let examples = 37
        var rng = WorkloadGenerator(seed: UInt64(classes))
        var logits = (0..<(examples * classes)).map { _ in T(60 * rng.unit() - 30) }
        logits[0] = 1000
        logits[classes + 1] = -1000
        let labels = (0..<examples).map { T($0 % classes) }
        let b = GraphBuilder<T>()
        let z = b.input("z", shape: [examples, classes])
        let y = b.input("y", shape: [examples])
        let graph = try b.build(output: crossEntropy(logits: z, labels: y))
        let feeds = [
            "z": try Tensor(shape: [examples, classes], scalars: logits),
            "y": try Tensor(shape: [examples], scalars: labels),
        ]
        let reference = try ReferenceExecutor().vjp(
            graph, cotangent: .ones([examples]), inputs: feeds)
        var bits: [[UInt64]] = []
        for threads in [1, 2] {
            let execution = try Execution(plan: Plan(graph))
            for (name, value) in feeds { try execution.setInput(name, value) }
            try execution.run(on: Runtime(threads: threads))
            let loss = execution.output.scalars, gradient = execution.gradient(of: "z")!.scalars
            bits.append((loss + gradient).map(\.bits))
            for e in 0..<examples {
                let zc = Double(logits[e * classes + Int(labels[e])])
                let scale = Swift.max(
                    Swift.abs(Double(reference.output.scalars[e]) + zc), Swift.abs(zc))
                #expect(
                    Swift.abs(Double(loss[e] - reference.output.scalars[e]))
                        <= 4 * Double(T.ulpOfOne) * scale,
                    "\(T.self) \(classes) classes, example \(e)")
            }
            let expected = reference[z]!.scalars
            for k in gradient.indices {
                #expect(
                    Swift.abs(Double(gradient[k] - expected[k])) <= 4 * Double(T.ulpOfOne),
                    "\(T.self) \(classes) classes, gradient \(k)")
            }
        }
        #expect(bits[0] == bits[1])
    }
}
