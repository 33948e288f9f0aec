// Pass 5: the backward pass's phases. Levels run in reverse; each edge's
// contribution goes straight into its parent's gradient (the only edge
// into it from a level), shares chunks with the level's other edges into
// it (Note [Grouped edges]), or goes through a partial buffer summed at
// the level's join (Note [Determinism]).

/// An edge into a parent from one backward level: argument `slot` of `child`.
private struct IncomingEdge {
    /// The edge's id: `parentStart[child] + slot`.
    let edge: Int
    let child: NodeID
    let slot: Int
}

/// One backward level's work: the VJPs of its edges, then the joins that
/// sum partial buffers into gradients.
private struct BackwardLevel {
    /// VJPs writing to their edge's destination, one chunk each.
    var vjp = WorkBlock()
    /// Grouped edges' VJPs, glued per chunk (Note [Grouped edges]).
    var grouped = WorkBlock()
    var joins = WorkBlock()
    /// The edges whose VJPs are in `grouped`.
    var isGrouped = Set<Int>()
}

extension PlanBuilder {
    /// Schedules the backward pass: the gradients' seed and zeros, then
    /// each level in reverse, its VJPs and then its joins; closes it and
    /// resolves the joins' sources.
    mutating func scheduleBackward() {
        var received = [Bool](repeating: false, count: graph.count)
        received[graph.output] = true
        var pendingSources: [[Int]] = []
        var planned: [BackwardLevel] = []
        for (l, all) in levels.enumerated().reversed() {
            var work = BackwardLevel()
            if fusion.blocks.contains(l) {
                work.vjp = fusedBlock(level: l, received: &received)
                planned.append(work)
                continue
            }
            // Nodes that joined a later level's block run there.
            let level = fusion.joins.isEmpty ? all : all.filter { fusion.joins[$0] == nil }
            for (p, edges) in edgesIntoParents(level) {
                routeEdges(edges, into: p, received: received[p], &work, &pendingSources)
                received[p] = true
            }
            appendVJPs(level, &work)
            planned.append(work)
        }
        phases.schedule(gradientStarts(received: received))
        for work in planned { phases.schedule(level: work.vjp + work.grouped, then: work.joins) }
        phases.closeSerial()
        updatePhaseStart = phases.phaseCount
        resolveJoinSources(pendingSources)
    }

    /// The edges of a level that carry a gradient, grouped by parent:
    /// parents in order of first use, each one's edges in (child, slot) order.
    private func edgesIntoParents(_ level: [NodeID]) -> [(NodeID, [IncomingEdge])] {
        var edgesInto: [NodeID: [IncomingEdge]] = [:]
        var parentsInOrder: [NodeID] = []
        for j in level where requiresGradient[j] {
            for (k, p) in graph.parents(of: j).enumerated()
            where requiresGradient[p] && kernels[j].hasGradient(slot: k) {
                if edgesInto[p] == nil { parentsInOrder.append(p) }
                edgesInto[p, default: []].append(
                    IncomingEdge(edge: graph.table.parentStart[j] + k, child: j, slot: k))
            }
        }
        return parentsInOrder.map { ($0, edgesInto[$0]!) }
    }

    /// Decides where the level's edges into `p` write: `p`'s gradient
    /// directly (one edge; or several grouped), or partial buffers and a
    /// join. `received`: whether an earlier level already wrote `p`'s
    /// gradient (then the first write adds to it).
    private mutating func routeEdges(
        _ all: [IncomingEdge], into p: NodeID, received: Bool, _ work: inout BackwardLevel,
        _ pendingSources: inout [[Int]]
    ) {
        let edgeIDs = all.map(\.edge)
        let gradient = nodeBuffers.gradient[p]
        if edgeIDs.count == 1 {
            edges.dest[edgeIDs[0]] = gradient
            edges.accumulate[edgeIDs[0]] = received
        } else if all.allSatisfy({ kernels[$0.child].vjpUnitsAreElements }) {
            groupEdges(all, into: p, received: received, &work)
        } else {
            joinThroughPartials(edgeIDs, into: p, received: received, &work, &pendingSources)
        }
    }

