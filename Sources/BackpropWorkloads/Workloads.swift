import Backprop
import Foundation

/// The fixed benchmark workloads (S1–S5 and the scheduler shapes), each
/// implemented exactly once, for the benchmarks and the CLI alike.
public enum Workloads {
    // MARK: S1 scalar-dag

    /// S1: the lecture's scalar computation graph at scale (float64).
    ///
    /// Nodes 0…63 are inputs `x_i = sin(i + 1)`; node i ≥ 64 draws
    /// `a = i − 64 + draw64()` and `b = draw64()` and computes, by `i mod 3`,
    /// `tanh(a + b)`, `a · b` or `sin(a)`. The output is the sum of the last
    /// 64 nodes. Seed 42.
    ///
    /// - Parameter nodes: N, the number of logical nodes (at least 128).
    public static func scalarDAG(nodes: Int) throws -> Graph<Double> {
        precondition(nodes >= 128, "S1 needs at least 128 nodes")
        var g = WorkloadGenerator(seed: 42)
        let b = GraphBuilder<Double>()
        var logical: [Node<Double>] = []
        logical.reserveCapacity(nodes)
        for i in 0..<64 { logical.append(b.input("x\(i)", Tensor(Foundation.sin(Double(i + 1))))) }
        for i in 64..<nodes {
            let a = logical[i - 64 + g.draw64()]
            let input = logical[g.draw64()]
            switch i % 3 {
            case 0: logical.append(tanh(a + input))
            case 1: logical.append(a * input)
            default: logical.append(sin(a))
            }
        }
        var omega = logical[nodes - 64]
        for i in (nodes - 63)..<nodes { omega = omega + logical[i] }
        return try b.build(output: omega)
    }

    // MARK: S2 mlp

    /// S2: an MLP 784 → 512 → 512 → 10 with ReLU and softmax cross-entropy
    /// (mean over the batch), float32, batch 128, seed 7: weights
    /// `(unit() − 0.5) · 2 / sqrt(fan_in)` layer by layer, row by row, then
    /// inputs `unit()`, then labels `draw64() mod 10`. Parameters are named
    /// `W1 b1 W2 b2 W3 b3`; the data `x` and `labels`.
    public static func mlp(batch: Int = 128, layers: [Int] = [784, 512, 512, 10]) throws -> Graph<
        Float
    > {
        var g = WorkloadGenerator(seed: 7)
        let b = GraphBuilder<Float>()
        var weights: [Tensor<Float>] = []
        for l in 0..<(layers.count - 1) {
            let fanIn = layers[l], fanOut = layers[l + 1]
            let scale = 2 / Double(fanIn).squareRoot()
            let values = (0..<(fanIn * fanOut)).map { _ in Float((g.unit() - 0.5) * scale) }
            weights.append(try Tensor(shape: [fanIn, fanOut], scalars: values))
        }
        let x = (0..<(batch * layers[0])).map { _ in Float(g.unit()) }
        let labels = (0..<batch).map { _ in Float(g.draw64() % 10) }
        var h = b.input("x", try Tensor(shape: [batch, layers[0]], scalars: x))
        for l in 0..<weights.count {
            let w = b.parameter("W\(l + 1)", weights[l])
            let bias = b.parameter("b\(l + 1)", .zeros([layers[l + 1]]))
            h = h.matmul(w) + bias
            if l < weights.count - 1 { h = h.relu() }
        }
        let y = b.input("labels", try Tensor(shape: [batch], scalars: labels))
        return try b.build(output: crossEntropy(logits: h, labels: y).mean())
    }

    /// The FLOPs of one S2 step as the workloads notes count them
    /// (2·m·n·k per matmul; 3 forward, 5 backward): 0.4108 GFLOP.
    public static let mlpFlopsPerStep = 410_800_000.0

    // MARK: S3 wide-dag

