// Pass 8: buffer ids become arena offsets, and the placement spans that
// NUMA placement reads (Note [Arena placement]) are recorded; the result is
// the plan's tables.

extension PlanBuilder {
    /// Turns every buffer id into its arena offset and assembles the tables.
    mutating func resolveOffsets(_ layout: ArenaLayout) -> (
        tables: PlanTables, statistics: PlanStatistics
    ) {
        let offset = layout.offset
        func at(_ buffer: Int) -> Int { buffer < 0 ? -1 : offset[buffer] }
        // Before items' destinations become offsets: spans go by buffer id.
        let (bufferSpans, itemWrites) = placementSpans(layout)
        let valueOffset = nodeBuffers.value.map(at)
        var items = phases.items
        for k in items.indices where items[k].dest >= 0 { items[k].dest = offset[items[k].dest] }

        statistics.arenaElements = layout.count
        statistics.unsharedElements = layout.unsharedCount
        statistics.serialPhases = phases.serialPhases
        statistics.serialLevels = phases.serialLevels
        statistics.forwardPhases = forwardPhaseCount
        statistics.backwardPhases = updatePhaseStart - forwardPhaseCount
        statistics.updatePhases = phases.phaseCount - updatePhaseStart
        statistics.tasks = phases.taskCount
        statistics.items = items.count
        let tables = PlanTables(
            kernels: kernels, valueOffset: valueOffset,
            gradientOffset: nodeBuffers.gradient.map(at), auxOffset: nodeBuffers.aux.map(at),
            parentStart: graph.table.parentStart,
            parentValueOffsets: graph.table.parentList.map { valueOffset[$0] },
            edgeDest: edges.dest.map(at), edgeAccumulate: edges.accumulate,
            cotangentOffset: offset[nodeBuffers.cotangent], arenaCount: layout.count,
            items: items, joinSources: joinSources.map(at), taskStart: phases.taskStart,
            phaseStart: phases.phaseStart, forwardPhaseCount: forwardPhaseCount,
            updatePhaseStart: updatePhaseStart, stateOffset: nodeBuffers.state.map(at),
            parameters: parameters, leaves: leaves, tape: nil, bufferSpans: bufferSpans,
            itemWrites: itemWrites)
        return (tables, statistics)
    }

    /// Where each buffer landed, and which elements each item writes: the
    /// input of ``ArenaPlacement``. An item covers units `lo..<hi` of the
    /// units that all items of its kind, node and slot split its buffer
    /// into, so it writes that proportion of the buffer.
    private func placementSpans(_ layout: ArenaLayout) -> (
        bufferSpans: [BufferSpan], itemWrites: [Range<Int>]
    ) {
        let offset = layout.offset
        var bufferSpans: [BufferSpan] = []
        for b in 0..<buffers.count where offset[b] >= 0 {
            bufferSpans.append(
                BufferSpan(start: offset[b], count: buffers.size[b], role: buffers.role[b]))
        }
        func written(_ item: WorkItem) -> Int {
            switch item.kind {
            case .reduceCombine: nodeBuffers.value[Int(item.node)]
            case .customVJP: -1
            case .update: nodeBuffers.state[Int(item.node)]
            default: item.dest
            }
        }
        var units: [WriteKey: Int] = [:]
        for item in phases.items where written(item) >= 0 {
            let key = WriteKey(
                buffer: written(item), kind: item.kind, node: item.node, slot: item.slot)
            units[key] = Swift.max(units[key] ?? 0, item.hi)
        }
        let itemWrites = phases.items.map { item in
            let b = written(item)
            guard b >= 0, offset[b] >= 0 else { return 0..<0 }
            let key = WriteKey(buffer: b, kind: item.kind, node: item.node, slot: item.slot)
            let total = Double(Swift.max(1, units[key] ?? 1))
            let size = Double(buffers.size[b])
            let lo = Int(size * Double(item.lo) / total)
            let hi = Swift.max(lo, Int(size * Double(item.hi) / total))
            return (offset[b] + lo)..<(offset[b] + hi)
        }
        return (bufferSpans, itemWrites)
    }
}

/// The items that split one buffer's writes into units: one kind of work
/// of one node (and argument slot) into one buffer.
private struct WriteKey: Hashable {
    let buffer: Int, kind: WorkItem.Kind, node: Int32, slot: Int32
}
