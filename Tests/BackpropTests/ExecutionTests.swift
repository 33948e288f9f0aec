import AllocationCounter
import BackpropWorkloads
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Backprop

/// A two-layer classifier: the training-step shape (matmul, bias broadcast,
/// relu, cross-entropy), small enough for debug builds.
func classifier(
    seed: UInt64, batch: Int = 16, features: Int = 24, hidden: Int = 32, classes: Int = 5
) throws -> Graph<Float> {
    var rng = WorkloadGenerator(seed: seed)
    let b = GraphBuilder<Float>()
    let x = b.input("x", .random([batch, features], &rng))
    let labels = b.input(
        "labels",
        try Tensor(shape: [batch], scalars: (0..<batch).map { _ in Float(rng.int(classes)) }))
    let w1 = b.parameter("W1", .random([features, hidden], &rng, -0.3, 0.3))
    let b1 = b.parameter("b1", .zeros([hidden]))
    let w2 = b.parameter("W2", .random([hidden, classes], &rng, -0.3, 0.3))
    let h = (x.matmul(w1) + b1).relu()
    let loss = crossEntropy(logits: h.matmul(w2), labels: labels).mean()
    return try b.build(output: loss)
}

@Suite struct ExecutionTests {
    // The large case asks for OpenBLAS, and its matrix products are big
    // enough to go to it when present. Counted: the calling thread's allocations (at 2 threads
    // the caller is one of the workers); see docs/scheduling.md §4.
    @Test(arguments: [1, 2], [false, true])
    func reExecutionAllocatesNothing(threads: Int, large: Bool) throws {
        let (batch, features, hidden) = large ? (64, 128, 128) : (16, 24, 32)
        let graph = try classifier(seed: 3, batch: batch, features: features, hidden: hidden)
        let plan = Plan(
            graph, options: PlanOptions(grain: 256, inlineThreshold: 512, useBLAS: large))
        #expect(plan.tables.isParallel)
        let runtime = Runtime(threads: threads)
        let execution = try Execution(plan: plan)
        var rng = WorkloadGenerator(seed: 4)
        let batches = (0..<3).map { _ in Tensor<Float>.random([batch, features], &rng) }
        // Warm up on this thread alone first: at 2 threads it may happen not
        // to run some product in the warm-up and run it in the counted runs,
        // and OpenBLAS sets up a thread's buffers on that thread's first
        // call (a flaky count under the full suite's scheduling).
        try execution.run(on: Runtime(threads: 1))
        try execution.run(on: runtime)
        allocation_counter_begin()
        // By index: iterating an array of tensors allocates in debug builds.
        for k in 0..<3 {
            try execution.setInput("x", batches[k])
            try execution.run(on: runtime)
        }
        let allocations = allocation_counter_end()
        // -1: counting unsupported on this platform.
        #expect(allocations == 0 || allocations == -1, "\(allocations) allocations in 3 runs")
        // The numbers are those of the last batch.
        let reference = try ReferenceExecutor().gradients(graph, inputs: ["x": batches[2]])
        #expect(
            execution.output.isApproximatelyEqual(to: reference.output, relativeTolerance: 1e-4))
        #expect(
            execution.gradient(of: "W1")!.isApproximatelyEqual(
                to: reference.gradients["W1"]!, relativeTolerance: 1e-3, absoluteTolerance: 1e-6))
    }

    @Test func concurrentExecutionsOfOnePlan() throws {
        let graph = try classifier(seed: 5)
        let plan = Plan(graph, options: PlanOptions(grain: 256, inlineThreshold: 512))
        let runtime = Runtime(threads: 2)
        var rng = WorkloadGenerator(seed: 6)
        let inputs = (0..<4).map { _ in Tensor<Float>.random([16, 24], &rng) }
        let expected = try inputs.map {
            try ReferenceExecutor().gradients(graph, inputs: ["x": $0])
        }
        let mismatches = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            guard let execution = try? Execution(plan: plan) else {
                mismatches.add(1, ordering: .relaxed)
                return
            }
            for _ in 0..<10 {
                do {
                    try execution.setInput("x", inputs[k])
                    try execution.run(on: runtime)
                    if !execution.gradient(of: "W2")!.isApproximatelyEqual(
                        to: expected[k].gradients["W2"]!, relativeTolerance: 1e-3,
                        absoluteTolerance: 1e-6)
                    {
                        mismatches.add(1, ordering: .relaxed)
                    }
                } catch {
                    mismatches.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(mismatches.load(ordering: .relaxed) == 0)
    }

    @Test func reEntrantRunIsAnErrorNotADeadlock() throws {
        final class Holder: @unchecked Sendable { var execution: Execution<Double>? }
        let holder = Holder()
        let reenter = ClosureOp<Double>(
            name: "reenter",
            forward: { x in
                try holder.execution!.run(on: Runtime(threads: 2))
                return x[0]
            }, vjp: { _, _, g in [g] })
        let b = GraphBuilder<Double>()
        let g = try b.build(output: reenter(b.input("x", 1.0)).named("r"))
        let execution = try Execution(plan: Plan(g))
        holder.execution = execution
        do {
            try execution.run(on: Runtime(threads: 2))
            Issue.record("expected an error")
        } catch let ExecutionError.customOpFailed(node, op, message) {
            #expect(node == "r" && op == "reenter")
            #expect(message.contains("already running"), "\(message)")
        }
        // The execution is usable afterwards... and still refuses re-entry.
        #expect(throws: ExecutionError.self) { try execution.run() }
    }

    @Test func aCustomOpMayRunAnotherExecution() throws {
        // A nested pass on the same runtime completes: workers claim tasks,
        // so the caller alone can finish any pass.
        let inner = try classifier(seed: 9)
        let innerPlan = Plan(inner, options: PlanOptions(grain: 256, inlineThreshold: 512))
        let nested = ClosureOp<Double>(
            name: "nested",
            forward: { x in
                let e = try Execution(plan: innerPlan)
                try e.run(on: Runtime(threads: 2))
                return x[0].map { $0 + Double(e.output.scalar!) }
            }, vjp: { _, _, g in [g] })
        let b = GraphBuilder<Double>()
        let g = try b.build(output: nested(b.input("x", 1.0)))
        let execution = try Execution(plan: Plan(g))
        try execution.run(on: Runtime(threads: 2))
        let expected = try ReferenceExecutor().forward(inner).output.scalar!
        #expect(Swift.abs(execution.output.scalar! - 1 - Double(expected)) < 1e-4)
    }

    @Test func sharedParameterInOneLevelAccumulatesThroughJoins() throws {
        var rng = WorkloadGenerator(seed: 10)
        let b = GraphBuilder<Double>()
        let p = b.parameter("p", .random([64], &rng))
        var terms: [Node<Double>] = []
        for i in 0..<32 { terms.append(tanh(p * b.input("x\(i)", .random([64], &rng)))) }
        let out = terms.dropFirst().reduce(terms[0]) { $0 + $1 }.sum()
        let graph = try b.build(output: out)
        let options = PlanOptions(grain: 32, inlineThreshold: 64)
        let plan = Plan(graph, options: options)
        // Elementwise VJPs into p share chunks (grouped edges, no partials).
        #expect(plan.statistics.groupedEdges == 32)
        #expect(plan.statistics.partialEdges == 0)
        let result = try runEverywhere(graph, options: options)
        try expectMatchesReference(graph, result, tolerance: 1e-12)
    }

    @Test func sharedWeightsOfMatrixProductsJoinThroughPartials() throws {
        var rng = WorkloadGenerator(seed: 15)
        let b = GraphBuilder<Double>()
        let w = b.parameter("W", .random([8, 6], &rng))
        let terms = (0..<4).map { i in
            tanh(b.input("x\(i)", .random([40, 8], &rng)).matmul(w)).sum()
        }
        let graph = try b.build(output: terms.dropFirst().reduce(terms[0]) { $0 + $1 })
        let options = PlanOptions(grain: 64, inlineThreshold: 128)
        #expect(Plan(graph, options: options).statistics.partialEdges == 4)
        try expectMatchesReference(
            graph, try runEverywhere(graph, options: options), tolerance: 1e-12)
    }

    @Test func cotangentGivesTheVJP() throws {
        var rng = WorkloadGenerator(seed: 12)
        let b = GraphBuilder<Double>()
        let a = b.input("A", .random([3, 4], &rng))
        let graph = try b.build(output: tanh(a).matmul(b.constant(.random([4, 2], &rng))))
        let cotangent = Tensor<Double>.random([3, 2], &rng)
        let execution = try Execution(plan: Plan(graph))
        try execution.setCotangent(cotangent)
        try execution.run()
        let reference = try ReferenceExecutor().vjp(graph, cotangent: cotangent)
        #expect(
            execution.gradient(of: "A")!.isApproximatelyEqual(
                to: reference.gradients["A"]!, relativeTolerance: 1e-12))
        #expect(throws: ExecutionError.cotangentShape(expected: [3, 2], got: [2])) {
            try execution.setCotangent(Tensor([1.0, 2]))
        }
    }

    @Test func runErrorsNameTheNode() throws {
        let b = GraphBuilder<Double>()
        let labels = b.input("labels", Tensor([0.0, 7]))
        let g = try b.build(
            output: crossEntropy(logits: b.input("z", .zeros([2, 3])), labels: labels).named("ce")
                .sum())
        let execution = try Execution(plan: Plan(g))
        #expect(throws: ExecutionError.invalidLabel(node: "ce", index: 1, value: 7, classes: 3)) {
            try execution.run(on: Runtime(threads: 2))
        }
        try execution.setInput("labels", Tensor([0.0, 2]))
        try execution.run(on: Runtime(threads: 2))
        #expect(execution.gradient(of: "z")!.count == 6)
        #expect(throws: GraphError.notAnInput(node: "ce")) {
            try execution.setInput("ce", Tensor([1.0, 2]))
        }
    }

    @Test func forwardOnlyPlansAndUnusedInputs() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", Tensor([1.0, 2, 3]))
        _ = b.input("unused", 5.0)
        let graph = try b.build(output: (x * x).sum())
        let forward = try Execution(plan: Plan(graph, options: PlanOptions(gradients: false)))
        try forward.run()
        #expect(forward.output.scalar == 14)
        let full = try Execution(plan: Plan(graph))
        try full.run()
        #expect(full.gradient(of: "x") == Tensor([2.0, 4, 6]))
        #expect(full.gradient(of: "unused") == Tensor(0.0))
    }
}

