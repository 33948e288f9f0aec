import BackpropWorkloads
import Dispatch
import Foundation
import Testing

@testable import Backprop

/// A graph whose levels split into many chunks (an elementwise chain over a
/// large vector) and whose input gets partial buffers (two matrix products
/// of it in one level).
private func wideGraph() throws -> Graph<Double> {
    var rng = WorkloadGenerator(seed: 77)
    let b = GraphBuilder<Double>()
    let x = b.input("x", .random([1 << 16], &rng))
    let w = b.parameter("w", .random([1 << 16], &rng))
    let chain = ((x * w + x).tanh() * w).sin()
    let m = b.input("m", .random([256, 64], &rng))
    let w1 = b.parameter("W1", .random([64, 64], &rng, -0.2, 0.2))
    let w2 = b.parameter("W2", .random([64, 64], &rng, -0.2, 0.2))
    let mixed = (m.matmul(w1).tanh() * m.matmul(w2)).sum()
    return try b.build(output: chain.sum() + mixed)
}

private let small = PlanOptions(grain: 2048, inlineThreshold: 4096)

/// The tasks a pass ran, in completion order, recorded under a pthread
/// lock (which ThreadSanitizer understands; `Mutex`'s futex it does not).
private final class TaskLog: @unchecked Sendable {
    private let lock = NSLock()
    private var ran: [Int] = []

    func append(_ t: Int) {
        lock.lock()
        ran.append(t)
        lock.unlock()
    }

    var tasks: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return ran
    }
}

@Suite struct TaskAffinityTests {
    @Test func blocksCutEveryPhaseIntoContiguousNodeRanges() {
        for nodes in 1...4 {
            for count in 1...40 {
                var covered: [Int] = []
                for k in 0..<nodes {
                    let lo = TaskAffinity.firstTask(ofNode: k, count: count, nodes: nodes)
                    let hi = TaskAffinity.firstTask(ofNode: k + 1, count: count, nodes: nodes)
                    for i in lo..<hi {
                        #expect(TaskAffinity.node(ofTask: i, count: count, nodes: nodes) == k)
                        covered.append(i)
                    }
                    // Blocks differ in size by at most one.
                    #expect(hi - lo >= count / nodes && hi - lo <= (count + nodes - 1) / nodes)
                }
                #expect(covered == Array(0..<count), "nodes \(nodes), count \(count)")
            }
        }
    }

    @Test func aWorkerTakesItsNodesTasksFirstThenSteals() {
        let pass = PassState(nodeIDs: [0, 1])
        let phaseStart = [0, 5, 6, 9]
        var order: [Int] = []
        var ended: [Int] = []
        pass.reset()
        phaseStart.withUnsafeBufferPointer { starts in
            pass.work(
                worker: 0, home: 1, phaseStart: starts.baseAddress!, phases: 3,
                task: { t, _ in order.append(t) }, phaseEnded: { ended.append($0) })
        }
        // Phase 0 (5 tasks): node 0 owns 0-2, node 1 owns 3-4. Phase 1 (one
        // task) belongs to node 0. Phase 2 (3 tasks): node 0 owns 6-7, node 1 owns 8.
        #expect(order == [3, 4, 0, 1, 2, 5, 8, 6, 7])
        #expect(ended == [0, 1, 2])
    }

    @Test func workersHomeOnTheirNodeOrSpreadWhenUnknown() {
        let pass = PassState(nodeIDs: [4, 7])
        #expect(pass.home(node: 7, worker: 0) == 1)
        #expect(pass.home(node: 4, worker: 1) == 0)
        #expect(pass.home(node: nil, worker: 3) == 1)
        #expect(pass.home(node: 9, worker: 2) == 0)
        #expect(PassState().home(node: 3, worker: 5) == 0)
    }

    @Test(arguments: [1, 2, 3], [1, 2, 4])
    func everyTaskRunsOnceAndPhasesInOrder(nodes: Int, threads: Int) {
        let pass = PassState(nodeIDs: Array(0..<nodes))
        let phaseStart = [0, 7, 8, 30, 31, 33, 100]
        let phases = phaseStart.count - 1
        for _ in 0..<20 {
            let log = TaskLog()
            pass.reset()
            phaseStart.withUnsafeBufferPointer { starts in
                let pointer = UncheckedSendable(starts.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: threads) { worker in
                    pass.work(
                        worker: worker, home: worker % nodes, phaseStart: pointer.value,
                        phases: phases, task: { t, _ in log.append(t) },
                        phaseEnded: { _ in })
                }
            }
            let ran = log.tasks
            #expect(ran.sorted() == Array(0..<100))
            // A task of phase p never runs before every task of phase p − 1.
            let phaseOf = { (t: Int) in phaseStart.lastIndex { $0 <= t }! }
            #expect(zip(ran, ran.dropFirst()).allSatisfy { phaseOf($0) <= phaseOf($1) })
        }
    }
}

