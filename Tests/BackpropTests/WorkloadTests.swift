import AllocationCounter
import BackpropWorkloads
import Testing

@testable import Backprop

/// The workloads against the reference values of the hand-written C tape.
@Suite struct WorkloadTests {
    /// (N, ω, ∂ω/∂x0, ∂ω/∂x1, ∂ω/∂x2, Σ ∂ω/∂x_i) from the workloads notes.
    static let s1Reference: [(Int, Double, Double, Double, Double, Double)] = [
        (
            1000, 0.81597338610317993, 0.24397428524982984, -0.020235861445790555,
            -0.6972946436023203, 25.897094198783829
        ),
        (
            10000, -5.1645323464801249, -0.63116699862764447, 0.087732312989213537,
            0.66433859914131266, 40.120774106251524
        ),
    ]

    func close(_ a: Double, _ b: Double) -> Bool {
        Swift.abs(a - b) <= 1e-12 * Swift.max(1, Swift.abs(b))
    }

    /// The generator's stream, pinned: the workloads and every test's random
    /// data come from it, so a change here changes them all. (Values from an
    /// independent Python implementation of the recurrence.)
    @Test func generatorStreamIsPinned() {
        var g = WorkloadGenerator(seed: 2024)
        #expect(g.advance() == 6_627_048_657_530_977_559)
        #expect(g.advance() == 5_609_144_197_546_338_138)
        #expect(g.draw64() == 6)
        #expect(g.unit() == 0.2551223131252389)
        #expect(g.uniform(-1, 1) == 0.8225158551365614)
        #expect(g.int(10) == 2)
        #expect(g.state == 7_670_121_922_720_514_734)
    }

    @Test(arguments: 0..<2)
    func scalarDAGMatchesTheCTape(row: Int) throws {
        let (n, omega, d0, d1, d2, total) = Self.s1Reference[row]
        let graph = try Workloads.scalarDAG(nodes: n)
        let reference = try ReferenceExecutor().gradients(graph)
        let execution = try Execution(plan: Plan(graph))
        try execution.run()
        var levels = PlanOptions(scalarTape: false)
        levels.grain = 64
        let levelExecution = try Execution(plan: Plan(graph, options: levels))
        try levelExecution.run(on: Runtime(threads: 2))
        for gradients in [reference.gradients, execution.gradients, levelExecution.gradients] {
            #expect(close(gradients["x0"]!.scalar!, d0))
            #expect(close(gradients["x1"]!.scalar!, d1))
            #expect(close(gradients["x2"]!.scalar!, d2))
            #expect(close((0..<64).reduce(0.0) { $0 + gradients["x\($1)"]!.scalar! }, total))
        }
        for output in [reference.output, execution.output, levelExecution.output] {
            #expect(close(output.scalar!, omega))
        }
    }

    @Test func schedulerShapesAndSmallWorkloadsRun() throws {
        let chain = try Workloads.linearChain(nodes: 1000)
        let e = try Execution(plan: Plan(chain))
        try e.run()
        #expect(e.output.scalar == 999)
        #expect(e.gradient(of: "x")?.scalar == 1)

        let wave = try Workloads.wavefront(side: 16)
        // Inputs, then two levels (add, ·0.5) per anti-diagonal i + j = 2…30.
        #expect(wave.levels.count == 1 + 2 * 29)
        try expectMatchesReference(
            wave,
            try runEverywhere(
                wave, options: PlanOptions(grain: 1, inlineThreshold: 0, scalarTape: false)),
            tolerance: 1e-12)

        let random = try Workloads.randomLevels(levels: 8, width: 32)
        try expectMatchesReference(
            random,
            try runEverywhere(
                random, options: PlanOptions(grain: 4, inlineThreshold: 8, scalarTape: false)),
            tolerance: 1e-12)

        let wide = try Workloads.wideDAG(width: 8, levels: 4, length: 256)
        try expectMatchesReference(
            wide, try runEverywhere(wide, options: PlanOptions(grain: 512, inlineThreshold: 1024)),
            tolerance: 1e-4)

        let mlp = try Workloads.mlp(batch: 4, layers: [12, 8, 8, 10])
        try expectMatchesReference(
            mlp, try runEverywhere(mlp, options: PlanOptions(grain: 64, inlineThreshold: 128)),
            tolerance: 1e-4)
    }