    /// Puts all of the level's edges into `p` in the same chunks of `p`'s
    /// elements, each chunk's edges glued into one task.
    private mutating func groupEdges(
        _ all: [IncomingEdge], into p: NodeID, received: Bool, _ work: inout BackwardLevel
    ) {
        // Note [Grouped edges]: every edge into p from this level
        // covers the same element range in one task, adding into
        // p's gradient one after another in edge order — no
        // partial buffers, no join phase, the same fixed order.
        let count = graph.shape(of: p).count
        let gradient = nodeBuffers.gradient[p]
        let costs = all.map {
            kernels[$0.child].vjpUnits(slot: $0.slot, inputCount: count).cost
        }
        for r in options.chunks(units: count, cost: costs.reduce(0, saturatingSum)) {
            for (index, edge) in all.enumerated() {
                work.grouped.append(
                    WorkItem(
                        kind: .vjp, node: Int32(edge.child), slot: Int32(edge.slot),
                        accumulate: index > 0 || received, lo: r.lowerBound,
                        hi: r.upperBound, dest: gradient, sourceStart: 0, sourceCount: 0),
                    cost: saturatingProduct(r.count, costs[index]), gluedToPrevious: index > 0)
            }
        }
        for e in all.map(\.edge) {
            edges.dest[e] = gradient
            work.isGrouped.insert(e)
        }
        statistics.groupedEdges += all.count
    }

    /// Gives each edge its own partial buffer, and `p` joins that sum them
    /// in edge order. A join's sources are `pendingSources`' entry until
    /// ``resolveJoinSources(_:)``.
    private mutating func joinThroughPartials(
        _ edgeIDs: [Int], into p: NodeID, received: Bool, _ work: inout BackwardLevel,
        _ pendingSources: inout [[Int]]
    ) {
        let count = graph.shape(of: p).count
        var sources: [Int] = []
        for e in edgeIDs {
            let partial = buffers.newBuffer(count, .partial)
            edges.dest[e] = partial
            sources.append(partial)
        }
        statistics.partialEdges += edgeIDs.count
        for r in options.chunks(units: count, cost: edgeIDs.count) {
            work.joins.append(
                WorkItem(
                    kind: .join, node: Int32(p), slot: 0, accumulate: received,
                    lo: r.lowerBound, hi: r.upperBound, dest: nodeBuffers.gradient[p],
                    sourceStart: Int32(pendingSources.count), sourceCount: Int32(edgeIDs.count)),
                cost: r.count * edgeIDs.count)
        }
        pendingSources.append(sources)
    }

    /// The VJP chunks of the level's edges that are not grouped (a custom
    /// op: one item for all its arguments).
    private func appendVJPs(_ level: [NodeID], _ work: inout BackwardLevel) {
        let parentStart = graph.table.parentStart
        for j in level where requiresGradient[j] {
            if case .custom = kernels[j] {
                // Edge ids of j's arguments: parentStart[j] + k.
                if (parentStart[j]..<parentStart[j + 1]).contains(where: { edges.dest[$0] >= 0 }) {
                    work.vjp.append(
                        WorkItem(
                            kind: .customVJP, node: Int32(j), slot: 0, accumulate: false,
                            lo: 0, hi: 1, dest: -1, sourceStart: 0, sourceCount: 0),
                        cost: kernels[j].vjpUnits(slot: 0, inputCount: graph.shape(of: j).count)
                            .cost)
                }
                continue
            }
            for (k, p) in graph.parents(of: j).enumerated()
            where edges.dest[parentStart[j] + k] >= 0
                && !work.isGrouped.contains(parentStart[j] + k)
            {
                let e = parentStart[j] + k
                let (units, cost) = kernels[j].vjpUnits(
                    slot: k, inputCount: graph.shape(of: p).count)
                for r in options.chunks(
                    units: units, cost: cost, minimum: kernels[j].minimumUnitsPerChunk)
                {
                    work.vjp.append(
                        WorkItem(
                            kind: .vjp, node: Int32(j), slot: Int32(k),
                            accumulate: edges.accumulate[e], lo: r.lowerBound,
                            hi: r.upperBound, dest: edges.dest[e], sourceStart: 0,
                            sourceCount: 0),
                        cost: saturatingProduct(r.count, cost))
                }
            }
        }
    }

