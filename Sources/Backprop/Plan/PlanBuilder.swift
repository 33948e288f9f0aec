// Note [Memory reuse]
// Every buffer the plan needs (node values, gradients, partial buffers for
// joins, max's scratch) gets a lifetime on a timeline of work items: items
// of a serial phase run one after another, so each gets its own time; items
// of a parallel phase may run at once, so they share the phase's time. A
// buffer lives from the first to the last item that touches it. Buffers
// whose lifetimes do not overlap (one dies strictly before the other is
// born) share arena space: the layout walks buffers in birth order, returns
// dead ones to free lists by exact size, and reuses them before bumping the
// arena. Values that a VJP reads stay alive into the backward pass; values
// no VJP reads (an add's operands, say) are recycled as soon as their last
// forward reader is done. Leaves, the output, the cotangent and input
// gradients are permanent: callers read and write them between runs.

/// Builds a ``Plan``'s tables. A value type used once per compile.
struct PlanBuilder<T: TensorElement> {
    let graph: Graph<T>
    let options: PlanOptions

    // Results.
    var kernels: [NodeKernel] = []
    var valueOffset: [Int] = []
    var gradientOffset: [Int] = []
    var auxOffset: [Int] = []
    var parentValueOffsets: [Int] = []
    var edgeDest: [Int] = []
    var edgeAccumulate: [Bool] = []
    var cotangentOffset = -1
    var arenaCount = 0
    var items: [WorkItem] = []
    var joinSources: [Int] = []
    var taskStart: [Int] = [0]
    var phaseStart: [Int] = [0]
    var forwardPhaseCount = 0
    var updatePhaseStart = 0
    var stateOffset: [Int] = []
    var parameters: [NodeID] = []
    var leaves: [NodeID] = []
    var tape: ScalarTape?
    var statistics = PlanStatistics()

    /// Per buffer with a place in the arena: where it is and what it holds
    /// (Note [Arena placement]).
    var bufferSpans: [BufferSpan] = []
    /// Per item: the arena elements it writes, `start..<end` (empty for a
    /// custom op's VJP, which writes several buffers).
    var itemWrites: [Range<Int>] = []

    // Buffers: size, first and last time touched (permanent: whole run).
    private var bufferSize: [Int] = []
    private var bufferRole: [BufferRole] = []
    private var bufferBirth: [Int] = []
    private var bufferDeath: [Int] = []
    private var valueBuffer: [Int] = []
    private var gradientBuffer: [Int] = []
    private var auxBuffer: [Int] = []
    private var stateBuffer: [Int] = []
    /// Per item, the timeline position it runs at.
    private var itemTime: [Int] = []
    private var time = 0
    /// Whether the last phase is a serial one that can take more items.
    private var serialOpen = false

    init(graph: Graph<T>, options: PlanOptions) {
        self.graph = graph
        self.options = options
    }

    private var permanent: Int { Int.max }

    private mutating func newBuffer(_ size: Int, _ role: BufferRole, permanent: Bool = false)
        -> Int
    {
        bufferSize.append(size)
        bufferRole.append(role)
        bufferBirth.append(permanent ? -1 : Int.max)
        bufferDeath.append(permanent ? Int.max : -1)
        return bufferSize.count - 1
    }

    private mutating func touch(_ buffer: Int, _ t: Int) {
        bufferBirth[buffer] = Swift.min(bufferBirth[buffer], t)
        bufferDeath[buffer] = Swift.max(bufferDeath[buffer], t)
    }

