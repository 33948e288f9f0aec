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
}