@Suite struct ArenaPlacementTests {
    let topology = try! NUMATopology(parsing: "0:0;1:1")

    /// Per arena page: the nodes whose tasks write it.
    func writers<T>(_ plan: Plan<T>, pageSize: Int) -> [Int: Set<Int>] {
        var result: [Int: Set<Int>] = [:]
        let stride = MemoryLayout<T>.stride
        for p in 0..<plan.tables.phaseCount {
            let first = plan.tables.phaseStart[p], count = plan.tables.phaseStart[p + 1] - first
            for i in 0..<count {
                let node = TaskAffinity.node(ofTask: i, count: count, nodes: 2)
                for k in plan.tables.taskStart[first + i]..<plan.tables.taskStart[first + i + 1] {
                    let span = plan.tables.itemWrites[k]
                    guard !span.isEmpty else { continue }
                    for page
                        in (span.lowerBound * stride / pageSize)...((span.upperBound * stride - 1)
                        / pageSize)
                    {
                        result[page, default: []].insert(node)
                    }
                }
            }
        }
        return result
    }

    @Test func chunksOutputsAndPartialsGoToTheirTasksNode() throws {
        let simulated = SimulatedNUMASystem(topology: topology, currentCPU: { 0 })
        let plan = Plan(try wideGraph(), options: small)
        #expect(plan.statistics.partialEdges > 0)
        let execution = try Execution(plan: plan, runtime: Runtime(threads: 2, numa: simulated))
        let pages = try #require(simulated.pageStatus(of: execution.arena.bytes))
        let parameterPages = Set(
            plan.tables.bufferSpans.filter { $0.role == .parameter }.flatMap { span in
                (span.start * 8 / simulated.pageSize)...((span.start + span.count) * 8 - 1)
                    / simulated.pageSize
            })
        var checked = [0, 0]
        for (page, nodes) in writers(plan, pageSize: simulated.pageSize)
        where nodes.count == 1 && !parameterPages.contains(page) {
            // A page written by one node's tasks only (and holding no
            // value that callers set) is on that node.
            let node = nodes.first!
            #expect(pages[page] == .node(node), "page \(page)")
            checked[node] += 1
        }
        #expect(checked[0] > 20 && checked[1] > 20, "\(checked)")
        // Each role's bytes are on the nodes whose tasks alone write some
        // of its pages (values and gradients on both), and the pages were bound.
        #expect(execution.placementReport.pagesBound)
        let record = execution.placementReport.record
        let written = writers(plan, pageSize: simulated.pageSize)
        for role in [BufferRole.value, .gradient, .partial] {
            let rolePages = Set(
                plan.tables.bufferSpans.filter { $0.role == role && $0.count > 0 }.flatMap {
                    span in
                    (span.start * 8 / simulated.pageSize)...((span.start + span.count) * 8 - 1)
                        / simulated.pageSize
                })
            let owners = Set(
                written.filter { rolePages.contains($0.key) && $0.value.count == 1 }
                    .map { $0.value.first! })
            if role != .partial { #expect(owners == [0, 1], "\(role) written by \(owners)") }
            #expect(!owners.isEmpty, "\(role)")
            for node in owners {
                #expect(record.bytes(role, at: .node(node)) > 0, "\(role) on node \(node)")
            }
        }
    }

    @Test func parametersAreInterleavedPageByPage() throws {
        let simulated = SimulatedNUMASystem(topology: topology, currentCPU: { 1 })
        let plan = Plan(try wideGraph(), options: small)
        let execution = try Execution(plan: plan, runtime: Runtime(threads: 2, numa: simulated))
        let w = plan.tables.valueOffset[plan.graph.node(named: "w")!]
        // The interior pages of w's 512 KiB alternate between the nodes.
        let pageSize = simulated.pageSize
        let firstPage = (w * 8 + pageSize - 1) / pageSize
        let lastPage = ((w + (1 << 16)) * 8) / pageSize - 1
        let base = UnsafeRawPointer(execution.arena.base)
        let statuses = try #require(
            simulated.pageStatus(
                of: UnsafeRawBufferPointer(
                    start: base + firstPage * pageSize,
                    count: (lastPage - firstPage + 1) * pageSize)))
        #expect(statuses.count > 100)
        #expect(Set(statuses) == [.node(0), .node(1)])
        #expect(zip(statuses, statuses.dropFirst()).allSatisfy { $0 != $1 })
        #expect(execution.placementReport.record.bytes(.parameter, at: .interleaved) >= (1 << 19))
    }

