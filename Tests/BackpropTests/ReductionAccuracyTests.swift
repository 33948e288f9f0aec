import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

/// The accuracy of the runtime's reductions (Note [Summation order]):
/// float32 sums through `Plan` and `Execution` against exact sums, bitwise
/// equality across thread counts and chunkings, and S3's ω against float64.
@Suite struct ReductionAccuracyTests {
    /// Σ in float64 with Neumaier's compensation: exact enough to judge a float32 sum.
    static func exactSum(_ values: some Sequence<Float>) -> Double {
        var s = 0.0
        var c = 0.0
        for v in values {
            let x = Double(v)
            let t = s + x
            c += Swift.abs(s) >= Swift.abs(x) ? (s - t) + x : (x - t) + s
            s = t
        }
        return s + c
    }

    /// `count` values from `WorkloadGenerator(seed:)`, in [0, 1) or, when
    /// `mixedSign`, in [−1, 1).
    static func values(_ count: Int, seed: UInt64, mixedSign: Bool = false) -> [Float] {
        var g = WorkloadGenerator(seed: seed)
        return (0..<count).map { _ in Float(mixedSign ? g.uniform(-1, 1) : g.unit()) }
    }

    static func execute(
        _ graph: Graph<Float>, options: PlanOptions = PlanOptions(), threads: Int = 1
    ) throws -> Execution<Float> {
        let execution = try Execution(plan: Plan(graph, options: options))
        try execution.run(on: Runtime(threads: threads))
        return execution
    }

    /// The largest error of `result` against `exact`, relative to `scale`
    /// (the exact value's magnitude unless given).
    static func worstError(_ result: Tensor<Float>, _ exact: [Double], scale: [Double]? = nil)
        -> Double
    {
        var worst = 0.0
        for (k, e) in exact.enumerated() {
            let err = Swift.abs(Double(result.scalars[k]) - e) / Swift.abs(scale?[k] ?? e)
            worst = Swift.max(worst, err)
        }
        return worst
    }

    @Test func sumOf2To20Values() throws {
        let n = 1 << 20
        for mixedSign in [false, true] {
            let x = Self.values(n, seed: 5, mixedSign: mixedSign)
            let b = GraphBuilder<Float>()
            let node = b.input("x", try Tensor(shape: [n], scalars: x))
            let graph = try b.build(output: node.sum())
            let exact = Self.exactSum(x)
            // Mixed signs: the error relative to Σ|x| (the sum's condition).
            let scale = mixedSign ? Self.exactSum(x.map(Swift.abs)) : exact
            var sequential: Float = 0
            for v in x { sequential += v }
            // The default plan sums in two stages (64 blocks); a grain
            // above n keeps the sum in one.
            for options in [PlanOptions(), PlanOptions(gradients: false, grain: 1 << 22)] {
                let sum = try Self.execute(graph, options: options).output
                let error = Self.worstError(sum, [exact], scale: [scale])
                print(
                    "2^20 sum (mixedSign: \(mixedSign)): relative error \(error);"
                        + " a running float32 sum: \(Swift.abs(Double(sequential) - exact) / scale)"
                )
                #expect(error <= 1e-7)
            }
        }
    }

    @Test func sumsAndMeansAlongOneAxis() throws {
        let x = Self.values(1 << 20, seed: 6)
        let b = GraphBuilder<Float>()
        let node = b.input("x", try Tensor(shape: [1024, 1024], scalars: x))
        let rowSums = (0..<1024).map { i in Self.exactSum(x[(i * 1024)..<((i + 1) * 1024)]) }
        let columnSums = (0..<1024).map { j in
            Self.exactSum(stride(from: j, to: 1 << 20, by: 1024).lazy.map { x[$0] })
        }
        let cases: [(String, Node<Float>, [Double])] = [
            ("sum(axes: [1])", node.sum(axes: [1]), rowSums),
            ("sum(axes: [0])", node.sum(axes: [0]), columnSums),
            ("mean(axes: [0])", node.mean(axes: [0]), columnSums.map { $0 / 1024 }),
            ("mean()", node.mean(), [Self.exactSum(x) / Double(1 << 20)]),
        ]
        for (name, output, exact) in cases {
            let graph = try b.build(output: output)
            let error = Self.worstError(
                try Self.execute(graph, options: PlanOptions(gradients: false)).output, exact)
            print("[1024, 1024] \(name): largest relative error \(error)")
            #expect(error <= 1e-7, "\(name)")
        }
    }

    @Test func biasGradientIsAnAccurateColumnSum() throws {
        // ∂/∂bias Σ((x + bias) ⊙ c) = Σ over rows of c: the VJP of broadcasting.
        let c = Self.values(4096 * 256, seed: 7)
        let b = GraphBuilder<Float>()
        let x = b.input("x", .zeros([4096, 256]))
        let bias = b.parameter("bias", .zeros([256]))
        let weights = b.input("c", try Tensor(shape: [4096, 256], scalars: c))
        let graph = try b.build(output: ((x + bias) * weights).sum())
        let exact = (0..<256).map { j in
            Self.exactSum(stride(from: j, to: 4096 * 256, by: 256).lazy.map { c[$0] })
        }
        let gradient = try Self.execute(graph).gradient(of: "bias")!
        let error = Self.worstError(gradient, exact)
        print("bias gradient [4096, 256] → [256]: largest relative error \(error)")
        #expect(error <= 1e-7)
    }

