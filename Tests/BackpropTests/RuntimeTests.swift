import BackpropWorkloads
import Testing

@testable import Backprop

/// Runs a plan at several thread counts and repeats; returns the output and
/// gradients of the first run, after checking every other run is bitwise equal.
func runEverywhere<T>(
    _ graph: Graph<T>, options: PlanOptions = PlanOptions(), threads: [Int] = [1, 2, 3, 4, 8],
    repeats: Int = 3
) throws -> (output: Tensor<T>, gradients: [String: Tensor<T>]) {
    let plan = Plan(graph, options: options)
    var first: (Tensor<T>, [String: Tensor<T>])?
    for n in threads {
        let runtime = Runtime(threads: n)
        let execution = try Execution(plan: plan)
        for _ in 0..<repeats {
            try execution.run(on: runtime)
            let result = (execution.output, execution.gradients)
            if let first {
                #expect(result.0.isBitwiseEqual(to: first.0), "output differs at \(n) threads")
                for (name, g) in first.1 {
                    #expect(
                        result.1[name]!.isBitwiseEqual(to: g),
                        "gradient of \(name) differs at \(n) threads")
                }
            } else {
                first = result
            }
        }
    }
    return first!
}

func expectMatchesReference<T>(
    _ graph: Graph<T>, _ result: (output: Tensor<T>, gradients: [String: Tensor<T>]), tolerance: T
) throws {
    let reference = try ReferenceExecutor().gradients(graph)
    #expect(
        result.output.isApproximatelyEqual(
            to: reference.output, relativeTolerance: tolerance, absoluteTolerance: tolerance))
    for (name, g) in reference.gradients {
        #expect(
            result.gradients[name]!.isApproximatelyEqual(
                to: g, relativeTolerance: tolerance, absoluteTolerance: tolerance),
            "\(name): \(result.gradients[name]!) vs \(g)")
    }
}

@Suite struct RuntimeTests {
    @Test func lectureExampleThroughAPlan() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 1.0), y = b.input("y", 2.0)
        let graph = try b.build(output: (x + y) * x * y.pow(2))
        let result = try runEverywhere(graph)
        #expect(result.output.scalar == 12)
        #expect(result.gradients["x"]?.scalar == 16)
        #expect(result.gradients["y"]?.scalar == 16)
    }

    /// Small grain and threshold force chunked parallel phases even on small graphs.
    static let fineOptions = PlanOptions(grain: 8, inlineThreshold: 16, maxChunksPerNode: 7)

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func randomTensorGraphsMatchTheReference(seed: UInt64) throws {
        var gen = RandomGraph(seed: seed)
        let graph = try gen.tensor(Double.self, steps: 40)
        for options in [PlanOptions(), Self.fineOptions] {
            // 20 runs at each of 1, 2, 3, 4 and 8 threads, all bitwise equal.
            let result = try runEverywhere(graph, options: options, repeats: 20)
            try expectMatchesReference(graph, result, tolerance: 1e-9)
        }
        var genF = RandomGraph(seed: seed)
        let graphF = try genF.tensor(Float.self, steps: 40)
        try expectMatchesReference(
            graphF, try runEverywhere(graphF, options: Self.fineOptions), tolerance: 1e-3)
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func randomScalarGraphsMatchTheReference(seed: UInt64) throws {
        var gen = RandomGraph(seed: seed)
        let graph = try gen.scalar(Double.self, nodes: 400)
        #expect(Plan(graph).statistics.scalarTape)
        var fineLevels = Self.fineOptions
        fineLevels.scalarTape = false
        for options in [PlanOptions(), PlanOptions(scalarTape: false), fineLevels] {
            let result = try runEverywhere(graph, options: options, repeats: 20)
            try expectMatchesReference(graph, result, tolerance: 1e-9)
        }
    }

    @Test func scalarTapeHandlesEveryScalarOp() throws {
        var rng = WorkloadGenerator(seed: 30)
        let b = GraphBuilder<Double>()
        let x = b.input("x", Tensor(rng.uniform(0.2, 1)))
        let y = b.input("y", Tensor(rng.uniform(0.2, 1)))
        _ = b.input("unused", 3.0)
        let terms: [Node<Double>] = [
            -x, exp(x), log(x), sqrt(x), x.pow(2.5), x.pow(0), tanh(x), sigmoid(x), relu(x), sin(x),
            cos(x),
            abs(-x), x + y, x - y, x * y, x / y, x * x, sigmoidCrossEntropy(logits: x, targets: y),
            x.sum(),
            x.mean(), x.max(), x.reshaped([]),
        ]
        let graph = try b.build(output: terms.dropFirst().reduce(terms[0]) { $0 + $1 })
        let plan = Plan(graph)
        #expect(plan.statistics.scalarTape)
        let execution = try Execution(plan: plan)
        try execution.run()
        let reference = try ReferenceExecutor().gradients(graph)
        #expect(
            execution.output.isApproximatelyEqual(to: reference.output, relativeTolerance: 1e-14))
        for name in ["x", "y", "unused"] {
            #expect(
                execution.gradient(of: name)!.isApproximatelyEqual(
                    to: reference.gradients[name]!, relativeTolerance: 1e-13), "\(name)")
        }
        // A custom op keeps the graph on the general path.
        let c = GraphBuilder<Double>()
        let z = c.input("z", 0.5)
        #expect(!Plan(try c.build(output: Softsign()(z))).statistics.scalarTape)
    }
}