    @Test func placementNeverChangesTheBits() throws {
        let plan = Plan(try wideGraph(), options: small)
        var reference: (Tensor<Double>, [String: Tensor<Double>])?
        let systems: [any NUMASystem] = [
            FallbackNUMASystem(reason: "test", libnuma: .notLoaded(reason: "test"), cpuCount: 2),
            SimulatedNUMASystem(topology: topology, currentCPU: { 0 }),
            SimulatedNUMASystem(
                topology: try NUMATopology(parsing: "0:0;1:1;2:2"), currentCPU: { nil }),
        ]
        for system in systems {
            for threads in [1, 2, 3] {
                let runtime = Runtime(threads: threads, numa: system)
                let execution = try Execution(plan: plan, runtime: runtime)
                try execution.run(on: runtime)
                try execution.run(on: runtime)
                let result = (execution.output, execution.gradients)
                if let reference {
                    #expect(result.0.isBitwiseEqual(to: reference.0))
                    for (name, g) in reference.1 {
                        #expect(
                            result.1[name]!.isBitwiseEqual(to: g),
                            "\(system.summary) \(threads): \(name)")
                    }
                } else {
                    reference = result
                }
            }
        }
    }

    @Test func theReportCountsEveryBufferOnce() throws {
        let plan = Plan(try wideGraph(), options: small)
        let runtime = Runtime(
            threads: 2, numa: SimulatedNUMASystem(topology: topology, currentCPU: { 0 }))
        let report = plan.placementReport(on: runtime)
        for role in BufferRole.allCases {
            let expected = plan.tables.bufferSpans.filter { $0.role == role }.reduce(0) {
                $0 + $1.count * 8
            }
            #expect(report.record.totalBytes(of: role) == expected, "\(role)")
        }
        #expect(report.nodeIDs == [0, 1])
        let text = report.description
        #expect(text.contains("node 0: values"))
        #expect(text.contains("node 1: values"))
        #expect(text.contains("interleaved: parameters"))
        // The execution's own report is the plan's, for the same runtime and thread.
        let execution = try Execution(plan: plan, runtime: runtime)
        #expect(execution.placementReport.record == report.record)
        // On one node everything is on it.
        let one = plan.placementReport(
            on: Runtime(
                threads: 1, numa: SimulatedNUMASystem(topology: try NUMATopology(parsing: "3:0-1")))
        )
        #expect(one.record.placements == [.node(3)])
    }
}

@Suite struct LibnumaBindingTests {
    @Test(.enabled(if: LibNUMA.loaded.library?.canBind == true, "libnuma cannot bind here"))
    func boundPagesLandOnTheirNodeWhenTouched() throws {
        let library = try #require(LibNUMA.loaded.library)
        let system = LibNUMASystem(library: library)
        let node = system.topology.nodes[0].id
        let block = try system.allocate(byteCount: 8 * system.pageSize, onNode: node)
        defer { system.free(block) }
        let raw = UnsafeMutableRawBufferPointer(start: block.base, count: block.byteCount)
        let halves = [
            UnsafeMutableRawBufferPointer(rebasing: raw[0..<(4 * system.pageSize)]),
            UnsafeMutableRawBufferPointer(rebasing: raw[(4 * system.pageSize)...]),
        ]
        #expect(try system.bind(halves[0], placement: .node(node)))
        #expect(try system.bind(halves[1], placement: .interleaved))
        // Binding does not touch: the pages are still not present.
        #expect(system.pageStatus(of: block)?.allSatisfy { $0 == .notPresent } == true)
        raw.initializeMemory(as: UInt8.self, repeating: 1)
        let statuses = try #require(system.pageStatus(of: block))
        #expect(statuses.count == 8)
        #expect(statuses.prefix(4).allSatisfy { $0 == .node(node) })
        #expect(
            statuses.allSatisfy {
                if case .node(let n) = $0 { system.topology.contains(node: n) } else { false }
            })
        #expect(throws: NUMAError.self) {
            try system.bind(halves[0], placement: .node(NUMATopology.nodeLimit))
        }
    }
}