@Suite struct PlanStructureTests {
    @Test func everyItemRunsAfterItsParents() throws {
        var gen = RandomGraph(seed: 21)
        let graph = try gen.tensor(Double.self, steps: 60)
        for options in [PlanOptions(), PlanOptions(grain: 8, inlineThreshold: 16)] {
            let plan = Plan(graph, options: options)
            // Where each node's forward items ran: (phase, task, last item).
            var phaseOf = [Int](repeating: -1, count: graph.count)
            var tasksOf = [Set<Int>](repeating: [], count: graph.count)
            for phase in 0..<plan.tables.forwardPhaseCount {
                for t in plan.tables.phaseStart[phase]..<plan.tables.phaseStart[phase + 1] {
                    for k in plan.tables.taskStart[t]..<plan.tables.taskStart[t + 1] {
                        let item = plan.tables.items[k]
                        let j = Int(item.node)
                        for p in graph.parents(of: j) where !graph.op(of: p).isLeaf {
                            // A parent ran in an earlier phase, or (a chunk chain)
                            // its same range ran earlier in this very task.
                            let earlierPhase = phaseOf[p] >= 0 && phaseOf[p] < phase
                            let sameTask =
                                phaseOf[p] == phase && tasksOf[p].contains(t)
                                && (plan.tables.taskStart[t]..<k).contains {
                                    plan.tables.items[$0].node == Int32(p)
                                        && plan.tables.items[$0].lo == item.lo
                                        && plan.tables.items[$0].hi == item.hi
                                }
                            let serial =
                                plan.tables.phaseStart[phase + 1] - plan.tables.phaseStart[phase]
                                == 1
                            #expect(earlierPhase || sameTask || (serial && phaseOf[p] == phase))
                        }
                        phaseOf[j] = phase
                        tasksOf[j].insert(t)
                    }
                }
            }
            for i in graph.forwardOrder where !graph.op(of: i).isLeaf { #expect(phaseOf[i] >= 0) }
        }
    }

    @Test func elementwiseChainsShareTasks() throws {
        // S3's shape: tanh(a ⊙ b + a) runs as one chain per chunk.
        let graph = try Workloads.wideDAG(width: 4, levels: 3, length: 4096)
        let plan = Plan(graph, options: PlanOptions(grain: 1024, inlineThreshold: 2048))
        var chainedTasks = 0
        for t in 0..<plan.tables.taskCount {
            let range = plan.tables.taskStart[t]..<plan.tables.taskStart[t + 1]
            let kinds = range.map { graph.op(of: Int(plan.tables.items[$0].node)).kind }
            if kinds.starts(with: [.mul, .add, .tanh]) { chainedTasks += 1 }
        }
        #expect(chainedTasks > 0)
        // 3 levels of (mul, add, tanh) become 3 forward phase levels, not 9.
        #expect(plan.statistics.forwardPhases <= 3 + 2)
        try expectMatchesReference(
            graph,
            try runEverywhere(graph, options: PlanOptions(grain: 1024, inlineThreshold: 2048)),
            tolerance: 1e-4)
    }

    @Test func cheapLevelsMergeAndHeavyNodesSplit() throws {
        // A long chain of cheap scalar levels: one serial phase, no parallelism.
        let chain = GraphBuilder<Double>()
        var v = chain.input("x", 0.5)
        for _ in 0..<100 { v = sin(v) }
        let chainPlan = Plan(try chain.build(output: v), options: PlanOptions(scalarTape: false))
        #expect(chainPlan.statistics.forwardPhases == 1)
        #expect(chainPlan.statistics.levels == 100)
        #expect(!chainPlan.tables.isParallel)

        // One heavy elementwise node: split into grain-sized chunks.
        let wide = GraphBuilder<Float>()
        let x = wide.input("x", .zeros([1 << 20]))
        let heavy = Plan(
            try wide.build(output: tanh(x).sum()), options: PlanOptions(gradients: false))
        let firstPhase = heavy.tables.phaseStart[1] - heavy.tables.phaseStart[0]
        #expect(heavy.tables.isParallel)
        #expect(firstPhase > 1)
        let chunkCount =
            (heavy.tables.taskStart[heavy.tables.phaseStart[1]]
                - heavy.tables.taskStart[heavy.tables.phaseStart[0]])
        #expect(chunkCount == 64)  // maxChunksPerNode: 2^20 · 8 / 16384 = 512 > 64
    }

    @Test func buffersAreReusedByLiveness() throws {
        // A chain of adds: values no VJP reads are recycled.
        let b = GraphBuilder<Float>()
        var v = b.input("x", .zeros([1024]))
        for _ in 0..<50 { v = v + 1 }
        let plan = Plan(try b.build(output: v.sum()))
        #expect(plan.statistics.arenaElements < plan.statistics.unsharedElements / 4)
        let execution = try Execution(plan: plan)
        try execution.run()
        #expect(execution.output.scalar == Float(50 * 1024))
    }
}

@Suite struct ObservabilityTests {
    @Test func statisticsAndChromeTrace() throws {
        let graph = try classifier(seed: 14)
        let plan = Plan(graph, options: PlanOptions(grain: 256, inlineThreshold: 512))
        let execution = try Execution(plan: plan)
        execution.isTracing = true
        try execution.run(on: Runtime(threads: 2))
        let stats = execution.lastRunStatistics
        #expect(stats.forwardPhases + stats.backwardPhases == stats.phaseNanoseconds.count)
        #expect(stats.tasks == plan.statistics.tasks)
        #expect(stats.workers == 2)
        #expect(stats.phaseNanoseconds.reduce(0, +) <= stats.totalNanoseconds)
        #expect(stats.totalNanoseconds > 0)

        let json = try #require(execution.chromeTrace())
        let parsed = try #require(
            try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let events = try #require(parsed["traceEvents"] as? [[String: Any]])
        let slices = events.filter { $0["ph"] as? String == "X" }
        #expect(slices.count == plan.statistics.tasks)
        #expect(Set(slices.compactMap { $0["cat"] as? String }) == ["forward", "backward"])
        #expect(slices.allSatisfy { ($0["tid"] as? Int).map { (0..<2).contains($0) } ?? false })

        execution.isTracing = false
        try execution.run()
        #expect(execution.chromeTrace() == nil)
    }
}

@Suite struct RuntimeConfigurationTests {
    @Test func threadBudget() {
        #expect(
            Runtime.threadCount(requested: 3, environment: ["BACKPROP_THREADS": "8"], cores: 2) == 3
        )
        #expect(Runtime.threadCount(requested: 0, environment: [:], cores: 2) == 1)
        #expect(
            Runtime.threadCount(requested: nil, environment: ["BACKPROP_THREADS": "8"], cores: 2)
                == 8)
        #expect(
            Runtime.threadCount(requested: nil, environment: ["BACKPROP_THREADS": "zero"], cores: 2)
                == 2)
        #expect(
            Runtime.threadCount(requested: nil, environment: ["BACKPROP_THREADS": "-1"], cores: 4)
                == 4)
        #expect(Runtime.threadCount(requested: nil, environment: [:], cores: 0) == 1)
        #expect(Runtime(threads: 5).threads == 5)
        #expect(Runtime.shared.threads >= 1)
    }
}