    /// S3: `levels` levels of `width` vectors of `length` float32 elements;
    /// inputs `x_i[k] = sin(i · length + k + 1)`; node j of level l draws
    /// `a` and `b` (indices into level l − 1, seed 3) and computes
    /// `tanh(a ⊙ b + a)`. The output is Σ_j mean(node j of the last level).
    public static func wideDAG(width: Int = 64, levels: Int = 32, length: Int = 16_384) throws
        -> Graph<Float>
    {
        var g = WorkloadGenerator(seed: 3)
        let b = GraphBuilder<Float>()
        var level = try (0..<width).map { i in
            b.input(
                "x\(i)",
                try Tensor(
                    shape: [length],
                    scalars: (0..<length).map { k in
                        Float(Foundation.sin(Double(i * length + k + 1)))
                    }))
        }
        for _ in 0..<levels {
            level = (0..<width).map { _ in
                let a = level[g.draw64() % width], c = level[g.draw64() % width]
                return tanh(a * c + a)
            }
        }
        var omega = level[0].mean()
        for j in 1..<width { omega = omega + level[j].mean() }
        return try b.build(output: omega)
    }

    /// S3's byte count: W · L · (3 + 6) · 4 · length (1.208 GB for the defaults).
    public static func wideDAGBytes(width: Int = 64, levels: Int = 32, length: Int = 16_384)
        -> Double
    {
        Double(width * levels * 9 * 4 * length)
    }

    // MARK: S4 logreg-sgd

    /// S4's data set: d = 256 features, n = 65,536 samples, seed 11.
    public struct LogisticData: Sendable {
        /// Rows, row-major, n × d.
        public let x: [Double]
        /// Labels 0 or 1.
        public let y: [Double]
        public let samples: Int
        public let features: Int
    }

    /// Generates S4's data: true weights `w*_k = sin(k + 1)`, rows
    /// `2·unit() − 1`, label 1 when `w*·x + (unit() − 0.5) > 0`. S4 is
    /// seed 11; other seeds give other draws of the same distribution.
    public static func logisticData(samples: Int = 65_536, features: Int = 256, seed: UInt64 = 11)
        -> LogisticData
    {
        var g = WorkloadGenerator(seed: seed)
        let truth = (0..<features).map { Foundation.sin(Double($0 + 1)) }
        var x = [Double](repeating: 0, count: samples * features)
        var y = [Double](repeating: 0, count: samples)
        for i in 0..<samples {
            var dot = 0.0
            for k in 0..<features {
                let v = 2 * g.unit() - 1
                x[i * features + k] = v
                dot += truth[k] * v
            }
            y[i] = dot + (g.unit() - 0.5) > 0 ? 1 : 0
        }
        return LogisticData(x: x, y: y, samples: samples, features: features)
    }

    /// S4's minibatch loss: mean binary log loss of σ(x·w) against y, with
    /// inputs `x` ([batch, d]), `y` ([batch, 1]) and parameter `w` ([d, 1], zeros).
    public static func logisticLoss(batch: Int = 64, features: Int = 256) throws -> Graph<Double> {
        let b = GraphBuilder<Double>()
        let x = b.input("x", shape: [batch, features])
        let y = b.input("y", shape: [batch, 1])
        let w = b.parameter("w", .zeros([features, 1]))
        return try b.build(output: sigmoidCrossEntropy(logits: x.matmul(w), targets: y).mean())
    }

    // MARK: S5 small-mlp

    /// S5's layer widths: 2 → 64 → 64 → 3.
    public static let smallMLPLayers = [2, 64, 64, 3]
    /// S5's batch size: 64 rows per step.
    public static let smallMLPBatch = 64
    /// S5's number of samples: 1,536, so one epoch is 24 steps.
    public static let smallMLPSamples = 1_536
    /// S5's seed.
    public static let smallMLPSeed: UInt64 = 5
    /// S5's optimizer: Adam with bias correction, η 0.01, β₁ 0.9, β₂ 0.999, ε 1e-8.
    public static let smallMLPOptimizer = Optimizer.adam(
        learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)