    mutating func build() {
        parameters = (0..<graph.count).filter {
            if case .parameter = graph.op(of: $0) { true } else { false }
        }
        if options.scalarTape && lowerToTape() { return }
        let n = graph.count
        let table = graph.table
        let cone = graph.isInOutputCone
        kernels = (0..<n).map { i in
            cone[i]
                ? NodeKernel(
                    graph.op(of: i), inputs: graph.parents(of: i).map { graph.shape(of: $0) },
                    output: graph.shape(of: i))
                : .leaf
        }
        // Which nodes need a gradient: on a path from an input or parameter
        // (from a parameter only, in a training plan: inputs are data).
        var requiresGradient = [Bool](repeating: false, count: n)
        if options.computesGradients {
            for i in graph.topologicalOrder where cone[i] {
                if options.differentiates(graph.op(of: i)) {
                    requiresGradient[i] = true
                } else {
                    for (k, p) in graph.parents(of: i).enumerated()
                    where requiresGradient[p] && kernels[i].hasGradient(slot: k) {
                        requiresGradient[i] = true
                    }
                }
            }
        }

        // Buffers for values, gradients and scratch.
        valueBuffer = [Int](repeating: -1, count: n)
        gradientBuffer = [Int](repeating: -1, count: n)
        auxBuffer = [Int](repeating: -1, count: n)
        stateBuffer = [Int](repeating: -1, count: n)
        for i in 0..<n {
            let op = graph.op(of: i)
            let count = graph.shape(of: i).count
            if op.isLeaf && (cone[i] || op.isDifferentiableLeaf) {
                valueBuffer[i] = newBuffer(count, .parameter, permanent: true)
                leaves.append(i)
            } else if cone[i] {
                valueBuffer[i] = newBuffer(count, .value, permanent: i == graph.output)
            }
            if requiresGradient[i] {
                gradientBuffer[i] = newBuffer(
                    count, .gradient, permanent: op.isDifferentiableLeaf)
            }
            if cone[i] && kernels[i].needsAux { auxBuffer[i] = newBuffer(count, .partial) }
        }
        let cotangentBuffer = newBuffer(
            graph.shape(of: graph.output).count, .parameter, permanent: true)

        // Levels of the nodes that compute something.
        var byLevel: [[NodeID]] = []
        for l in 1..<Swift.max(1, graph.levelCount) {
            let nodes = graph.nodes(inLevel: l).filter { cone[$0] && !graph.op(of: $0).isLeaf }
            if !nodes.isEmpty { byLevel.append(nodes) }
        }
        statistics.levels = byLevel.count

        // Forward, by phase level (Note [Chunk chains]).
        let (forwardLevels, chained) = chunkChains(cone: cone)
        for level in forwardLevels {
            var block: [WorkItem] = []
            var costs: [Int] = []
            var glue: [Bool] = []
            var combine: [WorkItem] = []
            var combineCosts: [Int] = []
            for i in level {
                let units = kernels[i].forwardUnits(outputCount: graph.shape(of: i).count).units
                if case .reduce(let r, let geo) = kernels[i],
                    let blocks = splitReduction(outputs: units, reducedCount: geo.reducedCount)
                {
                    // Note [Two-stage reductions]: few outputs, each folding
                    // many elements: stage 1 folds fixed blocks of every
                    // output's reduced set into partials (in parallel), stage 2
                    // folds each output's partials in block order. The blocks
                    // are a function of the shapes and the grain, so the bits
                    // do not depend on the thread count.
                    let partials = newBuffer(units * blocks * (r == .max ? 2 : 1), .partial)
                    let blockCost = (geo.reducedCount + blocks - 1) / blocks
                    for c in chunks(units: units * blocks, cost: blockCost) {
                        block.append(
                            WorkItem(
                                kind: .reducePartial, node: Int32(i), slot: 0, accumulate: false,
                                lo: c.lowerBound, hi: c.upperBound, dest: partials, sourceStart: 0,
                                sourceCount: Int32(blocks)))
                        costs.append(saturatingProduct(c.count, blockCost))
                        glue.append(false)
                    }
                    for c in chunks(units: units, cost: blocks) {
                        combine.append(
                            WorkItem(
                                kind: .reduceCombine, node: Int32(i), slot: 0, accumulate: false,
                                lo: c.lowerBound, hi: c.upperBound, dest: partials, sourceStart: 0,
                                sourceCount: Int32(blocks)))
                        combineCosts.append(saturatingProduct(c.count, blocks))
                    }
                    continue
                }
                // The chain rooted here: each chunk of i, then the same range
                // of every node chained below it, in topological order.
                let chain = [i] + (chained[i] ?? [])
                let unitCosts = chain.map {
                    kernels[$0].forwardUnits(outputCount: graph.shape(of: $0).count).cost
                }
                let chainCost = unitCosts.reduce(0, saturatingSum)
                for r in chunks(
                    units: units, cost: chainCost, minimum: kernels[i].minimumUnitsPerChunk)
                {
                    for (k, node) in chain.enumerated() {
                        block.append(
                            WorkItem(
                                kind: .forward, node: Int32(node), slot: 0, accumulate: false,
                                lo: r.lowerBound, hi: r.upperBound, dest: valueBuffer[node],
                                sourceStart: 0, sourceCount: 0))
                        costs.append(saturatingProduct(r.count, unitCosts[k]))
                        glue.append(k > 0)
                    }
                }
            }
            let total = saturatingSum(
                costs.reduce(0, saturatingSum), combineCosts.reduce(0, saturatingSum))
            if total < options.inlineThreshold {
                schedule(block + combine, costs + combineCosts)
            } else {
                schedule(block, costs, glue: glue)
                schedule(
                    combine, combineCosts,
                    forceSerial: combineCosts.reduce(0, saturatingSum) < options.inlineThreshold)
            }
        }
        closeSerial()
        forwardPhaseCount = phaseStart.count - 1
        updatePhaseStart = forwardPhaseCount

        // Backward.
        edgeDest = [Int](repeating: -1, count: table.parentList.count)
        edgeAccumulate = [Bool](repeating: false, count: table.parentList.count)
        if options.computesGradients && requiresGradient[graph.output] {
            var received = [Bool](repeating: false, count: n)
            received[graph.output] = true
            var levelPlans:
                [(
                    vjp: [WorkItem], vjpCosts: [Int], glue: [Bool], joins: [WorkItem],
                    joinCosts: [Int]
                )] = []
            var pendingSources: [[Int]] = []
            for level in byLevel.reversed() {
                // The edges of this level into each parent, in (child, slot) order.
                var edgesInto: [NodeID: [(edge: Int, child: NodeID, slot: Int)]] = [:]
                var parentsInOrder: [NodeID] = []
                for j in level where requiresGradient[j] {
                    for (k, p) in graph.parents(of: j).enumerated()
                    where requiresGradient[p] && kernels[j].hasGradient(slot: k) {
                        if edgesInto[p] == nil { parentsInOrder.append(p) }
                        edgesInto[p, default: []].append((table.parentStart[j] + k, j, k))
                    }
                }
                var joins: [WorkItem] = []
                var joinCosts: [Int] = []
                var grouped: [WorkItem] = []
                var groupedCosts: [Int] = []
                var groupedGlue: [Bool] = []
                var isGrouped = Set<Int>()
                for p in parentsInOrder {
                    let all = edgesInto[p]!
                    let edges = all.map(\.edge)
                    let count = graph.shape(of: p).count
                    if edges.count == 1 {
                        edgeDest[edges[0]] = gradientBuffer[p]
                        edgeAccumulate[edges[0]] = received[p]
                    } else if all.allSatisfy({ kernels[$0.child].vjpUnitsAreElements }) {
                        // Note [Grouped edges]: every edge into p from this level
                        // covers the same element range in one task, adding into
                        // p's gradient one after another in edge order — no
                        // partial buffers, no join phase, the same fixed order.
                        let costs = all.map {
                            kernels[$0.child].vjpUnits(slot: $0.slot, inputCount: count).cost
                        }
                        for r in chunks(units: count, cost: costs.reduce(0, saturatingSum)) {
                            for (index, edge) in all.enumerated() {
                                grouped.append(
                                    WorkItem(
                                        kind: .vjp, node: Int32(edge.child), slot: Int32(edge.slot),
                                        accumulate: index > 0 || received[p], lo: r.lowerBound,
                                        hi: r.upperBound, dest: gradientBuffer[p], sourceStart: 0,
                                        sourceCount: 0))
                                groupedCosts.append(saturatingProduct(r.count, costs[index]))
                                groupedGlue.append(index > 0)
                            }
                        }
                        for e in edges {
                            edgeDest[e] = gradientBuffer[p]
                            isGrouped.insert(e)
                        }
                        statistics.groupedEdges += edges.count
                    } else {
                        var sources: [Int] = []
                        for e in edges {
                            let partial = newBuffer(count, .partial)
                            edgeDest[e] = partial
                            sources.append(partial)
                        }
                        statistics.partialEdges += edges.count
                        for r in chunks(units: count, cost: edges.count) {
                            joins.append(
                                WorkItem(
                                    kind: .join, node: Int32(p), slot: 0, accumulate: received[p],
                                    lo: r.lowerBound, hi: r.upperBound, dest: gradientBuffer[p],
                                    sourceStart: Int32(pendingSources.count),
                                    sourceCount: Int32(edges.count)))
                            joinCosts.append(r.count * edges.count)
                        }
                        pendingSources.append(sources)
                    }
                    received[p] = true
                }
                var vjp: [WorkItem] = []
                var vjpCosts: [Int] = []
                for j in level where requiresGradient[j] {
                    if case .custom = kernels[j] {
                        // Edge ids of j's arguments: parentStart[j] + k.
                        if (table.parentStart[j]..<table.parentStart[j + 1]).contains(where: {
                            edgeDest[$0] >= 0
                        }) {
                            vjp.append(
                                WorkItem(
                                    kind: .customVJP, node: Int32(j), slot: 0, accumulate: false,
                                    lo: 0, hi: 1, dest: -1, sourceStart: 0, sourceCount: 0))
                            vjpCosts.append(
                                kernels[j].vjpUnits(slot: 0, inputCount: graph.shape(of: j).count)
                                    .cost)
                        }
                        continue
                    }
                    for (k, p) in graph.parents(of: j).enumerated()
                    where edgeDest[table.parentStart[j] + k] >= 0
                        && !isGrouped.contains(table.parentStart[j] + k)
                    {
                        let e = table.parentStart[j] + k
                        let (units, cost) = kernels[j].vjpUnits(
                            slot: k, inputCount: graph.shape(of: p).count)
                        for r in chunks(
                            units: units, cost: cost, minimum: kernels[j].minimumUnitsPerChunk)
                        {
                            vjp.append(
                                WorkItem(
                                    kind: .vjp, node: Int32(j), slot: Int32(k),
                                    accumulate: edgeAccumulate[e], lo: r.lowerBound,
                                    hi: r.upperBound, dest: edgeDest[e], sourceStart: 0,
                                    sourceCount: 0))
                            vjpCosts.append(saturatingProduct(r.count, cost))
                        }
                    }
                }
                let glue = [Bool](repeating: false, count: vjp.count) + groupedGlue
                levelPlans.append((vjp + grouped, vjpCosts + groupedCosts, glue, joins, joinCosts))
            }
            // Seed the output's gradient; zero the gradients nothing flows into.
            var start = [
                WorkItem(
                    kind: .seed, node: Int32(graph.output), slot: 0, accumulate: false, lo: 0,
                    hi: graph.shape(of: graph.output).count, dest: gradientBuffer[graph.output],
                    sourceStart: 0, sourceCount: 0)
            ]
            for i in 0..<n where requiresGradient[i] && !received[i] {
                start.append(
                    WorkItem(
                        kind: .zero, node: Int32(i), slot: 0, accumulate: false, lo: 0,
                        hi: graph.shape(of: i).count, dest: gradientBuffer[i], sourceStart: 0,
                        sourceCount: 0))
            }
            schedule(start, start.map { _ in 0 })
            for plan in levelPlans {
                let vjpCost = plan.vjpCosts.reduce(0, saturatingSum),
                    joinCost = plan.joinCosts.reduce(0, saturatingSum)
                if saturatingSum(vjpCost, joinCost) < options.inlineThreshold {
                    schedule(plan.vjp + plan.joins, plan.vjpCosts + plan.joinCosts)
                } else {
                    schedule(plan.vjp, plan.vjpCosts, glue: plan.glue)
                    if !plan.joins.isEmpty {
                        schedule(
                            plan.joins, plan.joinCosts,
                            forceSerial: joinCost < options.inlineThreshold)
                    }
                }
            }
            closeSerial()
            updatePhaseStart = phaseStart.count - 1
            if let optimizer = options.optimizer { scheduleUpdates(optimizer) }
            // Join sources in item order.
            for k in items.indices where items[k].kind == .join {
                let sources = pendingSources[Int(items[k].sourceStart)]
                items[k].sourceStart = Int32(joinSources.count)
                joinSources.append(contentsOf: sources)
            }
        }

        // Lifetimes: every item touches what it reads and writes.
        for (k, item) in items.enumerated() {
            let t = itemTime[k]
            let j = Int(item.node)
            switch item.kind {
            case .reducePartial:
                touch(item.dest, t)
                for p in graph.parents(of: j) { touch(valueBuffer[p], t) }
            case .reduceCombine:
                touch(item.dest, t)
                touch(valueBuffer[j], t)
                if auxBuffer[j] >= 0 { touch(auxBuffer[j], t) }
            case .forward:
                touch(valueBuffer[j], t)
                for p in graph.parents(of: j) { touch(valueBuffer[p], t) }
                if auxBuffer[j] >= 0 { touch(auxBuffer[j], t) }
            case .vjp, .customVJP:
                touch(gradientBuffer[j], t)
                let reads = kernels[j].vjpReads
                if reads.output { touch(valueBuffer[j], t) }
                if reads.inputs { for p in graph.parents(of: j) { touch(valueBuffer[p], t) } }
                if auxBuffer[j] >= 0 { touch(auxBuffer[j], t) }
                if item.kind == .vjp {
                    touch(item.dest, t)
                } else {
                    for e in table.parentStart[j]..<table.parentStart[j + 1] where edgeDest[e] >= 0
                    { touch(edgeDest[e], t) }
                }
            case .join:
                touch(item.dest, t)
                for s in joinSources[
                    Int(item.sourceStart)..<Int(item.sourceStart + item.sourceCount)]
                { touch(s, t) }
            case .seed:
                touch(item.dest, t)
                touch(cotangentBuffer, t)
            case .zero:
                touch(item.dest, t)
            case .update:
                touch(item.dest, t)
                touch(gradientBuffer[j], t)
                touch(stateBuffer[j], t)
            }
        }

        // Layout, then buffer ids become offsets.
        let offset = layout()
        func at(_ buffer: Int) -> Int { buffer < 0 ? -1 : offset[buffer] }
        recordPlacementSpans(offset: offset)
        valueOffset = valueBuffer.map(at)
        gradientOffset = gradientBuffer.map(at)
        auxOffset = auxBuffer.map(at)
        stateOffset = stateBuffer.map(at)
        parentValueOffsets = table.parentList.map { valueOffset[$0] }
        edgeDest = edgeDest.map(at)
        cotangentOffset = offset[cotangentBuffer]
        for k in items.indices where items[k].dest >= 0 { items[k].dest = offset[items[k].dest] }
        joinSources = joinSources.map(at)

        statistics.forwardPhases = forwardPhaseCount
        statistics.backwardPhases = updatePhaseStart - forwardPhaseCount
        statistics.updatePhases = phaseStart.count - 1 - updatePhaseStart
        statistics.tasks = taskStart.count - 1
        statistics.items = items.count
    }

