import AllocationCounter
import BackpropStress
import BackpropWorkloads
import Testing

@testable import Backprop

/// Note [Fusion]: what the fusion pass groups (a plan-structure test), and
/// that fused and unfused plans (`PlanOptions.fusion`) give the same bits,
/// each identical across 1–4 threads, on random graphs and on workloads.
@Suite struct FusionTests {
    /// S3's shape in small: `tanh(a ⊙ b + a)` over vectors, two levels.
    static func wideGraph() throws -> Graph<Float> {
        var rng = WorkloadGenerator(seed: 21)
        let b = GraphBuilder<Float>()
        var level = (0..<6).map { b.input("x\($0)", .random([4_096], &rng)) }
        for _ in 0..<2 {
            level = (0..<6).map { j in
                let (p, q) = (level[j], level[(j * 5 + 1) % 6])
                return (p * q + p).tanh()
            }
        }
        return try b.build(output: level.dropFirst().reduce(level[0], +).sum())
    }

    static let options = PlanOptions(grain: 1_024, inlineThreshold: 2_048)

    static func unfused(_ options: PlanOptions) -> PlanOptions {
        var o = options
        o.fusion = false
        return o
    }

    @Test func planStructure() throws {
        let graph = try Self.wideGraph()
        let fused = Plan(graph, options: Self.options).statistics
        let unfused = Plan(graph, options: Self.unfused(Self.options)).statistics
        // Each node's mul roots a chain of its add and tanh; the output's
        // adds chain below each other's where the newest parent is unique.
        #expect(fused.fusedGroups >= 12)
        #expect(fused.fusedNodes >= 24)
        #expect(fused.fusedEpilogues == 0)
        #expect(unfused.fusedGroups == 0 && unfused.fusedNodes == 0)
        #expect(fused.forwardPhases < unfused.forwardPhases)
        #expect(fused.levels == unfused.levels)
        // Note [In-place chains]: every add and tanh computes into its mul's
        // buffer (12 chains, 24 nodes), and some of the output's adds into
        // their chain parent's; a tanh, whose VJP reads its value, is never
        // overwritten. Forward traffic falls by the buffers that vanish.
        #expect(fused.inPlaceValues >= 24 && unfused.inPlaceValues == 0)
        #expect(fused.forwardBytes < unfused.forwardBytes / 2)
        // Note [In-place gradients]: each tanh passes its gradient to its
        // add in place (the add's only consumer), so the backward pass moves
        // less too.
        #expect(fused.inPlaceGradients == 12 && unfused.inPlaceGradients == 0)
        #expect(fused.backwardBytes < unfused.backwardBytes)
        let plan = Plan(graph, options: Self.options)
        let offsets = plan.tables.valueOffset
        var tanhs = 0
        for k in 0..<graph.count {
            guard case .unary(.tanh) = graph.op(of: k) else { continue }
            tanhs += 1
            let add = graph.parents(of: k).first!
            let mul = graph.parents(of: add).first!
            #expect(offsets[k] == offsets[add] && offsets[add] == offsets[mul])
            let gradients = plan.tables.gradientOffset
            #expect(gradients[add] == gradients[k] && gradients[mul] != gradients[k])
            for c in graph.children(of: k) { #expect(offsets[c] != offsets[k]) }
        }
        #expect(tanhs == 12)

        // An MLP: the bias add and ReLU after each 32-wide product form an
        // epilogue; the last product (3 outputs per row) roots none.
        let mlp = try Model<Float>.mlp(layers: [4, 32, 32, 3], seed: 2).trainingGraph(batch: 64)
        let stats = Plan(mlp, options: Self.options).statistics
        #expect(stats.fusedEpilogues == 2)
        #expect(stats.fusedNodes >= 4)
        let plain = Plan(mlp, options: Self.unfused(Self.options)).statistics
        #expect(plain.fusedEpilogues == 0 && plain.forwardPhases > stats.forwardPhases)
        // Product, bias add and ReLU of each hidden layer share one buffer:
        // the product's VJP reads its inputs only, the add's nothing, and
        // ReLU's its output.
        #expect(stats.inPlaceValues == 4)
        #expect(stats.forwardBytes < plain.forwardBytes)
        // Each ReLU's gradient goes to its bias add in place.
        #expect(stats.inPlaceGradients == 2)
        #expect(stats.arenaElements < plain.arenaElements)
        // Without a backward pass nothing reads values back, so the loss's
        // chain may overwrite more; with fusion off, nothing is overwritten.
        var inference = Self.options
        inference.gradients = false
        #expect(Plan(mlp, options: inference).statistics.inPlaceValues >= 4)
    }

    /// `options` with the backward pass fused too (Note [Fused backward]).
    static func fusedBackward(_ options: PlanOptions) -> PlanOptions {
        var o = options
        o.fusedBackward = true
        return o
    }

    /// Fused and unfused plans of `graph`, and one with the backward pass
    /// fused too: each bitwise the same at 1–4 threads (`runEverywhere`),
    /// and the same bits as each other; and a fused forward-only plan's
    /// output the same bits too.
    static func expectSameBits<T>(_ graph: Graph<T>, _ options: PlanOptions) throws {
        let fused = try runEverywhere(graph, options: options, threads: [1, 2, 3, 4], repeats: 2)
        let unfused = try runEverywhere(
            graph, options: Self.unfused(options), threads: [1, 2, 3, 4], repeats: 2)
        let blocks = try runEverywhere(
            graph, options: Self.fusedBackward(options), threads: [1, 2, 3, 4], repeats: 2)
        #expect(fused.output.isBitwiseEqual(to: unfused.output))
        #expect(blocks.output.isBitwiseEqual(to: unfused.output), "fused backward")
        for (name, g) in blocks.gradients {
            #expect(g.isBitwiseEqual(to: unfused.gradients[name]!), "fused backward: \(name)")
        }
        // Forward only, nothing reads values back, and more nodes compute in
        // place (Note [In-place chains]): the same output bits.
        var inference = options
        inference.gradients = false
        let forward = try runEverywhere(graph, options: inference, threads: [1, 2, 4], repeats: 1)
        #expect(forward.output.isBitwiseEqual(to: unfused.output), "forward-only plan")
        #expect(fused.gradients.keys.sorted() == unfused.gradients.keys.sorted())
        for (name, g) in fused.gradients {
            #expect(g.isBitwiseEqual(to: unfused.gradients[name]!), "gradient of \(name)")
        }
    }

    /// Note [Fused backward] and Note [Store or recompute]: which nodes
    /// join which level's block, what is recomputed, and the bits.
    @Test func fusedBackwardPlanStructure() throws {
        let graph = try Self.wideGraph()
        let plain = Plan(graph, options: Self.options).statistics
        let fused = Plan(graph, options: Self.fusedBackward(Self.options)).statistics
        #expect(plain.fusedBackwardBlocks == 0 && plain.fusedBackwardNodes == 0)
        // Each level's mul and add join their tanh's level (24 nodes, two
        // blocks); nothing is recomputed (every value read back is stored
        // for another reason: a tanh, or a product's inputs).
        #expect(fused.fusedBackwardBlocks >= 2)
        #expect(fused.fusedBackwardNodes >= 24)
        #expect(fused.recomputedValues == 0)
        #expect(fused.backwardPhases < plain.backwardPhases)
        #expect(fused.forwardBytes == plain.forwardBytes)

        // sin(x ⊙ y) ⊙ z: sin's VJP reads the product, which costs one
        // operation: recomputed in the block, so sin computes in place over
        // it. exp(x) is costlier (8): stored. relu(x) ⊙ y: ReLU's VJP reads
        // its own value, recomputed too. 20,000 elements: tiles of 8,192
        // split the block's chunks.
        var rng = WorkloadGenerator(seed: 30)
        let b = GraphBuilder<Double>()
        let x = b.input("x", .random([20_000], &rng))
        let y = b.input("y", .random([20_000], &rng))
        let z = b.input("z", .random([20_000], &rng))
        let product = x * y
        let cheap = (sin(product) * z).sum()
        let costly = (sin(exp(x)) * z).sum()
        let rectified = (relu(x) * y).sum()
        let output = cheap + costly + rectified
        let g = try b.build(output: output)
        let plan = Plan(g, options: Self.fusedBackward(PlanOptions()))
        #expect(plan.statistics.recomputedValues == 2)
        let offsets = plan.tables.valueOffset
        let sine = g.children(of: product.id).first!
        #expect(offsets[product.id] == offsets[sine])
        let expX = g.children(of: x.id).first {
            if case .unary(.exp) = g.op(of: $0) { true } else { false }
        }!
        #expect(offsets[expX] != offsets[g.children(of: expX).first!])
        let table = plan.tables.items
        let items = (0..<table.count).map { table[$0] }
        #expect(items.contains { $0.kind == .recompute && Int($0.node) == product.id })
        #expect(!items.contains { $0.kind == .recompute && Int($0.node) == expX })
        #expect(items.contains { $0.kind == .tile && $0.hi - $0.lo > FusedBackward.tileLength })
        #expect(Plan(g).statistics.recomputedValues == 0)
        try Self.expectSameBits(g, PlanOptions())
        let result = try runEverywhere(g, options: Self.fusedBackward(PlanOptions()))
        try expectMatchesReference(g, result, tolerance: 1e-12)

        // The recomputed tiles live on the workers' stacks: running the plan
        // again allocates nothing.
        let execution = try Execution(plan: plan)
        let runtime = Runtime(threads: 2)
        try execution.run(on: Runtime(threads: 1))
        try execution.run(on: runtime)
        allocation_counter_begin()
        for _ in 0..<3 { try execution.run(on: runtime) }
        let allocations = allocation_counter_end()
        #expect(allocations == 0 || allocations == -1, "\(allocations) allocations in 3 runs")
    }

    @Test func fusedAndUnfusedAgreeOnWorkloads() throws {
        try Self.expectSameBits(try Self.wideGraph(), Self.options)
        try Self.expectSameBits(
            try Workloads.mlp(batch: 32, layers: [64, 48, 32, 10]), Self.options)
        try Self.expectSameBits(
            try classifier(seed: 3, batch: 64, features: 24, hidden: 32), Self.options)
    }

    @Test(arguments: 1...12 as ClosedRange<UInt64>)
    func fusedAndUnfusedAgreeOnRandomGraphs(seed: UInt64) throws {
        var settings = StressGraphSettings()
        settings.kind = .tensor
        let generator = StressGenerator(settings: settings)
        let options = PlanOptions(
            grain: 64, inlineThreshold: 128, maxChunksPerNode: 8, scalarTape: false)
        switch try generator.graph(seed: seed) {
        case .float32(let g): try Self.expectSameBits(g, options)
        case .float64(let g): try Self.expectSameBits(g, options)
        }
    }
}
