// Pass 4: the forward pass's phases. Nodes are scheduled by the phase
// levels of 2-Fusion (Note [Chunk chains]); each level's chunks form one
// block, a chain's nodes glued per chunk, and two-stage
// reductions add a block of combines after it (Note [Two-stage reductions]).

extension PlanBuilder {
    /// Schedules the forward pass, one phase level at a time, and closes it.
    mutating func scheduleForward() {
        let (phaseLevels, chained) = (fusion.levels, fusion.chained)
        for level in phaseLevels {
            var work = WorkBlock()
            var combine = WorkBlock()
            for i in level {
                let units = kernels[i].forwardUnits(outputCount: graph.shape(of: i).count).units
                if splitInTwoStages(i, units: units, into: &work, combine: &combine) { continue }
                appendChain([i] + (chained[i] ?? []), units: units, to: &work)
            }
            phases.schedule(level: work, then: combine)
        }
        phases.closeSerial()
        forwardPhaseCount = phases.phaseCount
        updatePhaseStart = forwardPhaseCount
    }

    /// Appends the chunks of the chain rooted at `chain[0]`: each chunk of
    /// the root, then the same range of every node chained below it, in
    /// topological order, glued into one task.
    private func appendChain(_ chain: [NodeID], units: Int, to work: inout WorkBlock) {
        // A chained node's units are elements; a root's unit may be a row of
        // `scale` elements (a matrix product), which a chained node's chunk
        // covers whole.
        let scale = kernels[chain[0]].elementsPerForwardUnit ?? 1
        let unitCosts = chain.enumerated().map { k, node in
            saturatingProduct(
                kernels[node].forwardUnits(outputCount: graph.shape(of: node).count).cost,
                k == 0 ? 1 : scale)
        }
        let chainCost = unitCosts.reduce(0, saturatingSum)
        for r in options.chunks(
            units: units, cost: chainCost, minimum: kernels[chain[0]].minimumUnitsPerChunk)
        {
            for (k, node) in chain.enumerated() {
                let s = k == 0 ? 1 : scale
                work.append(
                    WorkItem(
                        kind: .forward, node: Int32(node), slot: 0, accumulate: false,
                        lo: r.lowerBound * s, hi: r.upperBound * s, dest: nodeBuffers.value[node],
                        sourceStart: 0, sourceCount: 0),
                    cost: saturatingProduct(r.count, unitCosts[k]), gluedToPrevious: k > 0)
            }
        }
    }

    /// Splits reduction `i` in two stages when its outputs alone give too
    /// few chunks: its partials into `work`, its combines into `combine`.
    ///
    /// - Returns: whether it did (else `i` is scheduled as a chain).
    private mutating func splitInTwoStages(
        _ i: NodeID, units: Int, into work: inout WorkBlock, combine: inout WorkBlock
    ) -> Bool {
        guard case .reduce(let r, let geo) = kernels[i],
            let blocks = splitReduction(outputs: units, reducedCount: geo.reducedCount)
        else { return false }
        // Note [Two-stage reductions]: few outputs, each folding
        // many elements: stage 1 folds fixed blocks of every
        // output's reduced set into partials (in parallel), stage 2
        // folds each output's partials in block order. Sums take the
        // blocked pairwise order of Note [Summation order] inside
        // each block (from its first position) and across the
        // partials. The blocks are a function of the shapes and the
        // options, so the bits do not depend on the thread count.
        let partials = buffers.newBuffer(units * blocks * (r == .max ? 2 : 1), .partial)
        let blockCost = (geo.reducedCount + blocks - 1) / blocks
        // Stage 1 over (output, block) pairs, stage 2 over outputs; both
        // name the partials and the block count.
        func stage(_ kind: WorkItem.Kind, units: Int, cost: Int, into block: inout WorkBlock) {
            for c in options.chunks(units: units, cost: cost) {
                block.append(
                    WorkItem(
                        kind: kind, node: Int32(i), slot: 0, accumulate: false,
                        lo: c.lowerBound, hi: c.upperBound, dest: partials, sourceStart: 0,
                        sourceCount: Int32(blocks)),
                    cost: saturatingProduct(c.count, cost))
            }
        }
        stage(.reducePartial, units: units * blocks, cost: blockCost, into: &work)
        stage(.reduceCombine, units: units, cost: blocks, into: &combine)
        return true
    }

    /// The number of blocks to split a reduction's reduced sets into, or
    /// `nil` when its outputs alone give enough chunks (or it is too small).
    private func splitReduction(outputs: Int, reducedCount: Int) -> Int? {
        let wanted = Swift.min(
            options.maxChunksPerNode, saturatingProduct(outputs, reducedCount) / options.grain)
        guard outputs < wanted, reducedCount >= 64 else { return nil }
        return Swift.min(reducedCount / 16, Swift.max(2, wanted / outputs))
    }
}