    // Note [Optimizer phases]
    // A training plan (PlanOptions.optimizer) ends with update phases: after
    // the last backward phase — so after every join, when each parameter's
    // gradient is complete — each parameter with a gradient is split into
    // chunks of elements by the same cost model as every other node (a few
    // element-operations per element for SGD, ~16 for Adam), and the chunks
    // of all parameters form one block: a parallel phase when the block is
    // worth the hand-off, else one serial phase. A chunk updates its
    // elements in place from the parameter's value, its gradient and the
    // optimizer's state for those elements (OptimizerKernels.swift).
    //
    // - State (SGD's velocity, Adam's m and v) is one permanent arena buffer
    //   per parameter, interleaved per element, so a chunk's state is one
    //   contiguous range that only that chunk touches; NUMA placement puts
    //   it on the chunk's node (Note [Arena placement]). Parameters stay
    //   interleaved: every node's workers read them in the next forward.
    // - Determinism: every element's update reads only that element's value,
    //   gradient and state and the step's constants, which the caller
    //   computes once per step (Adam's bias corrections included). Chunk
    //   boundaries only decide who computes an element, never how, so the
    //   weights are bitwise identical for any thread count (the gradients
    //   already are: Note [Determinism]).
    // - The update phases come last and `run` stops before them: a run
    //   computes values and gradients and leaves the parameters alone;
    //   `step` runs all phases in one pass (one launch of the workers).
    // - Scalar tapes (Note [Scalar tape]) run on the calling thread; their
    //   plan holds just the update phase, run after the tape.
    private mutating func scheduleUpdates(_ optimizer: Optimizer) {
        var block: [WorkItem] = []
        var costs: [Int] = []
        for p in parameters where gradientBuffer[p] >= 0 {
            let count = graph.shape(of: p).count
            stateBuffer[p] = newBuffer(count * optimizer.stateCount, .partial, permanent: true)
            for r in chunks(units: count, cost: optimizer.unitCost) {
                block.append(
                    WorkItem(
                        kind: .update, node: Int32(p), slot: 0, accumulate: false,
                        lo: r.lowerBound, hi: r.upperBound, dest: valueBuffer[p], sourceStart: 0,
                        sourceCount: 0))
                costs.append(saturatingProduct(r.count, optimizer.unitCost))
            }
        }
        schedule(block, costs)
        closeSerial()
    }

