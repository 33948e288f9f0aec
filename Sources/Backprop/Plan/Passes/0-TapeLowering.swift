// Pass 0: an all-scalar graph skips the pipeline and lowers to a scalar
// tape (Note [Scalar tape], in ScalarTape.swift).

extension PlanBuilder {
    /// Lowers an all-scalar graph to a tape (Note [Scalar tape]): positions
    /// follow the forward order, then inputs the output does not use.
    ///
    /// - Returns: the plan's tables, or `nil` when the graph does not lower
    ///   (a node is not a scalar or has no tape code).
    mutating func lowerToTape() -> (tables: PlanTables, statistics: PlanStatistics)? {
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
        guard let tape = ScalarTape(graph, positions: positions) else { return nil }
        let count = tape.count
        let cotangentOffset = 2 * count
        var arenaCount = 2 * count + 1
        // A training tape: one serial update phase, run after the tape
        // (Note [Optimizer phases]); the state follows the cotangent.
        var stateOffset = [Int](repeating: -1, count: n)
        var items: [WorkItem] = []
        var taskStart = [0]
        var phaseStart = [0]
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
        let tables = PlanTables(
            kernels: [], valueOffset: positions,
            gradientOffset: positions.map {
                $0 >= 0 && options.computesGradients ? count + $0 : -1
            },
            auxOffset: [Int](repeating: -1, count: n), parentStart: graph.table.parentStart,
            parentValueOffsets: graph.table.parentList.map { positions[$0] },
            edgeDest: edges.dest, edgeAccumulate: edges.accumulate,  // no edge: adjoints instead
            cotangentOffset: cotangentOffset, arenaCount: arenaCount, items: items,
            joinSources: [], taskStart: taskStart, phaseStart: phaseStart, forwardPhaseCount: 0,
            updatePhaseStart: 0, stateOffset: stateOffset, parameters: parameters,
            leaves: (0..<n).filter { positions[$0] >= 0 && graph.op(of: $0).isLeaf }, tape: tape,
            bufferSpans: [], itemWrites: [])
        return (tables, statistics)
    }
}