    // MARK: S5 small-mlp

    /// S5's weights and samples against values drawn by an independent
    /// scalar implementation of the generator (Benchmarks/peers/s5_reference.py):
    /// weights first, then each sample's two coordinates and its label.
    @Test func smallMLPDataMatchesPython() throws {
        let model = Workloads.smallMLPModel()
        #expect(model.parameterNames == ["W1", "b1", "W2", "b2", "W3", "b3"])
        let (w1, w2, w3) = (
            model.initialValues[0].scalars, model.initialValues[2].scalars,
            model.initialValues[4].scalars
        )
        #expect(model.initialValues[0].shape == [2, 64])
        #expect(model.initialValues[4].shape == [64, 3])
        #expect(w1[0] == 0.4288054406642914 && w1[127] == -0.6216232776641846)
        #expect(w2[0] == -0.11138446629047394 && w2[4095] == -0.11494235694408417)
        #expect(w3[0] == -0.05791740491986275 && w3[191] == -0.03621054068207741)
        for k in [1, 3, 5] { #expect(model.initialValues[k].scalars.allSatisfy { $0 == 0 }) }

        let data = Workloads.smallMLPData()
        #expect(data.samples == 1536 && data.features == 2 && data.classes == 3)
        #expect(data.x[0] == 0.8337184685139798 && data.x[1] == 0.33388143832483963)
        #expect(data.x[2] == 0.9838548847807964 && data.x[3] == -0.8844167355374846)
        #expect(data.x[3070] == 0.4729152924526754 && data.x[3071] == -0.913268672536875)
        #expect(data.labels[0] == 1 && data.labels[1] == 1 && data.labels[1535] == 0)
        #expect((0..<3).map { c in data.labels.count { $0 == Double(c) } } == [522, 502, 512])
        #expect(Swift.abs(data.x.reduce(0, +) - -4.227841917950701) < 1e-12)
    }

    /// One S5 epoch's per-step losses and trained weights are bitwise the
    /// same at 1 and 2 threads, and a restarted epoch repeats them exactly
    /// (Note [S5 epochs start afresh]).
    @Test func smallMLPEpochIsThreadCountInvariant() throws {
        func epoch(threads: Int) throws -> (losses: [Double], mean: Double, w1: [Float]) {
            let runtime = Runtime(threads: threads)
            let s5 = try SmallMLPTraining(runtime: runtime)
            try s5.restart()
            var losses: [Double] = []
            let mean = try s5.epoch(on: runtime) { losses.append($0.loss) }
            return (losses, mean, s5.execution.parameter("W1")!.scalars)
        }
        let one = try epoch(threads: 1)
        let two = try epoch(threads: 2)
        #expect(one.losses.count == 24)
        #expect(one.losses == two.losses && one.mean == two.mean && one.w1 == two.w1)
        // The labels are drawn independently of x: the first loss is near ln 3.
        #expect(Swift.abs(one.losses[0] - 1.0986) < 0.05 && one.mean.isFinite)
        #expect(one.w1 != Workloads.smallMLPModel().initialValues[0].scalars)

        let runtime = Runtime(threads: 2)
        let s5 = try SmallMLPTraining(runtime: runtime)
        try s5.restart()
        let first = try s5.epoch(on: runtime)
        // The restart allocates in a debug build (not in release:
        // the benchmark package gates restart + epoch at 0 mallocs).
        try s5.restart()
        allocation_counter_begin()
        let again = try s5.epoch(on: runtime)
        let allocations = allocation_counter_end()
        #expect(first == one.mean && again == one.mean)
        // On the calling thread (-1: counting unsupported here).
        #expect(allocations == 0 || allocations == -1, "\(allocations) allocations in an epoch")
    }
}