    /// Lowers an all-scalar graph to a tape (Note [Scalar tape]): positions
    /// follow the forward order, then inputs the output does not use.
    private mutating func lowerToTape() -> Bool {
        let n = graph.count
        var positions = [Int](repeating: -1, count: n)
        var next = 0
        for i in graph.forwardOrder {
            positions[i] = next
            next += 1
        }
        for i in graph.inputs where positions[i] < 0 {
            positions[i] = next
            next += 1
        }
        guard let lowered = ScalarTape(graph, positions: positions) else { return false }
        tape = lowered
        let count = lowered.count
        valueOffset = positions
        gradientOffset = positions.map { $0 >= 0 && options.computesGradients ? count + $0 : -1 }
        auxOffset = [Int](repeating: -1, count: n)
        parentValueOffsets = graph.table.parentList.map { positions[$0] }
        edgeDest = [Int](repeating: -1, count: graph.table.parentList.count)
        edgeAccumulate = [Bool](repeating: false, count: graph.table.parentList.count)
        cotangentOffset = 2 * count
        arenaCount = 2 * count + 1
        leaves = (0..<n).filter { positions[$0] >= 0 && graph.op(of: $0).isLeaf }
        // A training tape: one serial update phase, run after the tape
        // (Note [Optimizer phases]); the state follows the cotangent.
        stateOffset = [Int](repeating: -1, count: n)
        if let optimizer = options.optimizer {
            for p in parameters where graph.outputDepends(on: p) {
                stateOffset[p] = arenaCount
                arenaCount += optimizer.stateCount
                items.append(
                    WorkItem(
                        kind: .update, node: Int32(p), slot: 0, accumulate: false, lo: 0, hi: 1,
                        dest: positions[p], sourceStart: 0, sourceCount: 0))
            }
            if !items.isEmpty {
                taskStart.append(items.count)
                phaseStart.append(1)
                statistics.serialPhases = 1
                statistics.updatePhases = 1
                statistics.tasks = 1
                statistics.items = items.count
            }
        }
        statistics.scalarTape = true
        statistics.levels = graph.levelCount - 1
        statistics.arenaElements = arenaCount
        statistics.unsharedElements = arenaCount
        return true
    }