    /// The items of a fused block (Note [Fused backward]): per chunk of its
    /// nodes' elements, a tile header, then the values the block recomputes
    /// (Note [Store or recompute]), then every edge's VJP in the unfused
    /// order (true level descending, node, argument), glued into one task.
    private mutating func fusedBlock(level l: Int, received: inout [Bool]) -> WorkBlock {
        let levelOf = fusion.levelOf
        let nodes =
            (levels[l].filter { requiresGradient[$0] && fusion.joins[$0] == nil }
            + fusion.joins.filter { $0.value == l }.map(\.key))
            .sorted { (levelOf[$0], -$0) > (levelOf[$1], -$1) }
        let recomputed = nodes.filter { fusion.recomputed.contains($0) }.sorted()
        let count = graph.shape(of: nodes[0]).count
        let parentStart = graph.table.parentStart
        var vjps: [(item: WorkItem, cost: Int, parent: NodeID)] = []
        for j in nodes {
            for (k, p) in graph.parents(of: j).enumerated()
            where requiresGradient[p] && kernels[j].hasGradient(slot: k) {
                let e = parentStart[j] + k
                edges.dest[e] = nodeBuffers.gradient[p]
                edges.accumulate[e] = received[p]
                received[p] = true
                vjps.append(
                    (
                        WorkItem(
                            kind: .vjp, node: Int32(j), slot: Int32(k),
                            accumulate: edges.accumulate[e],
                            lo: 0, hi: 0, dest: edges.dest[e], sourceStart: 0, sourceCount: 0),
                        kernels[j].vjpUnits(slot: k, inputCount: count).cost, p
                    ))
            }
        }
        // Edges sharing a gradient share its chunks here too (Note [Grouped edges]).
        let edgesPerParent = Dictionary(grouping: vjps.map(\.parent), by: { $0 }).values
        statistics.groupedEdges += edgesPerParent.filter { $0.count > 1 }.reduce(0) {
            $0 + $1.count
        }
        let recomputeCosts = recomputed.map {
            kernels[$0].forwardUnits(outputCount: count).cost
        }
        let perElement = (vjps.map(\.cost) + recomputeCosts).reduce(0, saturatingSum)
        var work = WorkBlock()
        for r in options.chunks(units: count, cost: perElement, minimum: FusedBackward.tileLength) {
            work.append(
                WorkItem(
                    kind: .tile, node: Int32(nodes[0]), slot: 0, accumulate: false,
                    lo: r.lowerBound, hi: r.upperBound, dest: -1,
                    sourceStart: Int32(FusedBackward.tileLength),
                    sourceCount: Int32(recomputed.count + vjps.count)),
                cost: 0)
            for (s, p) in recomputed.enumerated() {
                work.append(
                    WorkItem(
                        kind: .recompute, node: Int32(p), slot: Int32(s), accumulate: false,
                        lo: r.lowerBound, hi: r.upperBound, dest: -1, sourceStart: 0,
                        sourceCount: 0),
                    cost: saturatingProduct(r.count, recomputeCosts[s]), gluedToPrevious: true)
            }
            for var v in vjps {
                v.item.lo = r.lowerBound
                v.item.hi = r.upperBound
                work.append(v.item, cost: saturatingProduct(r.count, v.cost), gluedToPrevious: true)
            }
        }
        return work
    }

    /// Seeds the output's gradient; zeroes the gradients nothing flows into.
    private func gradientStarts(received: [Bool]) -> WorkBlock {
        var start = WorkBlock()
        start.append(
            WorkItem(
                kind: .seed, node: Int32(graph.output), slot: 0, accumulate: false, lo: 0,
                hi: graph.shape(of: graph.output).count,
                dest: nodeBuffers.gradient[graph.output], sourceStart: 0, sourceCount: 0),
            cost: 0)
        for i in 0..<graph.count where requiresGradient[i] && !received[i] {
            start.append(
                WorkItem(
                    kind: .zero, node: Int32(i), slot: 0, accumulate: false, lo: 0,
                    hi: graph.shape(of: i).count, dest: nodeBuffers.gradient[i], sourceStart: 0,
                    sourceCount: 0),
                cost: 0)
        }
        return start
    }

    /// Lays the joins' sources out in item order: each join's
    /// `sourceStart` becomes its range's start in ``joinSources``.
    private mutating func resolveJoinSources(_ pendingSources: [[Int]]) {
        for k in phases.items.indices where phases.items[k].kind == .join {
            let sources = pendingSources[Int(phases.items[k].sourceStart)]
            phases.items[k].sourceStart = Int32(joinSources.count)
            joinSources.append(contentsOf: sources)
        }
    }
}
