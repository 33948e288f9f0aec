// One work item: the ranged kernel it names, on the arena (WorkItem.Kind
// lists the kinds), and the join with Note [Determinism].

extension Execution {
    @inline(__always)
    func io(_ j: Int) -> KernelIO<Element> {
        let p = plan
        let aux = p.tables.auxOffset[j]
        return KernelIO(
            values: arena.base,
            parentOffsets: UnsafePointer(edgeOffsets.base) + p.tables.parentStart[j],
            parentCount: p.tables.parentStart[j + 1] - p.tables.parentStart[j],
            outOffset: p.tables.valueOffset[j],
            aux: aux >= 0 ? arena.base + aux : nil)
    }

    func runItem(_ item: WorkItem) throws(KernelFailure) {
        let p = plan
        let base = arena.base
        let j = Int(item.node)
        let range = item.lo..<item.hi
        switch item.kind {
        case .reducePartial, .reduceCombine:
            guard case .reduce(let r, let geo) = p.tables.kernels[j] else { return }
            let partials = base + item.dest
            if item.kind == .reducePartial {
                ReductionKernels.partials(
                    r, geo, io(j), partials, blocks: Int(item.sourceCount), range)
            } else {
                ReductionKernels.combine(
                    r, geo, io(j), partials, blocks: Int(item.sourceCount), range)
            }
        case .forward:
            try p.tables.kernels[j].forward(io(j), range, useBLAS: p.usesBLAS)
        case .vjp:
            runVJP(item, io(j), range)
        case .customVJP:
            let results = try p.tables.kernels[j].customVJP(
                io(j), g: UnsafePointer(base + p.tables.gradientOffset[j]))
            for (k, result) in results.enumerated() {
                let e = p.tables.parentStart[j] + k
                let dest = p.tables.edgeDest[e]
                guard dest >= 0 else { continue }
                let n = p.graph.shape(of: p.graph.parents(of: j)[p.tables.parentStart[j] + k]).count
                let out = base + dest
                if let result {
                    if p.tables.edgeAccumulate[e] {
                        for i in 0..<n { out[i] += result.scalars[i] }
                    } else {
                        for i in 0..<n { out[i] = result.scalars[i] }
                    }
                } else if !p.tables.edgeAccumulate[e] {
                    out.update(repeating: 0, count: n)
                }
            }
        case .join:
            // Note [Determinism]
            // Contributions to one gradient from one level are never added
            // concurrently: each edge's VJP writes its own partial buffer, and
            // here one chunk per range of the gradient adds the partials in
            // the plan's fixed edge order (child id, then argument), then adds
            // that to what earlier levels left. Chunk boundaries, edge order
            // and level order are functions of the graph and the plan options
            // only, and every kernel computes each destination element whole
            // within one chunk with a fixed loop order (sums: the blocked
            // pairwise order of Note [Summation order]) — so the bits of every
            // value and gradient are the same for any thread count and any
            // claiming order. No atomics or locks touch gradient data.
            let out = base + item.dest
            let first = Int(item.sourceStart)
            let sources = p.tables.joinSources.pointer + first
            for i in range {
                var sum = base[sources[0] + i]
                for s in 1..<Int(item.sourceCount) { sum += base[sources[s] + i] }
                out[i] = item.accumulate ? out[i] + sum : sum
            }
            if injectsFault && workersUsed > 1 && range.lowerBound == 0 && !range.isEmpty {
                out[0] += base[sources[0]]  // the deliberate bug: one partial added twice
            }
        case .seed:
            (base + item.dest).update(from: base + p.tables.cotangentOffset, count: item.hi)
        case .zero:
            (base + item.dest + item.lo).update(repeating: 0, count: item.hi - item.lo)
        case .tile, .recompute:
            // Run by runFusedBlock(at:), never on their own.
            break
        case .update:
            OptimizerKernels.update(
                updateConstants, w: base + item.dest,
                g: UnsafePointer(base + p.tables.gradientOffset[j]),
                state: base + p.tables.stateOffset[j], range)
        }
    }

    /// Runs the fused block whose tile header is item `header` (Note [Fused
    /// backward]): its items, tile by tile, each on a tile before any on
    /// the next; recomputed values (Note [Store or recompute]) go to a
    /// scratch region, where the block's VJPs read them.
    func runFusedBlock(at header: Int) throws(KernelFailure) {
        let items = plan.tables.items
        let block = items[header]
        let tile = Int(block.sourceStart)
        let first = header + 1
        let end = first + Int(block.sourceCount)
        var recomputes = 0
        while first + recomputes < end && items[first + recomputes].kind == .recompute {
            recomputes += 1
        }
        // A scratch region only when the block recomputes something.
        let claimed = recomputes > 0 ? scratch.claim() : nil
        defer { if let claimed { scratch.release(claimed) } }
        let tiles = ScratchTiles(
            arena: arena.base, region: claimed.map { scratch.region($0) },
            tile: tile, recomputed: items.pointer + first, count: recomputes)
        var lo = block.lo
        while lo < block.hi {
            let hi = Swift.min(lo + tile, block.hi)
            for k in first..<end {
                let item = items[k]
                let j = Int(item.node)
                let io = tiles.redirecting(
                    io(j), node: j, parents: plan.graph.parents(of: j), at: lo)
                if item.kind == .recompute {
                    try plan.tables.kernels[j].forward(
                        tiles.writing(io, slot: Int(item.slot), at: lo), lo..<hi,
                        useBLAS: plan.usesBLAS)
                } else {
                    runVJP(item, io, lo..<hi)
                }
            }
            lo = hi
        }
    }

    /// Runs VJP item `item` (argument `slot` of `node` into `dest`) on
    /// `range`, reading values through `io`.
    @inline(__always)
    private func runVJP(_ item: WorkItem, _ io: KernelIO<Element>, _ range: Range<Int>) {
        let j = Int(item.node)
        let target = VJPTarget(
            g: UnsafePointer(arena.base + plan.tables.gradientOffset[j]),
            dest: arena.base + item.dest, accumulate: item.accumulate)
        plan.tables.kernels[j].vjp(slot: Int(item.slot), io, target, range, useBLAS: plan.usesBLAS)
    }
}