    /// Note [Chunk chains]
    /// An elementwise node k whose newest parent j computes its output by
    /// element ranges runs each of its chunks right after j's chunk of the
    /// same range, in the same task, while that range is still in cache
    /// (S3's mul → add → tanh streams each vector once instead of three
    /// times). k joins j's phase level; this is safe because k reads only
    /// element e of its parents, j's chunk e-range is written just before,
    /// and k's other parents are all from strictly earlier phase levels.
    /// Chunk ranges are j's (the chain root's), a function of the plan only,
    /// and k computes each element whole, so the bits do not change.
    /// The backward pass keeps the true levels.
    ///
    /// - Returns: the forward phase levels (nodes to schedule, in id order;
    ///   chained nodes are left out of them) and, per chain root, the nodes
    ///   chained below it in topological order.
    private func chunkChains(cone: [Bool]) -> (levels: [[NodeID]], chained: [NodeID: [NodeID]]) {
        let n = graph.count
        var phaseLevel = [Int](repeating: 0, count: n)
        var root = [Int](repeating: -1, count: n)
        var chained: [NodeID: [NodeID]] = [:]
        var levels: [[NodeID]] = []
        for k in graph.topologicalOrder where cone[k] && !graph.op(of: k).isLeaf {
            let parents = graph.parents(of: k)
            var top = -1
            var topLevel = -1
            var unique = true
            for p in parents {
                if phaseLevel[p] > topLevel {
                    topLevel = phaseLevel[p]
                    top = p
                    unique = true
                } else if phaseLevel[p] == topLevel && p != top {
                    unique = false
                }
            }
            if unique, top >= 0, !graph.op(of: top).isLeaf, kernels[k].readsParentsElementwise,
                kernels[top].forwardUnitsAreElements || root[top] >= 0,
                graph.shape(of: top) == graph.shape(of: k)
            {
                phaseLevel[k] = topLevel
                let r = root[top] >= 0 ? root[top] : top
                root[k] = r
                chained[r, default: []].append(k)
                continue
            }
            phaseLevel[k] = topLevel + 1
            while levels.count < phaseLevel[k] { levels.append([]) }
            levels[phaseLevel[k] - 1].append(k)
        }
        return (levels.map { $0.sorted() }.filter { !$0.isEmpty }, chained)
    }