@Suite struct TwoStageReductionTests {
    @Test(arguments: [Reduction.sum, .mean, .max])
    func fewOutputsManyElementsSplitIntoBlocks(r: Reduction) throws {
        var rng = WorkloadGenerator(seed: 40)
        let b = GraphBuilder<Double>()
        // Rounded values give ties for max across blocks.
        let values = (0..<(2 * 8192)).map { _ in (rng.uniform(-4, 4) * 4).rounded() / 4 }
        let x = b.input("x", try Tensor(shape: [2, 8192], scalars: values))
        for axes: [Int]? in [nil, [1]] {
            let graph = try b.build(
                output: (b.apply(.reduce(r, axes: axes, keepDims: false), [x]) * 1.5).sum())
            let options = PlanOptions(grain: 1024, inlineThreshold: 2048)
            let plan = Plan(graph, options: options)
            let partialItems = (0..<plan.tables.items.count).filter {
                plan.tables.items[$0].kind == .reducePartial
            }
            #expect(!partialItems.isEmpty, "\(r) \(String(describing: axes)) was not split")
            let result = try runEverywhere(graph, options: options, repeats: 5)
            try expectMatchesReference(graph, result, tolerance: 1e-12)
        }
    }
}

@Suite struct PlanCostTests {
    @Test func costEstimatesOfHugeNodesSaturate() {
        #expect(saturatingProduct(Int.max / 2, 3) == Int.max)
        #expect(saturatingProduct(1 << 20, 1 << 20) == 1 << 40)
        #expect(saturatingSum(Int.max, 1) == Int.max)
        #expect(saturatingSum(2, 3) == 5)
    }