    /// S5's model: an MLP 2 → 64 → 64 → 3 with ReLU and softmax
    /// cross-entropy, float32. Its weights are S5's, the first draws of
    /// the generator seeded with 5: `(unit() − 0.5) · 2 / sqrt(fan_in)`,
    /// layer by layer, row-major `[fan_in][fan_out]`; biases 0
    /// (``Model/mlp(layers:activation:seed:)`` draws exactly these).
    public static func smallMLPModel() -> Model<Float> {
        Model<Float>.mlp(layers: smallMLPLayers, activation: .relu, seed: smallMLPSeed)
    }

    /// S5's samples, drawn after the weights from the same generator
    /// (seed 5): each sample `x = (2·unit() − 1, 2·unit() − 1)` followed by
    /// its label `draw64() mod 3`.
    ///
    /// - Parameter samples: How many samples (S5: 1,536).
    public static func smallMLPData(samples: Int = smallMLPSamples) -> ClassificationData {
        var g = WorkloadGenerator(seed: smallMLPSeed)
        // The weights come first: one unit() per weight, layer by layer.
        let layers = smallMLPLayers
        for l in 0..<(layers.count - 1) {
            for _ in 0..<(layers[l] * layers[l + 1]) { _ = g.unit() }
        }
        var x: [Double] = []
        var labels: [Double] = []
        x.reserveCapacity(2 * samples)
        labels.reserveCapacity(samples)
        for _ in 0..<samples {
            x.append(2 * g.unit() - 1)
            x.append(2 * g.unit() - 1)
            labels.append(Double(g.draw64() % 3))
        }
        return ClassificationData(
            x: x, labels: labels, samples: samples, features: 2, classes: layers[layers.count - 1])
    }

    // MARK: Scheduler shapes

    /// A chain of `nodes` scalar nodes, `x_i = x_{i−1} + 1`.
    public static func linearChain(nodes: Int = 1_000_000) throws -> Graph<Double> {
        let b = GraphBuilder<Double>()
        let one = b.constant(1)
        var v = b.input("x", 0.0)
        for _ in 1..<nodes { v = v + one }
        return try b.build(output: v)
    }

    /// A `side × side` grid of scalar nodes, node (i, j) = node(i−1, j) +
    /// node(i, j−1) (inputs along the first row and column); levels grow
    /// from 1 to `side` wide and shrink back. The output is the last node.
    public static func wavefront(side: Int = 64) throws -> Graph<Double> {
        let b = GraphBuilder<Double>()
        var grid = [[Node<Double>]](repeating: [], count: side)
        for i in 0..<side {
            for j in 0..<side {
                if i == 0 || j == 0 {
                    grid[i].append(b.input("x\(i)_\(j)", Tensor(1.0 / Double(side))))
                } else {
                    grid[i].append((grid[i - 1][j] + grid[i][j - 1]) * 0.5)
                }
            }
        }
        return try b.build(output: grid[side - 1][side - 1])
    }

    /// `levels` levels of `width` scalar nodes, each the sum of 1–4 parents
    /// drawn from the previous level (seed 5); the output sums the last level.
    public static func randomLevels(levels: Int = 256, width: Int = 256) throws -> Graph<Double> {
        var g = WorkloadGenerator(seed: 5)
        let b = GraphBuilder<Double>()
        var level = (0..<width).map { b.input("x\($0)", Tensor(Double($0) / Double(width))) }
        for _ in 1..<levels {
            level = (0..<width).map { _ in
                let count = 1 + g.draw64() % 4
                var v = level[g.draw64() * width / 64]
                for _ in 1..<count { v = v + level[g.draw64() * width / 64] }
                return v * 0.5
            }
        }
        var omega = level[0]
        for j in 1..<width { omega = omega + level[j] }
        return try b.build(output: omega)
    }
}