    /// The number of blocks to split a reduction's reduced sets into, or
    /// `nil` when its outputs alone give enough chunks (or it is too small).
    private func splitReduction(outputs: Int, reducedCount: Int) -> Int? {
        let wanted = Swift.min(
            options.maxChunksPerNode, saturatingProduct(outputs, reducedCount) / options.grain)
        guard outputs < wanted, reducedCount >= 64 else { return nil }
        return Swift.min(reducedCount / 16, Swift.max(2, wanted / outputs))
    }

    /// Splits `units` into chunks of about `options.grain` cost, each at
    /// least `minimum` units; boundaries fall on multiples of 16 units when
    /// chunks are that large.
    private func chunks(units: Int, cost: Int, minimum: Int = 1) -> [Range<Int>] {
        guard units > 0 else { return [] }
        let total = saturatingProduct(units, Swift.max(1, cost))
        let count = Swift.min(
            units / Swift.max(1, minimum), options.maxChunksPerNode,
            Swift.max(1, (total + options.grain - 1) / options.grain))
        if count <= 1 { return [0..<units] }
        let align = units / count >= 16 ? 16 : 1
        var result: [Range<Int>] = []
        var lower = 0
        for c in 1...count {
            let upper = c == count ? units : (units * c / count) / align * align
            if upper > lower {
                result.append(lower..<upper)
                lower = upper
            }
        }
        return result
    }

