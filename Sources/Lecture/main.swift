// The lecture's examples, run through Backprop's reference executor:
//   swift run -c release lecture
import Backprop
import Foundation

let executor = ReferenceExecutor()

// 1. f(x, y) = (x + y)·x·y² at (1, 2).
do {
    let b = GraphBuilder<Double>()
    let x = b.input("x", 1.0)
    let y = b.input("y", 2.0)
    let f = (x + y) * x * y.pow(2)
    let result = try executor.gradients(b.build(output: f))
    print(
        "f(x, y) = (x + y)·x·y² at (1, 2): f = \(result.output), ∂f/∂x = \(result[x]!), ∂f/∂y = \(result[y]!)"
    )
}

// 2. The gradient at x = 42 of seven functions.
print("\nd/dx at x = 42:")
let exercises: [(String, (GraphBuilder<Double>, Node<Double>) -> Node<Double>)] = [
    ("7", { b, _ in b.constant(7) }),
    ("2x", { _, x in 2 * x }),
    ("2x + 999999", { _, x in 2 * x + 999999 }),
    ("x³", { _, x in x.pow(3) }),
    ("exp(x)", { _, x in exp(x) }),
    ("exp(2x³ + 10)", { _, x in exp(2 * x.pow(3) + 10) }),
    ("log(exp(2x³ + 10))", { _, x in log(exp(2 * x.pow(3) + 10)) }),
]
for (text, f) in exercises {
    let b = GraphBuilder<Double>()
    let x = b.input("x", 42.0)
    let graph = try b.build(output: f(b, x))
    let result = try executor.gradients(graph)
    let note =
        graph.rewrites.isEmpty
        ? "" : "   (rewritten: \(graph.rewrites.map(\.rule.rawValue).joined(separator: ", ")))"
    print("  \(text.padding(toLength: 20, withPad: " ", startingAt: 0)) \(result[x]!)\(note)")
}

// 3. Logistic regression: the autodiff gradient of the mean log loss
//    against the hand-derived −(1/|B|) Σ (y − σ(w·x)) x.
do {
    var generator = WorkloadGenerator(seed: 11)  // shared/workloads.md's LCG
    func unit() -> Double { generator.unit() }
    let n = 64, d = 4
    let xs = (0..<n * d).map { _ in 2 * unit() - 1 }
    let ys = (0..<n).map { _ in unit() < 0.5 ? 0.0 : 1.0 }
    let w0 = [0.5, -0.25, 1.0, 0.0]
    let b = GraphBuilder<Double>()
    let w = b.parameter("w", try Tensor(shape: [d, 1], scalars: w0))
    let x = b.constant(try Tensor(shape: [n, d], scalars: xs))
    let y = b.constant(try Tensor(shape: [n, 1], scalars: ys))
    let loss = sigmoidCrossEntropy(logits: x.matmul(w), targets: y).mean()
    let graph = try b.build(output: loss)
    let result = try executor.gradients(graph)
    var hand = [Double](repeating: 0, count: d)
    for i in 0..<n {
        let z = (0..<d).reduce(0.0) { $0 + w0[$1] * xs[i * d + $1] }
        let residual = ys[i] - 1 / (1 + Foundation.exp(-z))
        for k in 0..<d { hand[k] -= residual * xs[i * d + k] / Double(n) }
    }
    let difference = zip(result[w]!.scalars, hand).map { Swift.abs($0 - $1) }.max()!
    print("\nlogistic regression, batch of \(n): loss \(result.output)")
    print("  autodiff ∇J = \(result[w]!.scalars)")
    print("  by hand  ∇J = \(hand)   (max difference \(difference))")
    print("  finite differences: max relative error \(try checkGradients(graph).maxRelativeError)")
}