    /// `Summation.columnSums` (four columns side by side) gives each column
    /// the bits of the one-column sum in the documented order, for row
    /// counts around the group (8) and leaf (128) sizes, and column ranges
    /// with a scalar tail.
    @Test(arguments: [1, 7, 8, 9, 127, 128, 129, 256, 300, 1_025])
    func columnSumsMatchTheOneColumnOrder(rows: Int) {
        var rng = WorkloadGenerator(seed: UInt64(rows))
        for n in [1, 3, 4, 5, 9, 33] {
            let g = (0..<(rows * n)).map { _ in Float(rng.unit() * 2 - 1) * 1e3 }
            let set = SummedSet(Dims4(extents: SIMD4(1, 1, 1, rows)), SIMD4(0, 0, 0, n))
            let expected = (0..<n).map { j in Summation.sum(set, 0..<rows) { o, _ in g[o + j] } }
            var got = [Float](repeating: .nan, count: n)
            g.withUnsafeBufferPointer { p in
                // Two ranges, the first ending mid-vector.
                let split = Swift.min(n, 2)
                for range in [0..<split, split..<n] {
                    Summation.columnSums(p.baseAddress!, rows: rows, columns: n, range) {
                        got[$0] = $1
                    }
                }
            }
            #expect(
                zip(got, expected).allSatisfy { $0.bitPattern == $1.bitPattern },
                "rows \(rows), columns \(n)")
        }
    }

    @Test func bitsDoNotDependOnThreadsOrChunks() throws {
        var rng = WorkloadGenerator(seed: 8)
        let b = GraphBuilder<Float>()
        let x = b.input("x", .random([300, 517], &rng))
        let bias = b.parameter("bias", .random([517], &rng))
        let logits = b.parameter("logits", .random([64, 1000], &rng))
        let labels = b.input(
            "labels", try Tensor(shape: [64], scalars: (0..<64).map { Float($0 % 10) }))
        let h = tanh(x + bias)
        let out =
            h.sum() + h.sum(axes: [0]).mean() + h.mean(axes: [1]).sum() + h.max(axes: [0]).sum()
            + softmax(h, axis: 1).sum(axes: [1]).mean() + logSoftmax(h, axis: 0).mean()
            + crossEntropy(logits: logits, labels: labels).mean()
        let graph = try b.build(output: out)
        let fine = PlanOptions(grain: 64, inlineThreshold: 256, maxChunksPerNode: 16)
        for options in [PlanOptions(), fine] {
            let result = try runEverywhere(graph, options: options, threads: [1, 2, 3, 4])
            try expectMatchesReference(graph, result, tolerance: 1e-4)
        }
    }

    @Test func everyPositionIsSummedOnce() throws {
        // Integers sum exactly in any order: a wrong leaf, run or merge shows.
        let dims = Dims4(extents: SIMD4(3, 5, 1, 300))
        let strides = SIMD4(5 * 300, 300, 0, 1)
        let set = SummedSet(dims, strides, strides &* 2)
        #expect(set.dims.extents == SIMD4(1, 1, 1, 4500))
        #expect(set.sa[3] == 1 && set.sb[3] == 2)
        for positions in [0..<4500, 7..<4499, 130..<131, 299..<1203] {
            let sum: Double = Summation.sum(set, positions) { a, b in
                Double(a) + Double(b) / 2 + 1
            }
            let exact = positions.reduce(0.0) { $0 + 2 * Double($1) + 1 }
            #expect(sum == exact)
        }
        // Rows 400 apart: 15 runs of 300, leaves cut at each run's start.
        let rows = SummedSet(dims, SIMD4(2000, 400, 0, 1))
        #expect(rows.dims.extents == SIMD4(1, 1, 15, 300))
        for positions in [0..<4500, 7..<4499, 299..<1203] {
            let sum: Double = Summation.sum(rows, positions) { a, _ in Double(a) }
            let exact = positions.reduce(0.0) { $0 + Double($1 / 300 * 400 + $1 % 300) }
            #expect(sum == exact)
        }
    }

    @Test func s3OmegaAgreesWithFloat64() throws {
        // Full size (a few seconds in debug): at length 4096 the error is the
        // float32 chain of 64 scalar adds (2.8e-7 with either order), not the means.
        let graph = try Workloads.wideDAG()
        let omega = Double(
            try Self.execute(graph, options: PlanOptions(gradients: false)).output.scalar!)
        let double = try Execution(
            plan: Plan(graph.converted(to: Double.self), options: PlanOptions(gradients: false)))
        try double.run(on: Runtime(threads: 1))
        let exact = double.output.scalar!
        let error = Swift.abs(omega - exact) / Swift.abs(exact)
        // A running sum in each mean: 17.646328 vs 17.646743, 2.35e-5 off.
        print("S3 ω: \(omega) vs float64 \(exact), relative error \(error)")
        #expect(error <= 1e-6)
    }
}