    /// Appends a block of items: to the open serial phase when the block is
    /// cheap, else as a parallel phase whose tasks pack items up to the grain.
    /// `glue[k]` keeps item k in the same task as item k − 1.
    private mutating func schedule(
        _ block: [WorkItem], _ costs: [Int], glue: [Bool] = [], forceSerial: Bool = false
    ) {
        guard !block.isEmpty else { return }
        let total = costs.reduce(0, saturatingSum)
        if forceSerial || total < options.inlineThreshold || block.count == 1 {
            if !serialOpen {
                serialOpen = true
                statistics.serialPhases += 1
            }
            statistics.serialLevels += 1
            for item in block {
                items.append(item)
                itemTime.append(time)
                time += 1
            }
            return
        }
        closeSerial()
        var acc = 0
        for (k, (item, cost)) in zip(block, costs).enumerated() {
            items.append(item)
            itemTime.append(time)
            acc = saturatingSum(acc, cost)
            let gluedToNext = k + 1 < glue.count && glue[k + 1]
            if acc >= options.grain && !gluedToNext {
                taskStart.append(items.count)
                acc = 0
            }
        }
        if taskStart.last! != items.count { taskStart.append(items.count) }
        phaseStart.append(taskStart.count - 1)
        time += 1
    }

    /// Ends the open serial phase: its items form one task.
    private mutating func closeSerial() {
        guard serialOpen else { return }
        serialOpen = false
        taskStart.append(items.count)
        phaseStart.append(taskStart.count - 1)
    }