/// Regressions found in review of the runtime.
@Suite struct RuntimeRegressionTests {
    @Test func customOpWhoseArgumentsAreNotTheFirstEdges() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", 0.5)
        let c = b.constant(3.0)
        let graph = try b.build(output: c * Softsign()(tanh(x)))
        try expectMatchesReference(
            graph, try runEverywhere(graph, options: PlanOptions(scalarTape: false)),
            tolerance: 1e-14)
        let alone = try b.build(output: Softsign()(tanh(x)))
        try expectMatchesReference(alone, try runEverywhere(alone), tolerance: 1e-14)
    }

    @Test func unaryVJPsReadOnlyWhatTheyDeclare() throws {
        // Under ThreadSanitizer (CI) this graph raced when a VJP read a value
        // buffer already recycled for another chunk of the same phase.
        var rng = WorkloadGenerator(seed: 50)
        let b = GraphBuilder<Double>()
        let x = b.input("x", .random([24], &rng)), w = b.input("w", .random([24], &rng, 0.1, 1))
        let v = exp(w), u = exp(x)
        let out =
            (-v).sum() + (sin(u) * cos(u)).sum() + sqrt(u).sum() + log(v).sum()
            + abs(x).pow(1.5).sum()
        let graph = try b.build(output: out)
        let options = PlanOptions(grain: 4, inlineThreshold: 0, maxChunksPerNode: 4)
        try expectMatchesReference(
            graph, try runEverywhere(graph, options: options, threads: [1, 2], repeats: 50),
            tolerance: 1e-12)
    }

    @Test func maxOfANaNScalarPassesNoGradient() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", Tensor(Double.nan))
        let graph = try b.build(output: x.max() + x.mean())
        let reference = try ReferenceExecutor().gradients(graph)
        #expect(reference.gradients["x"]?.scalar == 1)  // from the mean only
        for options in [PlanOptions(), PlanOptions(scalarTape: false)] {
            let e = try Execution(plan: Plan(graph, options: options))
            try e.run()
            #expect(e.gradient(of: "x")?.scalar == 1)
        }
    }
}

/// The instruction set's choice from `BACKPROP_ISA` and the CPU.
@Suite struct InstructionSetTests {
    @Test func theBestSupportedSetUnlessOneIsRequested() {
        let all: [InstructionSet] = [.avx512, .avx2, .baseline]
        let avx2: [InstructionSet] = [.avx2, .baseline]
        #expect(InstructionSet.select(requested: nil, supported: all).chosen == .avx512)
        #expect(InstructionSet.select(requested: "", supported: avx2).chosen == .avx2)
        #expect(InstructionSet.select(requested: "baseline", supported: all).chosen == .baseline)
        #expect(InstructionSet.select(requested: "AVX2", supported: all).chosen == .avx2)
        #expect(InstructionSet.select(requested: "avx2", supported: avx2).problem == nil)
    }

    @Test func anUnknownOrUnsupportedRequestFallsBackAndSaysWhy() {
        let avx2: [InstructionSet] = [.avx2, .baseline]
        let unknown = InstructionSet.select(requested: "neon", supported: avx2)
        #expect(unknown.chosen == .avx2 && unknown.problem == .unknown("neon"))
        #expect(
            unknown.problem!.description
                == "invalid BACKPROP_ISA='neon': expected avx512, avx2 or baseline")
        let missing = InstructionSet.select(requested: "avx512", supported: avx2)
        #expect(missing.chosen == .avx2)
        #expect(
            missing.problem!.description
                == "BACKPROP_ISA=avx512: this CPU does not support it (supported: avx2, baseline)")
        #expect(
            InstructionSet.select(requested: "avx2", supported: [.baseline]).chosen == .baseline)
    }

    @Test func thisMachineSupportsTheChosenSetAndTheBaseline() throws {
        #expect(InstructionSet.supported.last == .baseline)
        #expect(InstructionSet.supported.contains(InstructionSet.current))
        #expect(InstructionSet.supported == InstructionSet.supported.sorted(by: >))
        #expect(Runtime.instructionSetDescription.hasPrefix("\(InstructionSet.current) ("))
        #expect(throws: InstructionSet.SelectionError.unknown("x")) {
            try InstructionSet.validate(environment: ["BACKPROP_ISA": "x"])
        }
        try InstructionSet.validate(environment: ["BACKPROP_ISA": "baseline"])
        try InstructionSet.validate(environment: [:])
    }
}