    @Test func planningAHugeMatrixProductDoesNotTrap() throws {
        // Declared, never run: planning must only estimate.
        let b = GraphBuilder<Float>()
        let x = b.input("x", shape: [1 << 20, 1 << 16]),
            w = b.input("w", shape: [1 << 16, 1 << 16])
        let plan = Plan(
            try b.build(output: x.matmul(w).sum()), options: PlanOptions(gradients: false))
        #expect(plan.tables.isParallel)
    }
}

@Suite struct ExecutionPlacementTests {
    func systems() throws -> [(String, any NUMASystem)] {
        var result: [(String, any NUMASystem)] = [
            (
                "fallback",
                FallbackNUMASystem(reason: "test", libnuma: .notLoaded(reason: "test"), cpuCount: 2)
            ),
            // Two simulated nodes; this thread claims to run on CPU 1, node 1.
            (
                "simulated",
                SimulatedNUMASystem(
                    topology: try NUMATopology(parsing: "0:0;1:1"), currentCPU: { 1 })
            ),
        ]
        if let library = LibNUMA.loaded.library {
            result.append(("libnuma", LibNUMASystem(library: library)))
        }
        return result
    }

    @Test func onOneNodeTheArenaGoesToThatNode() throws {
        let graph = try classifier(seed: 60)
        // One simulated node, with id 1.
        let simulated = SimulatedNUMASystem(
            topology: try NUMATopology(parsing: "1:0-1"), currentCPU: { 1 })
        let execution = try Execution(
            plan: Plan(graph), runtime: Runtime(threads: 2, numa: simulated))
        let statuses = try #require(simulated.pageStatus(of: execution.arena.bytes))
        #expect(!statuses.isEmpty)
        #expect(statuses.allSatisfy { $0 == .node(1) })
        #expect(execution.placement.runs.count == 1)
        if let library = LibNUMA.loaded.library {
            let system = LibNUMASystem(library: library)
            let real = try Execution(plan: Plan(graph), runtime: Runtime(threads: 2, numa: system))
            try real.run(on: Runtime(threads: 2, numa: system))
            // Touched by the run: every page is on a node of the topology.
            let pages = try #require(system.pageStatus(of: real.arena.bytes))
            #expect(
                pages.allSatisfy {
                    if case .node(let n) = $0 { system.topology.contains(node: n) } else { false }
                })
        }
    }

    @Test func resultsAreBitwiseIdenticalOnEveryNUMASystem() throws {
        let graph = try classifier(seed: 61)
        let plan = Plan(graph, options: PlanOptions(grain: 256, inlineThreshold: 512))
        var first: (Tensor<Float>, [String: Tensor<Float>])?
        for (name, system) in try systems() {
            let runtime = Runtime(threads: 2, numa: system)
            let execution = try Execution(plan: plan, runtime: runtime)
            try execution.run(on: runtime)
            let result = (execution.output, execution.gradients)
            if let first {
                #expect(result.0.isBitwiseEqual(to: first.0), "\(name)")
                for (k, g) in first.1 {
                    #expect(result.1[k]!.isBitwiseEqual(to: g), "\(name): \(k)")
                }
            } else {
                first = result
            }
        }
    }

    @Test func theRuntimeDescribesItsNUMASystem() {
        #expect(!Runtime.shared.numaDescription.isEmpty)
        let simulated = SimulatedNUMASystem(topology: try! NUMATopology(parsing: "0:0;1:1"))
        #expect(Runtime(threads: 1, numa: simulated).numaDescription.contains("2 nodes"))
    }
}

@Suite struct RuntimeNUMAConfigurationTests {
    @Test func strictConfigurationThrowsTypedErrors() throws {
        #expect(throws: NUMAError.self) {
            _ = try Runtime.configured(
                threads: 1, environment: ["BACKPROP_NUMA_TOPOLOGY": "0:0-1;0:2"])
        }
        #expect(throws: NUMAError.self) {
            _ = try Runtime.configured(threads: 1, environment: ["BACKPROP_NUMA": "maybe"])
        }
        let off = try Runtime.configured(threads: 2, environment: ["BACKPROP_NUMA": "off"])
        #expect(off.threads == 2)
        #expect(off.numaDescription.contains("BACKPROP_NUMA=off"))
        let simulated = try Runtime.configured(
            threads: 1, environment: ["BACKPROP_NUMA_TOPOLOGY": "0:0;1:1"])
        #expect(simulated.numaDescription.contains("2 nodes"))
    }
}