    /// Where each buffer landed, and which elements each item writes: the
    /// input of ``ArenaPlacement``. An item covers units `lo..<hi` of the
    /// units that all items of its kind, node and slot split its buffer
    /// into, so it writes that proportion of the buffer.
    private mutating func recordPlacementSpans(offset: [Int]) {
        for b in bufferSize.indices where offset[b] >= 0 {
            bufferSpans.append(
                BufferSpan(start: offset[b], count: bufferSize[b], role: bufferRole[b]))
        }
        func written(_ item: WorkItem) -> Int {
            switch item.kind {
            case .reduceCombine: valueBuffer[Int(item.node)]
            case .customVJP: -1
            case .update: stateBuffer[Int(item.node)]
            default: item.dest
            }
        }
        var units: [WriteKey: Int] = [:]
        for item in items where written(item) >= 0 {
            let key = WriteKey(
                buffer: written(item), kind: item.kind, node: item.node, slot: item.slot)
            units[key] = Swift.max(units[key] ?? 0, item.hi)
        }
        itemWrites = items.map { item in
            let b = written(item)
            guard b >= 0, offset[b] >= 0 else { return 0..<0 }
            let key = WriteKey(buffer: b, kind: item.kind, node: item.node, slot: item.slot)
            let total = Double(Swift.max(1, units[key] ?? 1))
            let size = Double(bufferSize[b])
            let lo = Int(size * Double(item.lo) / total)
            let hi = Swift.max(lo, Int(size * Double(item.hi) / total))
            return (offset[b] + lo)..<(offset[b] + hi)
        }
    }

    /// Assigns arena offsets (see Note [Memory reuse]).
    private mutating func layout() -> [Int] {
        let count = bufferSize.count
        var offset = [Int](repeating: -1, count: count)
        func rounded(_ size: Int) -> Int { (size + 15) / 16 * 16 }
        var bump = 0
        var unshared = 0
        // Permanent buffers first — the values callers set (leaves, the
        // cotangent) ahead of the rest, so that they share few pages with
        // buffers placed elsewhere (Note [Arena placement]) — then the rest
        // in birth order.
        var order = (0..<count).filter { bufferDeath[$0] >= 0 }
        func key(_ b: Int) -> (Int, Int, Int) {
            (bufferBirth[b], bufferRole[b] == .parameter ? 0 : 1, b)
        }
        order.sort { key($0) < key($1) }
        var free: [Int: [Int]] = [:]
        var heap = MinHeap()  // live buffers by death time
        for b in order {
            let size = rounded(bufferSize[b])
            unshared += size
            while let top = heap.peek, top.key < bufferBirth[b] {
                heap.pop()
                free[rounded(bufferSize[top.value]), default: []].append(offset[top.value])
            }
            if let reused = free[size]?.popLast() {
                offset[b] = reused
            } else {
                offset[b] = bump
                bump += size
            }
            if bufferDeath[b] != Int.max { heap.push(key: bufferDeath[b], value: b) }
        }
        arenaCount = bump
        statistics.arenaElements = bump
        statistics.unsharedElements = unshared
        return offset
    }
}

/// The items that split one buffer's writes into units: one kind of work
/// of one node (and argument slot) into one buffer.
private struct WriteKey: Hashable {
    let buffer: Int, kind: WorkItem.Kind, node: Int32, slot: Int32
}

/// a · b, or `Int.max` when that overflows (cost estimates of huge nodes).
func saturatingProduct(_ a: Int, _ b: Int) -> Int {
    let (p, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : p
}

/// a + b, or `Int.max` when that overflows.
func saturatingSum(_ a: Int, _ b: Int) -> Int {
    let (s, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : s
}

/// A binary min-heap of (key, value) pairs.
struct MinHeap {
    private var keys: [Int] = []
    private var values: [Int] = []

    var peek: (key: Int, value: Int)? { keys.isEmpty ? nil : (keys[0], values[0]) }

    mutating func push(key: Int, value: Int) {
        keys.append(key)
        values.append(value)
        var i = keys.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard keys[i] < keys[parent] else { break }
            keys.swapAt(i, parent)
            values.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() {
        keys.swapAt(0, keys.count - 1)
        values.swapAt(0, values.count - 1)
        keys.removeLast()
        values.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < keys.count && keys[l] < keys[m] { m = l }
            if r < keys.count && keys[r] < keys[m] { m = r }
            if m == i { break }
            keys.swapAt(i, m)
            values.swapAt(i, m)
            i = m
        }
    }
}
